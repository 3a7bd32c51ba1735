import json

from odoo import _, api, models

from shipsync import outbox
from shipsync.partners.tms import outbound as tms


def _send_plan(http, request):
    """One plan release. A plan the TMS cannot plan (422 ``unplannable``) is an answer,
    not a failure: the job is done and its ``done`` hook reads it."""
    result = http(request)
    if result.status == 422:
        try:
            error = (json.loads(result.body or b"{}") or {}).get("error") or {}
        except (ValueError, AttributeError):
            error = {}
        if error.get("code") == "unplannable":
            return outbox.Outcome(status=422, body=result.body, elapsed_ms=result.elapsed_ms,
                                  data={"status": "rejected",
                                        "reason": error.get("message") or "unplannable"})
    return result


class ShipmentSyncJob(models.Model):
    _inherit = "shipment.sync.job"

    @api.model
    def _outbox_handlers(self):
        handler = outbox.Handler(prepare="_tms_prepare_release", done="_tms_done_release",
                                 savepoint=False)
        return outbox.register(super()._outbox_handlers(), dict.fromkeys(tms.OPERATIONS, handler))

    @api.model
    def _tms_prepare_release(self, job, ctx):
        request = tms.build_release_request(
            ctx.payload, base_url=ctx.base_url, headers=dict(ctx.headers),
            connect_timeout=ctx.policy.timeouts[0], read_timeout=ctx.policy.timeouts[1])
        http = ctx.http
        return lambda: _send_plan(http, request)

    @api.model
    def _tms_done_release(self, job, outcome):
        picking = job.picking_id.sudo()
        if not picking:
            return
        result = outcome.result() or {}
        if not isinstance(result, dict):
            return
        if result.get("status") == "cancelled":
            picking.tms_state = "cancelled"
            return
        if result.get("status") == "rejected":
            picking.tms_state = "rejected"
            picking._shipsync_exception_event("booking_rejected", _(
                "%(tms)s cannot plan it: %(reason)s", tms=job.partner_id.name,
                reason=result.get("reason"))[:250])
            return
        if result.get("planning_ref") and not picking.tms_planning_ref:
            picking.tms_planning_ref = result["planning_ref"]
