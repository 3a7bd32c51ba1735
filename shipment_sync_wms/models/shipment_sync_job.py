import json

from odoo import _, api, models

from shipsync import outbox
from shipsync.transport import HttpRequest
from shipsync.wms import files
from shipsync.wms.messages import ReleaseOrder

OPERATIONS = ("release_order", "update_order", "cancel_order")


def _send_release(http, request):
    """One release message over HTTP. A refusal (409, e.g. already shipped) is an
    answer, not a failure: the job is done and its ``done`` hook reads it."""
    result = http(request)
    if result.status == 409:
        try:
            answer = json.loads(result.body or b"{}")
        except ValueError:
            answer = {}
        return outbox.Outcome(status=409, body=result.body, elapsed_ms=result.elapsed_ms,
                              data={"status": "refused",
                                    "reason": answer.get("reason") or "refused"})
    return result


def _write_release_file(partner_dir, fmt, payload, envelope=None):
    order = ReleaseOrder.from_dict(payload)
    name, data = files.write_release(fmt, order,
                                     **({"envelope": envelope} if envelope else {}))
    path = files.write_atomic(partner_dir, name, data)
    result = {"status": "written", "file": str(path)}
    if envelope:
        result["x12_control_number"] = envelope.control_number
    return outbox.Outcome(data=result)


class ShipmentSyncJob(models.Model):
    _inherit = "shipment.sync.job"

    @api.model
    def _outbox_handlers(self):
        handler = outbox.Handler(prepare="_wms_prepare_release", done="_wms_done_release")
        return outbox.register(super()._outbox_handlers(), dict.fromkeys(OPERATIONS, handler))

    @api.model
    def _wms_prepare_release(self, job, ctx):
        partner = job.partner_id
        if partner.wms_transport == "files":
            # Plain values: the call runs in a worker thread, away from the cursor.
            folder, fmt = partner.wms_outbound_dir, partner.wms_file_format or "csv"
            # X12: the control number is taken (and committed) with the preparation.
            envelope = partner._wms_x12_envelope() if fmt == "x12" else None
            return lambda: _write_release_file(folder, fmt, ctx.payload, envelope)
        request = outbox.http_call_request(
            {"url": "/releases", "json": ctx.payload}, idempotency_key=ctx.idempotency_key,
            policy=ctx.policy, base_url=ctx.base_url, headers=ctx.headers)
        if not isinstance(request, HttpRequest):  # pragma: no cover - defensive
            raise ValueError("bad release request")
        http = ctx.http
        return lambda: _send_release(http, request)

    @api.model
    def _wms_done_release(self, job, outcome):
        picking = job.picking_id
        if not picking:
            return
        result = outcome.result() or {}
        status = result.get("status") if isinstance(result, dict) else None
        if status == "written" and result.get("x12_control_number"):
            self.env["shipment.sync.wms.x12.group"].sudo()._expect(
                job.partner_id, result["x12_control_number"],
                result.get("file", "").rsplit("/", 1)[-1], picking=picking)
        if job.operation == "cancel_order":
            if status == "refused":
                picking._wms_cancel_refused(result.get("reason") or _("refused"))
            elif status == "cancelled":
                picking._wms_cancel_confirmed()
            return
        if status == "refused":
            picking.message_post(body=_("The WMS refused update revision %(rev)s: %(reason)s",
                                        rev=job._outbox_payload().get("revision"),
                                        reason=result.get("reason")))
            picking._wms_raise_mismatch(
                _("Update refused by the WMS: %s", result.get("reason")))
            return
        if job.operation == "release_order" and status in ("accepted", "updated") and \
                picking.wms_state == "pending":
            picking.wms_state = "released"
            picking._shipment_internal_event(
                milestone="released",
                message=_("Released to %s (acknowledged)", job.partner_id.name))
