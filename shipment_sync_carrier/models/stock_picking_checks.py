from odoo import _, api, fields, models
from odoo.exceptions import UserError

from shipsync import customs as sc
from shipsync.adapters import base as ab
from shipsync.address import Address

CONTENTS_SELECTION = [
    ("merchandise", "Merchandise"), ("documents", "Documents"), ("gift", "Gift"),
    ("sample", "Commercial sample"), ("returned_goods", "Returned goods"), ("other", "Other"),
]
ADDRESS_STATES = [
    ("unchecked", "Not checked"), ("valid", "Valid"), ("corrected", "Correction suggested"),
    ("invalid", "Invalid"),
]
#: Address fields a suggestion writes on the partner.
POSTAL_FIELDS = ("street", "street2", "city", "zip")


class ShipmentSyncPickingChecks(models.AbstractModel):
    """Before a booking: customs data of an international shipment and the carrier's
    verdict on the delivery address (stored, with an audited override). Mixed into
    ``stock.picking`` (stock_picking.py)."""

    _name = "shipment.sync.picking.checks"
    _description = "Shipment Sync: checks before booking"

    shipsync_contents_type = fields.Selection(
        CONTENTS_SELECTION, "Contents", default="merchandise",
        help="What an international shipment contains, for its customs declaration.")
    shipsync_address_state = fields.Selection(
        ADDRESS_STATES, "Address check", default="unchecked", copy=False, readonly=True)
    shipsync_address_reasons = fields.Text("Address problems", copy=False, readonly=True)
    shipsync_address_suggestion = fields.Json("Suggested address (values)", copy=False,
                                              readonly=True)
    shipsync_address_suggestion_text = fields.Char(
        "Suggested address", compute="_compute_shipsync_address_suggestion_text")
    shipsync_address_checked_at = fields.Datetime("Address checked on", copy=False,
                                                  readonly=True)
    shipsync_address_override_uid = fields.Many2one(
        "res.users", "Address overridden by", copy=False, readonly=True)
    shipsync_address_override_date = fields.Datetime("Address overridden on", copy=False,
                                                     readonly=True)

    @api.depends("shipsync_address_suggestion")
    def _compute_shipsync_address_suggestion_text(self):
        for picking in self:
            data = picking.shipsync_address_suggestion or {}
            picking.shipsync_address_suggestion_text = ", ".join(
                v for v in (data.get(k) for k in (
                    "street", "street2", "zip", "city", "state_code", "country_code")) if v)

    # ------------------------------------------------------------------
    # customs
    # ------------------------------------------------------------------
    def _shipsync_customs(self, carrier):
        """The customs declaration values of this transfer (contents type, the sale's
        Incoterm, the signer, the transfer as invoice reference)."""
        self.ensure_one()
        return ab.Customs(
            contents_type=self.shipsync_contents_type or "merchandise",
            incoterm=self.sale_id.incoterm.code or "" if self.sale_id else "",
            signer=carrier.shipsync_customs_signer or self.env.user.name or "",
            invoice_number=self.name or "")

    # ------------------------------------------------------------------
    # the checks before any call
    # ------------------------------------------------------------------
    def _shipsync_booking_blocker(self, carrier, req):
        """Why this transfer cannot be booked now (a message naming what to fix), or
        "" when it can: an international line without HS code or origin country, an
        address found invalid that nobody overrode."""
        self.ensure_one()
        gaps = sc.customs_gaps(req)
        if gaps:
            labels = {"hs_code": _("HS code"), "origin_country": _("country of origin")}
            join = _(" and no ")
            products = []
            for name, missing in gaps.items():
                what = join.join(labels[g] for g in missing)
                products.append(_("%(product)s (no %(what)s)", product=name, what=what))
            return _(
                "%(carrier)s cannot ship %(picking)s abroad: customs data missing for "
                "%(products)s. Set them on the product (Inventory tab) and validate again.",
                carrier=carrier.name, picking=self.name, products="; ".join(products))
        if self.shipsync_address_state == "invalid" and not self.shipsync_address_override_uid:
            return _(
                "%(picking)s: the delivery address was found invalid (%(reasons)s). Correct "
                "it and check it again, apply the suggestion or override the check.",
                picking=self.name, reasons=self.shipsync_address_reasons or "-")
        return ""

    def _shipsync_check_before_booking(self, carrier, req=None):
        """UserError naming the problem when this transfer cannot be booked; nothing
        has been sent to the carrier yet."""
        self.ensure_one()
        if req is None:
            req = carrier._shipsync_request(self)
        blocker = self._shipsync_booking_blocker(carrier, req)
        if blocker:
            raise UserError(blocker)
        return req

    # ------------------------------------------------------------------
    # address verification
    # ------------------------------------------------------------------
    def action_shipsync_check_address(self):
        for picking in self:
            carrier = picking.carrier_id
            if carrier.delivery_type != "shipsync" or not picking.partner_id:
                raise UserError(_("%s has no Shipment Sync carrier or no delivery address "
                                  "to check.", picking.name))
            picking._shipsync_store_address_check(
                carrier._shipsync_verify_address(picking.partner_id), carrier)
        return True

    def _shipsync_store_address_check(self, check, carrier):
        self.ensure_one()
        suggestion = check.suggestion.to_dict() if check.suggestion else False
        self.write({
            "shipsync_address_state": check.state,
            "shipsync_address_reasons": "; ".join(check.reasons) or False,
            "shipsync_address_suggestion": suggestion,
            "shipsync_address_checked_at": fields.Datetime.now(),
            "shipsync_address_override_uid": False, "shipsync_address_override_date": False,
        })
        if check.state == "invalid":
            self.message_post(body=_("%(carrier)s found the delivery address invalid: "
                                     "%(reasons)s", carrier=carrier.name,
                                     reasons=self.shipsync_address_reasons or "-"))
            if not (self.shipment_exception_state == "open"
                    and self.shipment_exception_reason == "address_issue"):
                self._shipsync_exception_event("address_issue", _(
                    "Invalid delivery address: %s", self.shipsync_address_reasons or "-"))
            return
        if check.state == "corrected":
            self.message_post(body=_("%(carrier)s suggests a corrected delivery address: "
                                     "%(address)s", carrier=carrier.name,
                                     address=self.shipsync_address_suggestion_text))
        self._shipsync_address_issue_done(_("Address checked: %s", dict(
            ADDRESS_STATES)[check.state]))

    def _shipsync_address_issue_done(self, message):
        """Close this transfer's open address exception (its workbench card)."""
        for picking in self.filtered(lambda p: p.shipment_exception_state == "open"
                                     and p.shipment_exception_reason == "address_issue"):
            picking._shipment_internal_event(resolves_exception=True, message=message)

    def action_shipsync_apply_suggestion(self):
        """Write the carrier's suggested address on the delivery partner."""
        for picking in self:
            data = picking.shipsync_address_suggestion
            if not data:
                raise UserError(_("%s has no suggested address to apply.", picking.name))
            suggestion = Address.from_mapping(data)
            partner = picking.partner_id
            vals = {f: getattr(suggestion, f) or False for f in POSTAL_FIELDS}
            country = self.env["res.country"].search(
                [("code", "=", suggestion.country_code)], limit=1) \
                if suggestion.country_code else partner.country_id
            state = self.env["res.country.state"].search(
                [("code", "=", suggestion.state_code), ("country_id", "=", country.id)],
                limit=1) if suggestion.state_code and country else partner.state_id
            vals.update(country_id=country.id or False, state_id=state.id or False)
            partner.write(vals)
            picking.write({"shipsync_address_state": "valid",
                           "shipsync_address_suggestion": False,
                           "shipsync_address_reasons": False})
            picking.message_post(body=_("Suggested address applied to %(partner)s by "
                                        "%(user)s.", partner=partner.display_name,
                                        user=self.env.user.name))
            picking._shipsync_address_issue_done(_("Suggested address applied"))
        return True

    def action_shipsync_confirm_with_customer(self):
        """A to-do to confirm the address with the customer, and the message to send
        (the person sends it: no email leaves on its own)."""
        self.ensure_one()
        self.activity_schedule(
            "mail.mail_activity_data_todo", user_id=self.env.user.id,
            summary=_("Confirm the delivery address with the customer"),
            note=self.shipsync_address_reasons or "")
        address = self.partner_id._shipsync_address()
        body = _("Hello,<br/>Before we ship %(picking)s, could you confirm your delivery "
                 "address?<br/>%(address)s", picking=self.name, address=", ".join(
                     v for v in (address.street, address.street2, address.zip, address.city,
                                 address.country_code) if v))
        return {
            "type": "ir.actions.act_window", "res_model": "mail.compose.message",
            "view_mode": "form", "target": "new",
            "context": {"default_model": "stock.picking", "default_res_ids": self.ids,
                        "default_partner_ids": self.partner_id.ids,
                        "default_subject": _("Your delivery address for %s", self.name),
                        "default_body": body, "default_composition_mode": "comment"},
        }

    def action_shipsync_override_address(self):
        """Book despite an invalid address: who and when are kept and posted."""
        if not self.env.user.has_group("shipment_sync.group_user"):
            raise UserError(_("Only Shipment Sync users can override an address check."))
        for picking in self.filtered(lambda p: p.shipsync_address_state == "invalid"):
            picking.write({"shipsync_address_override_uid": self.env.user.id,
                           "shipsync_address_override_date": fields.Datetime.now()})
            picking.message_post(body=_(
                "Address check overridden by %(user)s: the transfer may be booked with the "
                "address found invalid (%(reasons)s).", user=self.env.user.name,
                reasons=picking.shipsync_address_reasons or "-"))
            picking._shipsync_address_issue_done(_("Address overridden by %s",
                                                   self.env.user.name))
        return True

    def _shipsync_auto_check_address(self):
        """The automatic check of carriers that ask for it, at confirmation (a failing
        check never blocks the confirmation: it is noted on the transfer)."""
        for picking in self.filtered(
                lambda p: p.picking_type_code == "outgoing" and p.partner_id
                and p.carrier_id.delivery_type == "shipsync"
                and p.carrier_id.shipsync_check_address
                and p.shipsync_address_state == "unchecked"):
            try:
                picking.action_shipsync_check_address()
            except UserError as exc:
                picking.message_post(body=_("Address check not done: %s", exc.args[0]))
