from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from shipsync.wms.units import X12_UNITS


class UomUom(models.Model):
    _inherit = "uom.uom"

    x12_unit_code = fields.Char(
        "X12 unit code", size=2, copy=False,
        help="X12 unit of measure code (element 355: EA, DZ, CA, BX, PK, KG, LB...) this unit "
        "is sent as in warehouse orders and read as in ship advices. A confirmation in a "
        "code that no unit carries is refused.")

    _sql_constraints = [
        ("x12_unit_code_unique", "unique(x12_unit_code)",
         "Two units of measure cannot share an X12 unit code."),
    ]

    @api.constrains("x12_unit_code")
    def _check_x12_unit_code(self):
        for uom in self.filtered("x12_unit_code"):
            if uom.x12_unit_code not in X12_UNITS:
                raise ValidationError(_(
                    "%(code)s is not an X12 unit of measure code (element 355), e.g. EA, DZ, "
                    "CA, BX, PK, KG, LB.", code=uom.x12_unit_code))

    def _wms_unit_code(self):
        """The X12 code of this unit, else its name (which no X12 file accepts)."""
        self.ensure_one()
        return self.x12_unit_code or self.name

    @api.model
    def _wms_known_unit_codes(self):
        return frozenset(self.with_context(active_test=False).search_fetch(
            [("x12_unit_code", "!=", False)], ["x12_unit_code"]).mapped("x12_unit_code"))
