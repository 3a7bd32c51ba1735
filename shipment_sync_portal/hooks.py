from odoo.addons.shipment_sync.hooks import clean_up


def uninstall_hook(env):
    """Leave nothing behind that Odoo does not remove itself."""
    clean_up(env, "shipment_sync_portal")
