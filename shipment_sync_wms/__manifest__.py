{
    "name": "Shipment Sync: Warehouses / 3PL",
    "summary": "Release delivery orders to a WMS / 3PL and apply its pick, pack and ship "
    "confirmations",
    "version": "18.0.1.0.0",
    "category": "Inventory/Inventory",
    "author": "Shipment Sync",
    "website": "https://github.com/shipment-sync",
    "license": "LGPL-3",
    "depends": ["shipment_sync"],
    "external_dependencies": {"python": ["shipsync", "requests", "zeep", "jsonschema"]},
    "data": [],
    "installable": True,
}
