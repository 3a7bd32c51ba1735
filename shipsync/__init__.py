"""Shipment Sync engine.

Pure Python: protocol, mapping, math and policy for the Shipment Sync Odoo
addons. This package never imports ``odoo`` (a test enforces it); the addons
turn records into plain values, call into here and store the results.
"""

__version__ = "18.0.1.0.0"
