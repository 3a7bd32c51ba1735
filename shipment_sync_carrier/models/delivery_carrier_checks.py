from odoo import _, fields, models
from odoo.exceptions import UserError

from shipsync.adapters import base as ab


class ShipmentSyncCarrierChecks(models.AbstractModel):
    """Checks before a booking: the delivery address with the partner's verification
    service, and the customs signer of international shipments. Mixed into
    ``delivery.carrier`` (delivery_carrier.py)."""

    _name = "shipment.sync.carrier.checks"
    _description = "Shipment Sync: carrier checks before booking"

    shipsync_check_address = fields.Boolean(
        "Check addresses at confirmation",
        help="When a delivery order of this carrier is confirmed, its delivery address is "
        "verified with the carrier (EasyPost: address verification). An invalid address "
        "opens an 'address issue' exception and blocks the booking until it is corrected "
        "or a person overrides it. Off: addresses are checked only with the button.")
    shipsync_customs_signer = fields.Char(
        "Customs signer", help="Who certifies the customs declarations of international "
        "shipments (EasyPost customs_signer). Empty: the user who books.")

    def _shipsync_verify_address(self, partner):
        """The carrier's verdict on ``partner``'s address (``AddressCheck``); a clear
        UserError when the carrier cannot verify addresses or does not answer."""
        self.ensure_one()
        adapter = self._shipsync_adapter()
        try:
            return adapter.verify_address(partner._shipsync_address(name="name", company=True))
        except NotImplementedError:
            raise UserError(_("%(carrier)s: the %(adapter)s adapter cannot verify addresses.",
                              carrier=self.name, adapter=self.shipsync_adapter)) from None
        except ab.AdapterError as exc:
            raise UserError(self._shipsync_error_message(None, exc)) from None
