from odoo import models


class StockPicking(models.Model):
    _inherit = "stock.picking"

    def _shipment_internal_event(self, milestone=None, exception_reason=None,
                                 resolves_exception=False, message=None, occurred_at=None):
        events = super()._shipment_internal_event(
            milestone=milestone, exception_reason=exception_reason,
            resolves_exception=resolves_exception, message=message, occurred_at=occurred_at)
        if resolves_exception and events:
            # A person closed the exception (form button, monitor workbench...),
            # or a rule of the suite did (crons run as OdooBot).
            automatic = self.env.user == self.env.ref("base.user_root")
            self.env["shipment.sync.audit.log"]._log(
                "auto_resolution" if automatic else "manual_resolution", events,
                note=message or None)
        return events
