{
    "name": "Shipment Sync: Sales Channels",
    "summary": "Confirm shipments (carrier, tracking number, lines shipped) to the sales "
    "channel an order came from, through the outbox (Amazon Selling Partner API)",
    "version": "18.0.1.0.0",
    "category": "Inventory/Inventory",
    "author": "Shipment Sync",
    "website": "https://github.com/shipment-sync",
    "license": "LGPL-3",
    "development_status": "Beta",
    "maintainers": ["shipment-sync"],
    "depends": ["shipment_sync", "sale_stock", "stock_delivery"],
    "external_dependencies": {"python": ["shipsync>=18.0.1,<18.1", "jsonschema"]},
    "data": [
        "views/shipment_sync_partner_views.xml",
        "views/sale_order_views.xml",
        "views/stock_picking_views.xml",
        "views/delivery_carrier_views.xml",
    ],
    "demo": ["demo/shipment_sync_channel_demo.xml"],
    "uninstall_hook": "uninstall_hook",
    "installable": True,
}
