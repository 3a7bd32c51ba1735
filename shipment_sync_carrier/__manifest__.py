{
    "name": "Shipment Sync: Carriers",
    "summary": "Carriers and aggregators through Odoo's delivery framework: labels, tracking, "
    "returns, freight reconciliation",
    "version": "18.0.1.0.0",
    "category": "Inventory/Delivery",
    "author": "Shipment Sync",
    "website": "https://github.com/shipment-sync",
    "license": "LGPL-3",
    "depends": ["shipment_sync", "stock_delivery"],
    "external_dependencies": {"python": ["shipsync", "requests", "zeep", "jsonschema"]},
    "data": [],
    "installable": True,
}
