"""18.0.1.1.0: customer notifications, the public tracking page and the portal
pages moved to the new module ``shipment_sync_portal`` (same models, tables,
columns and records). Before this upgrade could delete what the core no longer
declares, the moved records' external ids are handed over to the new module,
which is marked to be installed in the same run (Odoo's loader installs the
modules marked ``to install`` after the upgraded ones)."""

NEW = "shipment_sync_portal"

#: External ids of records the new module's data files declare.
NAMES = (
    "ir_cron_shipment_sync_notification", "mail_layout_customer",
    "portal_my_home_menu_shipment", "portal_my_home_shipment", "portal_my_shipment",
    "portal_my_shipments", "res_config_settings_view_form", "res_partner_view_form",
    "sale_order_portal_content_shipment_status", "sale_order_portal_content_shipment_tracking",
    "shipment_tracking_card", "shipment_tracking_page", "shipment_tracking_timeline",
    "stock_picking_view_form_notification", "stock_picking_view_form_tracking_page",
    "demo_portal_delivery",
    # fields the new module adds to other models
    "field_stock_picking__shipment_tracking_token",
    "field_stock_picking__shipment_notification_count",
    "field_res_company__shipment_sync_tracking_link_days",
    "field_res_config_settings__shipment_sync_tracking_link_days",
    "field_res_partner__shipment_sync_email_opt_out",
    "field_res_users__shipment_sync_email_opt_out",
)
#: Name patterns (SQL LIKE) of the moved models' records, their fields,
#: selections, constraints and access rights, the email templates and the
#: per-kind notification switches.
PATTERNS = (
    r"model\_shipment\_sync\_notification%",
    r"field\_shipment\_sync\_notification%",
    r"selection\_\_shipment\_sync\_notification%",
    r"constraint\_shipment\_sync\_notification%",
    r"access\_shipment\_sync\_notification%",
    r"shipment\_sync\_notification%",
    r"mail\_template\_shipment\_%",
    r"field\_res\_company\_\_shipment\_sync\_notify\_%",
    r"field\_res\_config\_settings\_\_shipment\_sync\_notify\_%",
)


def migrate(cr, version):
    if not version:
        return
    cr.execute("SELECT id, state FROM ir_module_module WHERE name = %s", (NEW,))
    row = cr.fetchone()
    if not row:
        # Odoo refreshes the module list before an upgrade; without the new
        # module on the addons path nothing can be handed over.
        raise RuntimeError(f"{NEW} must be on the addons path to upgrade shipment_sync")
    new_id, state = row
    if state not in ("installed", "to upgrade"):
        cr.execute("UPDATE ir_module_module SET state = 'to install', demo = "
                   "(SELECT demo FROM ir_module_module WHERE name = 'shipment_sync') "
                   "WHERE id = %s", (new_id,))
    likes = " OR ".join(["name LIKE %s"] * len(PATTERNS))
    cr.execute(
        f"UPDATE ir_model_data SET module = %s WHERE module = 'shipment_sync' "  # noqa: S608
        f"AND (name IN %s OR {likes})", (NEW, NAMES, *PATTERNS))
    # The SQL constraints and many2many tables of the moved models.
    for table in ("ir_model_constraint", "ir_model_relation"):
        cr.execute(
            f"UPDATE {table} SET module = %s WHERE module = "  # noqa: S608
            "(SELECT id FROM ir_module_module WHERE name = 'shipment_sync') "
            "AND model IN (SELECT id FROM ir_model WHERE model LIKE %s)",
            (new_id, "shipment.sync.notification%"))
