from datetime import timedelta

from odoo import _, api, fields, models

from odoo.addons.shipment_sync.models.cron_retry import retry_conflicts

from shipsync.wms import x12

ACK_STATES = [
    ("waiting", "Awaiting 997"),
    ("accepted", "Accepted"),
    ("accepted_errors", "Accepted with errors"),
    ("rejected", "Rejected"),
    ("overdue", "No 997 in time"),
    ("acknowledged", "997 sent"),
]
_CODE_STATES = {"A": "accepted", "E": "accepted_errors", "P": "rejected", "R": "rejected"}


class ShipmentSyncWmsX12Group(models.Model):
    """One X12 functional group exchanged with a WMS and its 997 functional
    acknowledgment: a group we sent (a 940) expects one from the partner; a group we
    received (945s) gets one from us."""

    _name = "shipment.sync.wms.x12.group"
    _description = "WMS X12 Functional Group"
    _order = "id desc"
    _rec_name = "control_number"

    partner_id = fields.Many2one("shipment.sync.partner", required=True, readonly=True,
                                 index=True, ondelete="cascade")
    company_id = fields.Many2one(related="partner_id.company_id", store=True, index=True)
    direction = fields.Selection([("out", "Sent"), ("in", "Received")], required=True,
                                 readonly=True, index=True)
    functional_id = fields.Char("Functional ID (GS01)", readonly=True)
    control_number = fields.Char("Group control number (GS06)", required=True, readonly=True,
                                 index=True)
    transaction_count = fields.Integer("Transaction sets", readonly=True)
    file_name = fields.Char(readonly=True)
    picking_id = fields.Many2one("stock.picking", readonly=True, index=True, ondelete="set null")
    file_id = fields.Many2one("shipment.sync.wms.file", "Received in", readonly=True,
                              ondelete="set null")
    state = fields.Selection(ACK_STATES, required=True, readonly=True, index=True)
    ack_due_at = fields.Datetime("997 due by", readonly=True, index=True)
    ack_at = fields.Datetime("997 at", readonly=True)
    ack_code = fields.Char("AK9 code", readonly=True)
    ack_detail = fields.Text("997 detail", readonly=True)

    _sql_constraints = [
        ("control_unique", "unique(partner_id, direction, control_number)",
         "A group control number is used once per partner and direction."),
    ]

    # ------------------------------------------------------------------
    # sent groups: expect a 997
    # ------------------------------------------------------------------
    @api.model
    def _expect(self, partner, control_number, file_name, picking=None, count=1):
        hours = partner.wms_x12_ack_hours or 0
        now = fields.Datetime.now()
        return self.create({
            "partner_id": partner.id, "direction": "out", "functional_id": "OW",
            "control_number": str(control_number), "transaction_count": count,
            "file_name": file_name, "picking_id": picking.id if picking else False,
            "state": "waiting", "ack_due_at": now + timedelta(hours=hours) if hours else False,
        })

    @api.model
    def _receive_acknowledgments(self, partner, acks):
        """Match the partner's 997s to the groups we sent; returns the groups updated."""
        updated = self.browse()
        for ack in acks:
            group = self.search([("partner_id", "=", partner.id), ("direction", "=", "out"),
                                 ("control_number", "=", str(int(ack.control or 0)))], limit=1)
            if not group:
                continue
            state = _CODE_STATES.get(ack.code, "rejected")
            group.write({"state": state, "ack_at": fields.Datetime.now(), "ack_code": ack.code,
                         "ack_detail": _describe(ack)})
            if state == "rejected" and group.picking_id:
                group.picking_id._wms_raise_mismatch(_(
                    "The WMS rejected the warehouse order (997 for group %(control)s, AK9 "
                    "%(code)s): %(detail)s", control=group.control_number, code=ack.code,
                    detail=group.ack_detail))
            updated |= group
        return updated

    @api.model
    @retry_conflicts
    def _cron_check_acknowledgments(self):
        """Sent groups whose 997 did not arrive in time: overdue, with an exception."""
        late = self.search([("direction", "=", "out"), ("state", "=", "waiting"),
                            ("ack_due_at", "!=", False),
                            ("ack_due_at", "<", fields.Datetime.now())])
        for group in late:
            group.state = "overdue"
            message = _("No 997 functional acknowledgment from %(wms)s for group %(control)s "
                        "(%(file)s) since %(due)s.", wms=group.partner_id.name,
                        control=group.control_number, file=group.file_name,
                        due=group.ack_due_at)
            if group.picking_id:
                group.picking_id.message_post(body=message)
                group.picking_id._wms_raise_mismatch(message)
        return late

    # ------------------------------------------------------------------
    # received groups: send a 997
    # ------------------------------------------------------------------
    @api.model
    def _acknowledge(self, partner, data, file_record):
        """Write a 997 for every functional group of ``data`` into the partner's
        outbound directory; returns the group records (direction ``in``)."""
        from shipsync.wms import files  # noqa: PLC0415

        acks = x12.acknowledgment_for(data, "945")
        if not acks:
            return self.browse()
        envelope = partner._wms_x12_envelope()
        answer = x12.write_acknowledgments(acks, envelope)
        name = f"997-{envelope.control_number:09d}.997"
        files.write_atomic(partner.wms_outbound_dir, name, answer)
        records = self.browse()
        for ack in acks:
            vals = {"partner_id": partner.id, "direction": "in",
                    "functional_id": ack.functional_id, "control_number": ack.control,
                    "transaction_count": ack.received, "file_name": name,
                    "file_id": file_record.id, "state": "acknowledged",
                    "ack_at": fields.Datetime.now(), "ack_code": ack.code,
                    "ack_detail": _describe(ack)}
            known = self.search([("partner_id", "=", partner.id), ("direction", "=", "in"),
                                 ("control_number", "=", ack.control)], limit=1)
            if known:  # the same group again (a resent file): acknowledged again
                known.write(vals)
                records |= known
            else:
                records |= self.create(vals)
        return records


def _describe(ack):
    lines = [f"AK9 {ack.code} ({ack.label}): {ack.accepted}/{ack.received} accepted"]
    for s in ack.sets:
        line = f"{s.set_id} {s.control}: AK5 {s.code}"
        for note in s.notes:
            where = f"{note.segment_id} #{note.position}"
            if note.element:
                where += f" element {note.element:02d} (error {note.element_code}"
                where += f", value {note.bad_value!r})" if note.bad_value else ")"
            line += f"; {where} code {note.segment_code}"
        lines.append(line)
    return "\n".join(lines)
