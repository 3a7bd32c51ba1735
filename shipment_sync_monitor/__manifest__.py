{
    "name": "Shipment Sync: Monitor",
    "summary": "Exception workbench, KPI dashboard, SLA rules and alerts for shipment sync",
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
