"""18.0.1.3.0: fewer ledger indexes to write per event. Odoo keeps an index a
field no longer asks for and never rebuilds one under the same name, so the
indexes that go or change are dropped here: ``picking_id`` (served by
``shipment_sync_event_picking_occurred_idx``) and ``milestone`` (a dozen values)
go; the references an event may lack are indexed again, where present only
(``btree_not_null``), by the module update that follows."""

from odoo.tools import SQL

DROPPED = ("picking_id", "milestone")
PARTIAL = ("raw_code", "tracking_number", "tracking_key", "picking_ref", "correlation_id")


def migrate(cr, version):
    if not version:
        return
    for column in DROPPED + PARTIAL:
        cr.execute(SQL("DROP INDEX IF EXISTS %s",
                       SQL.identifier(f"shipment_sync_event__{column}_index")))
