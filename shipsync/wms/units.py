"""Units of measure on the wire: X12 data element 355 (Unit or Basis for Measurement Code).

Releases carry the ordered unit of each line as its X12 code (``W01-02``), and
X12 ship advices carry the shipped unit (``W12-05``). The Odoo addon maps each
code to one ``uom.uom`` (field *X12 unit code*); a code that no Odoo unit
carries refuses the confirmation, a code is never replaced by a default.

:data:`X12_UNITS` lists the common codes of element 355 (ASC X12 004010 code
list) a warehouse uses for goods; :data:`ODOO_UNIT_CODES` the codes of the units
Odoo's ``uom`` module creates (by XML id).
"""

from __future__ import annotations

#: X12 element 355 codes (004010): code -> meaning.
X12_UNITS = {
    "EA": "Each",
    "UN": "Unit",
    "PC": "Piece",
    "PR": "Pair",
    "DZ": "Dozen",
    "CA": "Case",
    "CT": "Carton",
    "BX": "Box",
    "PK": "Package",
    "BG": "Bag",
    "BO": "Bottle",
    "RL": "Roll",
    "PL": "Pallet/Unit Load",
    "KT": "Kit",
    "ST": "Set",
    "KG": "Kilogram",
    "GR": "Gram",
    "LB": "Pound",
    "OZ": "Ounce - Av",
    "TN": "Net Ton (2,000 LB)",
    "MT": "Metric Ton",
    "LT": "Liter",
    "ML": "Milliliter",
    "GA": "Gallon",
    "QT": "Quart",
    "FO": "Fluid Ounce",
    "MR": "Meter",
    "CM": "Centimeter",
    "MM": "Millimeter",
    "FT": "Foot",
    "IN": "Inch",
    "YD": "Yard",
    "KM": "Kilometer",
    "MI": "Mile",
    "SM": "Square Meter",
    "SF": "Square Foot",
    "CR": "Cubic Meter",
    "CF": "Cubic Feet",
    "HR": "Hour",
    "DA": "Days",
}

#: Odoo ``uom`` XML id -> X12 code (the units Odoo 18 installs).
ODOO_UNIT_CODES = {
    "uom.product_uom_unit": "EA",
    "uom.product_uom_dozen": "DZ",
    "uom.product_uom_kgm": "KG",
    "uom.product_uom_gram": "GR",
    "uom.product_uom_lb": "LB",
    "uom.product_uom_oz": "OZ",
    "uom.product_uom_ton": "MT",
    "uom.product_uom_floz": "FO",
    "uom.product_uom_qt": "QT",
    "uom.product_uom_litre": "LT",
    "uom.product_uom_gal": "GA",
    "uom.product_uom_meter": "MR",
    "uom.product_uom_cm": "CM",
    "uom.product_uom_millimeter": "MM",
    "uom.product_uom_km": "KM",
    "uom.product_uom_foot": "FT",
    "uom.product_uom_inch": "IN",
    "uom.product_uom_yard": "YD",
    "uom.product_uom_mile": "MI",
    "uom.product_uom_cubic_meter": "CR",
    "uom.product_uom_cubic_foot": "CF",
    "uom.product_uom_hour": "HR",
    "uom.product_uom_day": "DA",
}


def is_unit_code(code: str) -> bool:
    """A known X12 355 code (2 upper-case characters)."""
    return code in X12_UNITS
