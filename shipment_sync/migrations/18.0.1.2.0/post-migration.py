"""18.0.1.2.0: subscriptions choose the event types of the catalogue they receive.
The subscriptions made before received milestone changes only: they keep exactly that
(no surprise on upgrade), whatever else the catalogue now publishes."""

from odoo import SUPERUSER_ID, api
from odoo.tools import SQL

from shipsync import catalogue as cat


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    field = env["shipment.sync.subscription"]._fields["event_type_ids"]
    types = env["shipment.sync.event.type"]._by_codes(cat.DEFAULT_TYPES)
    # Plain SQL: no tracking message, no audit line, no write date on each subscription.
    cr.execute(SQL(
        "INSERT INTO %(rel)s (%(sub)s, %(type)s) SELECT s.id, t.id FROM "
        "shipment_sync_subscription s CROSS JOIN unnest(%(types)s) AS t(id) "
        "WHERE NOT EXISTS (SELECT 1 FROM %(rel)s r WHERE r.%(sub)s = s.id)",
        rel=SQL.identifier(field.relation), sub=SQL.identifier(field.column1),
        type=SQL.identifier(field.column2), types=list(types.ids)))
