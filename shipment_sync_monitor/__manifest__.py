{
    "name": "Shipment Sync: Monitor",
    "summary": "Exception workbench, KPI dashboard, SLA rules, alerts, shipment timeline "
    "and a Prometheus metrics endpoint for shipment sync",
    "version": "18.0.1.0.0",
    "category": "Inventory/Inventory",
    "author": "Shipment Sync",
    "website": "https://github.com/shipment-sync",
    "license": "LGPL-3",
    "depends": ["shipment_sync"],
    "external_dependencies": {"python": ["shipsync", "requests", "zeep", "jsonschema"]},
    "data": [
        "security/shipment_sync_monitor_security.xml",
        "security/ir.model.access.csv",
        "data/ir_cron_data.xml",
        "data/shipment_sync_alert_rule_data.xml",
        "views/shipment_sync_exception_views.xml",
        "views/shipment_sync_alert_rule_views.xml",
        "views/shipment_sync_timeline_views.xml",
        "views/shipment_sync_dashboard_views.xml",
        "views/menus.xml",
    ],
    "demo": ["demo/shipment_sync_monitor_demo.xml"],
    "assets": {
        "web.assets_backend": ["shipment_sync_monitor/static/src/dashboard/**/*"],
        "web.assets_tests": ["shipment_sync_monitor/static/src/tours/**/*"],
    },
    "installable": True,
}
