from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError
from odoo.tools import SQL

from shipsync import milestones as ms
from shipsync import tracing

SOURCES = [
    ("odoo", "Odoo action"),
    ("inbound", "Inbound event"),
    ("job", "Outbound job"),
    ("attempt", "Outbound attempt"),
    ("note", "Chatter"),
]
#: Row ids are ``record id * 8 + source index``: stable and unique across sources.
SOURCE_INDEX = {"event": 0, "job": 1, "attempt": 2, "note": 3}
#: Where the outcome of each source's rows comes from: the selection field whose
#: labels (and their translations) the timeline shows. An attempt's ``stale``
#: (reported after losing its lease) is not an event's ``stale`` (older than the
#: milestone): the view calls it ``lease_lost``.
OUTCOME_SOURCES = (
    ("shipment.sync.event", "state", {}),
    ("shipment.sync.job", "state", {}),
    ("shipment.sync.job.attempt", "outcome", {"stale": "lease_lost"}),
    ("mail.message", "message_type", {}),
)


class ShipmentSyncTimeline(models.Model):
    """One timeline per shipment across systems: Odoo actions, outbound jobs
    and their attempts, inbound events with their outcome (applied, duplicate,
    stale, rejected...), sorted by time, each row opening its record. A
    read-only SQL view over the ledger, the outbox and the chatter."""

    _name = "shipment.sync.timeline"
    _description = "Shipment Sync Timeline"
    _auto = False
    _order = "at, id"
    _rec_name = "description"

    picking_id = fields.Many2one("stock.picking", "Transfer", readonly=True, index=True)
    company_id = fields.Many2one("res.company", readonly=True)
    at = fields.Datetime("When", readonly=True)
    source = fields.Selection(SOURCES, readonly=True)
    partner_id = fields.Many2one("shipment.sync.partner", readonly=True)
    correlation_id = fields.Char(readonly=True)
    milestone = fields.Selection(ms.MILESTONE_SELECTION, readonly=True)
    exception_reason = fields.Selection(ms.EXCEPTION_REASON_SELECTION, "Exception",
                                        readonly=True)
    description = fields.Char(readonly=True)
    state = fields.Selection("_selection_outcome", "Outcome", readonly=True)
    detail = fields.Char(readonly=True)
    partner_trace_id = fields.Char(
        "Partner's trace id", readonly=True,
        help="Inbound events: the trace id of the W3C traceparent the partner sent.")
    trace_id = fields.Char(
        "Trace id", compute="_compute_trace_id", search="_search_trace_id",
        help="The W3C trace id of the row: the shipment's own trace (derived from its "
        "correlation id, sent on every outbound call and event), or, for an inbound event "
        "that carried one, the partner's.")
    res_model = fields.Char("Record model", readonly=True)
    res_id = fields.Integer("Record", readonly=True)

    @api.depends("partner_trace_id", "correlation_id")
    def _compute_trace_id(self):
        for row in self:
            row.trace_id = row.partner_trace_id or tracing.trace_id_for(row.correlation_id)

    def _search_trace_id(self, operator, value):
        if operator not in ("=", "ilike") or not isinstance(value, str):
            raise UserError(_("Search a trace id by its 32 hexadecimal digits."))
        value = value.strip().lower()
        correlations = tracing.correlation_ids_of(value)
        if not correlations:
            return [("partner_trace_id", "=", value)]
        return ["|", ("partner_trace_id", "=", value),
                "&", ("partner_trace_id", "=", False), ("correlation_id", "in", correlations)]

    @api.model
    def _selection_outcome(self):
        """The outcomes of every source in the words (and the language) of
        the field they come from: no raw state code in the column."""
        selection, seen = [], set()
        for model, name, renamed in OUTCOME_SOURCES:
            field = self.env[model]._fields[name]
            for value, label in field._description_selection(self.env):
                value = renamed.get(value, value)
                if value not in seen:
                    seen.add(value)
                    selection.append((value, label))
        return selection

    def init(self):
        tools.drop_view_if_exists(self.env.cr, self._table)
        self.env.cr.execute(SQL("""
            CREATE OR REPLACE VIEW %s AS (
                SELECT e.id * 8 + 0 AS id, e.picking_id, p.company_id,
                       COALESCE(e.occurred_at, e.received_at) AS at,
                       CASE WHEN e.direction = 'internal' THEN 'odoo' ELSE 'inbound' END
                           AS source,
                       e.partner_id, COALESCE(e.correlation_id, p.shipment_correlation_id)
                           AS correlation_id,
                       e.milestone::varchar AS milestone,
                       e.exception_reason::varchar AS exception_reason,
                       -- the milestone and the exception are their own columns
                       -- (told in words): the raw code only when none was mapped
                       concat_ws(' ', CASE WHEN e.milestone IS NULL AND e.exception_reason IS NULL
                                      THEN COALESCE(e.raw_code, e.error_code) END,
                                 e.message) AS description,
                       e.state::varchar AS state,
                       COALESCE(e.outcome_detail, e.error_detail) AS detail,
                       e.trace_id AS partner_trace_id,
                       'shipment.sync.event'::varchar AS res_model, e.id AS res_id
                  FROM shipment_sync_event e
                  JOIN stock_picking p ON p.id = e.picking_id
                UNION ALL
                -- Duplicate deliveries are stored unresolved: they belong to the
                -- picking of the event they repeat.
                SELECT e.id * 8 + 0, o.picking_id, p.company_id,
                       COALESCE(e.occurred_at, e.received_at), 'inbound', e.partner_id,
                       COALESCE(e.correlation_id, p.shipment_correlation_id),
                       e.milestone::varchar, e.exception_reason::varchar,
                       concat_ws(' ', CASE WHEN e.milestone IS NULL AND e.exception_reason IS NULL
                                      THEN e.raw_code END, e.message),
                       e.state::varchar, 'duplicate delivery', e.trace_id,
                       'shipment.sync.event', e.id
                  FROM shipment_sync_event e
                  JOIN shipment_sync_event o ON o.partner_id = e.partner_id
                       AND o.external_id = e.external_id AND o.state <> 'duplicate'
                  JOIN stock_picking p ON p.id = o.picking_id
                 WHERE e.state = 'duplicate' AND e.picking_id IS NULL
                UNION ALL
                SELECT j.id * 8 + 1, j.picking_id, p.company_id, j.create_date, 'job',
                       j.partner_id, p.shipment_correlation_id, NULL, NULL,
                       concat('enqueued ', j.operation), j.state::varchar,
                       j.last_error, NULL, 'shipment.sync.job', j.id
                  FROM shipment_sync_job j
                  JOIN stock_picking p ON p.id = j.picking_id
                UNION ALL
                SELECT a.id * 8 + 2, j.picking_id, p.company_id, a.started_at, 'attempt',
                       a.partner_id, p.shipment_correlation_id, NULL, NULL,
                       concat(j.operation, ' attempt #', a.number,
                              CASE WHEN a.http_status > 0 THEN concat(' HTTP ', a.http_status)
                              END, ' (', a.duration_ms, ' ms)'),
                       CASE WHEN a.outcome = 'stale' THEN 'lease_lost'
                            ELSE a.outcome::varchar END,
                       a.error, NULL, 'shipment.sync.job', j.id
                  FROM shipment_sync_job_attempt a
                  JOIN shipment_sync_job j ON j.id = a.job_id
                  JOIN stock_picking p ON p.id = j.picking_id
                UNION ALL
                SELECT m.id * 8 + 3, m.res_id, p.company_id, m.date, 'note', NULL,
                       p.shipment_correlation_id, NULL, NULL,
                       left(regexp_replace(COALESCE(m.body, ''), '<[^>]*>', '', 'g'), 250),
                       m.message_type::varchar, NULL, NULL, 'stock.picking', p.id
                  FROM mail_message m
                  JOIN stock_picking p ON p.id = m.res_id
                 WHERE m.model = 'stock.picking' AND m.message_type IN ('comment', 'notification')
                   AND COALESCE(m.body, '') <> ''
            )""", SQL.identifier(self._table)))

    def action_open_record(self):
        self.ensure_one()
        if not self.res_model or not self.res_id:
            raise UserError(_("This row has no record to open."))
        return {"type": "ir.actions.act_window", "res_model": self.res_model,
                "res_id": self.res_id, "view_mode": "form", "views": [(False, "form")],
                "target": "current"}
