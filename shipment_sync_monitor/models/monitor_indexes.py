"""Indexes the dashboard tiles, the metrics endpoint and the alert rules need
on the core's tables (created by this addon, IF NOT EXISTS: harmless to the
core). Each one serves one query of ``shipment.sync.dashboard``; see
``make bench-dashboard`` for their effect at 1,000,000 events."""

from odoo.tools import SQL

INDEXES = (
    # Webhook delay, events per hour, metrics histogram (index-only scans).
    ("shipment_sync_event_monitor_received_idx",
     "shipment_sync_event (received_at) INCLUDE (applied_at, partner_id, company_id, "
     "picking_id, state) WHERE direction = 'inbound'"),
    # Webhook delay (events applied in the period) and its hourly rollup.
    ("shipment_sync_event_monitor_applied_idx",
     "shipment_sync_event (applied_at) INCLUDE (received_at, partner_id, company_id, "
     "picking_id) WHERE direction = 'inbound' AND applied_at IS NOT NULL"),
    # Shipment creation success: the labels created in the period.
    ("shipment_sync_event_monitor_label_idx",
     "shipment_sync_event (received_at) INCLUDE (company_id, picking_id) "
     "WHERE direction = 'internal' AND milestone = 'label_created'"),
    # Unmapped codes waiting for a mapping.
    ("shipment_sync_event_monitor_unmapped_idx",
     "shipment_sync_event (partner_id, raw_code, raw_subcode, company_id) "
     "WHERE state = 'unmapped'"),
    # Timeline: the duplicate deliveries of a picking's events.
    ("shipment_sync_event_monitor_duplicate_idx",
     "shipment_sync_event (partner_id, external_id) WHERE state = 'duplicate'"),
    # Creation success rate (by creation date) and acknowledgement time (by done date).
    ("shipment_sync_job_monitor_created_idx",
     "shipment_sync_job (operation, create_date) INCLUDE (state, partner_id, company_id, "
     "picking_id)"),
    # Creation success: the bookings that died in the period.
    ("shipment_sync_job_monitor_dead_idx",
     "shipment_sync_job (operation, create_date) INCLUDE (partner_id, company_id, picking_id) "
     "WHERE state = 'dead'"),
    ("shipment_sync_job_monitor_done_idx",
     "shipment_sync_job (operation, done_at) INCLUDE (create_date, partner_id, company_id, "
     "picking_id) WHERE state = 'done'"),
    # Queue depth and dead letters per partner.
    ("shipment_sync_job_monitor_live_idx",
     "shipment_sync_job (state, partner_id) INCLUDE (company_id, picking_id) "
     "WHERE state IN ('pending', 'running', 'dead')"),
    # Failure rate over a window, all partners.
    ("shipment_sync_job_attempt_monitor_started_idx",
     "shipment_sync_job_attempt (started_at) INCLUDE (partner_id, company_id, outcome)"),
    # Milestone age rules, tracking without scan, lane times.
    ("stock_picking_shipment_milestone_date_idx",
     "stock_picking (shipment_milestone, shipment_milestone_date)"),
    # Tracking but no carrier scan (index-only count).
    ("stock_picking_no_scan_idx",
     "stock_picking (shipment_milestone_date) INCLUDE (company_id, picking_type_id, "
     "shipment_milestone_partner_id) WHERE shipment_milestone IN ('label_created', "
     "'handed_over') AND carrier_tracking_ref IS NOT NULL AND carrier_tracking_ref <> '' "
     "AND state <> 'cancel'"),
    # Usual transit time per lane (delivered in the last 90 days).
    ("stock_picking_delivered_lane_idx",
     "stock_picking (shipment_milestone_date) INCLUDE (carrier_id, date_done, company_id) "
     "WHERE shipment_milestone = 'delivered'"),
    # Shipped without tracking.
    ("stock_picking_shipped_no_tracking_idx",
     "stock_picking (date_done) WHERE state = 'done' AND carrier_id IS NOT NULL "
     "AND (carrier_tracking_ref IS NULL OR carrier_tracking_ref = '')"),
    # In transit beyond the lane's usual time.
    ("stock_picking_in_transit_idx",
     "stock_picking (date_done) INCLUDE (carrier_id, company_id, picking_type_id, "
     "shipment_milestone_partner_id) WHERE shipment_milestone IN ('picked_up', 'in_transit')"),
    # Delivered in the carrier but not closed in Odoo.
    ("stock_picking_delivered_open_idx",
     "stock_picking (company_id) WHERE shipment_milestone = 'delivered' "
     "AND state NOT IN ('done', 'cancel')"),
)


#: Indexes ``stock.picking`` gets from this addon's ETA model (``init``).
ETA_UNFOLDED_INDEX = "stock_picking_eta_unfolded_idx"
ETA_LATE_RISK_INDEX = "stock_picking_eta_late_risk_idx"
ETA_INDEXES = (ETA_UNFOLDED_INDEX, ETA_LATE_RISK_INDEX)


def drop_indexes(cr):
    """Uninstall: the indexes this addon put on tables it does not own (the
    core's and stock's); its own tables go with the addon."""
    for name in (*(name for name, _definition in INDEXES), *ETA_INDEXES):
        cr.execute(SQL("DROP INDEX IF EXISTS %s", SQL.identifier(name)))


def create_indexes(cr):
    for name, definition in INDEXES:
        cr.execute(SQL("CREATE INDEX IF NOT EXISTS %s ON " + definition,  # pylint: disable=sql-injection
                       SQL.identifier(name)))
