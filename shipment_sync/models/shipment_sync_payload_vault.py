"""The unmasked-body vault of the event ledger (the Reveal action and the
retention purge of ``shipment.sync.event`` are its only users).

Design of the unmasked copy: the ledger's ``raw_body`` holds the *masked*
body (readable by managers in the form). The unmasked body goes to
``shipment.sync.payload.vault``, a table no group may read or write through
the ORM (all-zero ACL): the only way to it is the manager-only Reveal action,
which reads it with sudo and writes an audit line first. It is not encrypted:
the key would have to live in the same database (or in the server config,
which breaks duplication / neutralization), so encryption would add no
protection against whoever can read the database; the ACL removes every
UI/RPC path and the retention purge deletes the vault row with the body.
"""

from odoo import api, fields, models
from odoo.tools import SQL


class ShipmentSyncPayloadVault(models.Model):
    """Unmasked inbound bodies, within retention. No ORM access for anyone
    but the superuser; see the module docstring."""

    _name = "shipment.sync.payload.vault"
    _description = "Shipment Sync unmasked payloads (restricted)"
    _log_access = False

    event_id = fields.Many2one("shipment.sync.event", required=True, index=True,
                               ondelete="cascade")
    company_id = fields.Many2one("res.company", index=True)
    stored_at = fields.Datetime(required=True, index=True)
    body = fields.Text()

    @api.model
    def _store_event_body(self, event_id, body, company_id):
        self.env.cr.execute(self._store_event_body_sql(event_id, body, company_id))

    @api.model
    def _store_event_body_sql(self, event_id, body, company_id):
        """The INSERT keeping ``body`` for ``event_id`` (the ledger sends it in the
        round trip that releases its INSERT's savepoint)."""
        return SQL(
            "INSERT INTO shipment_sync_payload_vault (event_id, company_id, stored_at, body) "
            "VALUES (%s, %s, %s, %s)", event_id, company_id, fields.Datetime.now(), body)
