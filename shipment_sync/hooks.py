from odoo.tools import SQL


def uninstall_hook(env):
    """Leave nothing behind that Odoo does not remove itself."""
    clean_up(env, "shipment_sync")


def clean_up(env, module):
    """What Odoo leaves of an uninstalled addon of the suite: the system
    parameters ``<module>.*`` (settings saved, limits an admin set; Odoo
    removes only the ones a data file created) and its rows in
    ``ir_model_constraint`` for the foreign keys of the fields it added to
    other addons' models (Odoo drops the columns and their keys, but keeps
    these records, which have no external id)."""
    prefix = f"{module}."
    env["ir.config_parameter"].sudo().search([("key", "=like", f"{module}.%")]).filtered(
        lambda param: param.key.startswith(prefix)).unlink()
    env.cr.execute(SQL(
        "DELETE FROM ir_model_constraint WHERE type = 'f' "
        "AND module = (SELECT id FROM ir_module_module WHERE name = %s)", module))
