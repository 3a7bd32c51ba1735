from odoo import models

from shipsync.address import Address

#: How a partner's ``name`` is taken (see ``_shipsync_address``).
ADDRESS_NAMES = ("name", "name_or_display_name", "display_name")


class ResPartner(models.Model):
    _inherit = "res.partner"

    def _shipsync_address(self, name="name", company=True):
        """This partner as a ``shipsync.address.Address``: the one conversion of a
        ``res.partner`` for every outbound message (carrier bookings, TMS shipments,
        WMS releases, address checks). ``name``: ``"name"`` (the partner's own name,
        what the carriers print), ``"name_or_display_name"`` (its display name when it
        has none, the TMS) or ``"display_name"`` ("Company, Contact", the WMS release);
        ``company``: send the commercial company's name. No partner: an empty address."""
        if not self:
            return Address()
        self.ensure_one()
        if name not in ADDRESS_NAMES:
            raise ValueError(f"name must be one of {ADDRESS_NAMES}, not {name!r}")
        label = {
            "name": self.name, "display_name": self.display_name,
            "name_or_display_name": self.name or self.display_name,
        }[name]
        return Address(
            name=label or "", company=(self.commercial_company_name or "") if company else "",
            street=self.street or "", street2=self.street2 or "", city=self.city or "",
            zip=self.zip or "", state_code=self.state_id.code or "",
            country_code=self.country_id.code or "", phone=self.phone or "",
            email=self.email or "")
