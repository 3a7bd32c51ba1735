from odoo import _, api, fields, models, tools
from odoo.exceptions import ValidationError

from shipsync import mapping, partners
from shipsync import milestones as ms

# The partners' vocabularies (registry) and the standards' (shipsync.mapping).
VOCABULARY_SELECTION = [*partners.vocabulary_selection(), ("epcis", "GS1 EPCIS")]


class ShipmentSyncStatusMap(models.Model):
    """One row of a partner vocabulary: partner code (+ sub-code) -> canonical
    milestone + exception reason. Rows without a partner are the defaults of
    their vocabulary (seeded from shipsync); a partner's own rows override
    them."""

    _name = "shipment.sync.status.map"
    _description = "Shipment Status Mapping"
    _inherit = ["mail.thread", "shipment.sync.cached.mixin"]
    _order = "vocabulary, partner_id, code, subcode, id"

    vocabulary = fields.Selection(VOCABULARY_SELECTION, required=True, default="canonical",
                                  tracking=True, index=True)
    partner_id = fields.Many2one("shipment.sync.partner", ondelete="cascade", index=True,
                                 tracking=True, help="Empty: default row of the vocabulary.")
    company_id = fields.Many2one(related="partner_id.company_id", store=True, index=True)
    code = fields.Char(required=True, tracking=True,
                       help="The partner's status code; * matches any status with this sub-code.")
    subcode = fields.Char("Sub-code", tracking=True)
    milestone = fields.Selection(ms.MILESTONE_SELECTION, tracking=True,
                                 help="Empty: a known code that changes no milestone.")
    exception_reason = fields.Selection(ms.EXCEPTION_REASON_SELECTION, tracking=True)
    note = fields.Char(tracking=True)
    active = fields.Boolean(default=True, tracking=True)

    _sql_constraints = [
        ("code_uniq", "UNIQUE NULLS NOT DISTINCT(vocabulary, partner_id, code, subcode)",
         "This code and sub-code are already mapped for this partner and vocabulary."),
    ]

    @api.constrains("code")
    def _check_code(self):
        for row in self:
            if not (row.code or "").strip():
                raise ValidationError(_("The partner code of a mapping cannot be empty."))

    @api.model
    def _seed_from_shipsync(self):
        """Create the default rows of every vocabulary that do not exist yet.
        Rows edited in the UI are kept as they are."""
        existing = {
            (r.vocabulary, r.code, r.subcode or None)
            for r in self.with_context(active_test=False).search([("partner_id", "=", False)])
        }
        known = {code for code, _label in VOCABULARY_SELECTION}
        vals_list = [
            {"vocabulary": e.vocabulary, "code": e.code, "subcode": e.subcode or False,
             "milestone": e.milestone or False, "exception_reason": e.exception_reason or False,
             "note": e.note or False}
            for e in mapping.SEED_ENTRIES
            if e.vocabulary in known and (e.vocabulary, e.code, e.subcode or None) not in existing
        ]
        self.with_context(mail_create_nolog=True, tracking_disable=True).create(vals_list)
        return True

    @api.model
    def _mapper_for(self, partner):
        """A shipsync StatusMapper for a partner: the defaults of its
        vocabulary, then its own rows (which win)."""
        vocabulary = partner._shipsync_normalizer().vocabulary or "canonical"
        return self._cached_mapper(vocabulary, partner.id)

    @tools.ormcache("vocabulary", "partner_id")
    def _cached_mapper(self, vocabulary, partner_id):
        """StatusMapper objects are immutable: one per partner and process,
        dropped whenever a mapping row changes."""
        return mapping.StatusMapper(self._map_entries(vocabulary, partner_id))

    def _map_entries(self, vocabulary, partner_id):
        rows = self.sudo().search_read(
            ["|", ("partner_id", "=", partner_id),
             "&", ("partner_id", "=", False), ("vocabulary", "=", vocabulary)],
            ["partner_id", "code", "subcode", "milestone", "exception_reason"],
            order="id",
        )
        # Defaults first, the partner's own rows last so they override.
        rows.sort(key=lambda r: bool(r["partner_id"]))
        return tuple(
            mapping.MapEntry(vocabulary=vocabulary, code=r["code"], subcode=r["subcode"] or None,
                             milestone=r["milestone"] or None,
                             exception_reason=r["exception_reason"] or None)
            for r in rows
        )
