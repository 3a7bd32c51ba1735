{
    "name": "Shipment Sync: Transport Management (TMS)",
    "summary": "Release deliveries to a TMS for planning; apply its planning references, "
    "carrier assignments, milestones and final freight charges, reconciled before invoicing",
    "version": "18.0.1.0.0",
    "category": "Inventory/Inventory",
    "author": "Shipment Sync",
    "website": "https://github.com/shipment-sync",
    "license": "LGPL-3",
    "development_status": "Beta",
    "maintainers": ["shipment-sync"],
    "depends": ["shipment_sync_carrier", "sale_stock"],
    "external_dependencies": {"python": ["shipsync>=18.0.1,<18.1"]},
    "data": [
        "views/stock_picking_views.xml",
        "views/stock_picking_type_views.xml",
        "views/delivery_carrier_views.xml",
    ],
    "demo": ["demo/shipment_sync_tms_demo.xml"],
    "uninstall_hook": "uninstall_hook",
    "installable": True,
}
