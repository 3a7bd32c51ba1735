from odoo.addons.shipment_sync.hooks import clean_up

from .models.monitor_indexes import drop_indexes


def uninstall_hook(env):
    """Leave nothing behind that Odoo does not remove itself: the synthetic
    ETA history (SQL-inserted pickings and their carriers, customers and
    product), the indexes this addon created on other addons' tables
    its system parameters
    and foreign-key records (``clean_up``)."""
    env["shipment.sync.lane"]._eta_remove_history()
    drop_indexes(env.cr)
    clean_up(env, "shipment_sync_monitor")
