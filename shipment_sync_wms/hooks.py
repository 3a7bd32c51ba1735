import logging

from odoo import Command

from odoo.addons.shipment_sync.hooks import clean_up

from .models.stock_warehouse import DEMO_LOCATIONS_PARAM

_logger = logging.getLogger(__name__)


def uninstall_hook(env):
    """Leave nothing behind that Odoo does not remove itself."""
    _remove_demo_warehouse(env)
    clean_up(env, "shipment_sync_wms")


def _remove_demo_warehouse(env):
    """The demo 3PL warehouse with everything Odoo created for it (picking
    types and their sequences, routes, rules, locations): Odoo's uninstall
    would only try the warehouse row and fail on its foreign keys. A
    warehouse that holds operations by now is left to the user, without its
    external id (so the uninstall does not try to delete it either)."""
    warehouse = env.ref("shipment_sync_wms.demo_warehouse_3pl", raise_if_not_found=False)
    if not warehouse:
        return
    types = env["stock.picking.type"].with_context(active_test=False).search(
        [("warehouse_id", "=", warehouse.id)])
    locations = env["stock.location"].with_context(active_test=False).search(
        [("id", "child_of", warehouse.view_location_id.id)])
    used = env["stock.move"].with_context(active_test=False).search_count(
        ["|", "|", ("picking_type_id", "in", types.ids), ("location_id", "in", locations.ids),
         ("location_dest_id", "in", locations.ids)], limit=1)
    used = used or env["stock.quant"].search_count([("location_id", "in", locations.ids)],
                                                   limit=1)
    if used:
        _logger.info("Keeping %s: it holds stock operations", warehouse.display_name)
        env["ir.model.data"].search([("module", "=", "shipment_sync_wms"),
                                     ("model", "=", "stock.warehouse"),
                                     ("res_id", "=", warehouse.id)]).unlink()
        return
    routes = warehouse.crossdock_route_id | warehouse.reception_route_id \
        | warehouse.delivery_route_id
    rules = env["stock.rule"].with_context(active_test=False).search(
        ["|", "|", ("warehouse_id", "=", warehouse.id), ("picking_type_id", "in", types.ids),
         ("route_id", "in", routes.ids)])
    sequences = types.sequence_id
    rules.unlink()
    warehouse.unlink()
    routes.exists().unlink()
    types.exists().unlink()
    sequences.exists().unlink()
    # Children before their parents.
    for location in locations.exists().sorted("parent_path", reverse=True):
        location.unlink()
    group_user = env.ref("base.group_user")
    multi_warehouses = env.ref("stock.group_stock_multi_warehouses")
    if multi_warehouses not in group_user.implied_ids:
        # Odoo's own clean-up on the warehouse's unlink leaves the archived users in
        # (a write without active_test=False does not see them).
        multi_warehouses.with_context(active_test=False).write(
            {"users": [Command.unlink(user.id) for user in _internal_users(env)]})
    _demo_storage_locations_off(env)


def _demo_storage_locations_off(env):
    """Storage Locations off again if the demo turned it on and one warehouse
    per company is left (what Odoo does for multi-warehouses by itself)."""
    if not env["ir.config_parameter"].sudo().get_param(DEMO_LOCATIONS_PARAM):
        return
    per_company = env["stock.warehouse"].sudo()._read_group([], ["company_id"], ["__count"])
    if any(count > 1 for _company, count in per_company):
        return
    group_user = env.ref("base.group_user")
    locations = env.ref("stock.group_stock_multi_locations")
    group_user.write({"implied_ids": [Command.unlink(locations.id)]})
    locations.with_context(active_test=False).write(
        {"users": [Command.unlink(user.id) for user in _internal_users(env)]})


def _internal_users(env):
    """Every internal user, the archived ones included."""
    return env["res.users"].with_context(active_test=False).search(
        [("groups_id", "=", env.ref("base.group_user").id)])
