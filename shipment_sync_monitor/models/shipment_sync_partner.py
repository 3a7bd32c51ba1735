from odoo import fields, models


class ShipmentSyncPartner(models.Model):
    _inherit = "shipment.sync.partner"

    def _silence_alert_rules(self):
        """The active webhook-silence rules watching this partner."""
        self.ensure_one()
        return self.env["shipment.sync.alert.rule"].sudo().search([
            ("kind", "=", "webhook_silence"),
            "|", ("partner_id", "=", False), ("partner_id", "=", self.id),
            "|", ("company_id", "=", False), ("company_id", "=", self.company_id.id),
        ])

    def _silence_started(self, verdict, in_transit):
        res = super()._silence_started(verdict, in_transit)
        # The ops alert opens now, not at the next run of the rules' cron.
        now = fields.Datetime.now()
        for rule in self._silence_alert_rules():
            rule._evaluate(now)
        return res

    def _silence_ended(self, verdict, back=True):
        res = super()._silence_ended(verdict, back=back)
        now = fields.Datetime.now()
        for rule in self._silence_alert_rules():
            rule._evaluate(now)
        return res
