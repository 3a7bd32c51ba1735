from odoo import api, models


class ShipmentSyncCachedMixin(models.AbstractModel):
    """Configuration the hot paths (ingest, apply, publishing) read through
    ``ormcache``: creating, changing or deleting a record drops the registry's
    caches, in this worker at once and in the others at their next request."""

    _name = "shipment.sync.cached.mixin"
    _description = "Shipment Sync configuration cached by the workers"

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self.env.registry.clear_cache()
        return records

    def write(self, vals):
        res = super().write(vals)
        self.env.registry.clear_cache()
        return res

    def unlink(self):
        res = super().unlink()
        self.env.registry.clear_cache()
        return res
