from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from shipsync import governance as gov
from shipsync import retention

from .cron_retry import retry_conflicts

ENVIRONMENTS = [
    ("test", "Test (sandbox credentials)"),
    ("production", "Production (live)"),
    ("shadow", "Shadow (live traffic, verified and stored, never applied)"),
]


class ShipmentSyncPartner(models.Model):
    """Governance of a partner: environment (test / production / shadow),
    secret rotation with a grace period, retention of its bodies and the
    schema versions it may send. Configuration changes are tracked in the
    chatter by ``shipment.sync.audit.mixin`` (secrets as "changed" only)."""

    _name = "shipment.sync.partner"
    _inherit = ["shipment.sync.partner", "shipment.sync.audit.mixin"]
    _shipment_audit_secret_fields = ("webhook_secret", "webhook_secret_previous",
                                     "outbox_auth_token")
    _shipment_audit_x2many_fields = ("authoritative_milestone_ids",)

    environment = fields.Selection(
        ENVIRONMENTS, required=True, default="test", tracking=True, index=True,
        help="Test: sandbox credentials and endpoints. Production: live. Shadow: live inbound "
        "traffic is verified, stored, mapped and compared, but never applied (onboarding). "
        "A neutralized database puts every partner in Test.")
    webhook_secret_previous_expires_at = fields.Datetime(
        "Previous secret valid until", copy=False, tracking=True,
        help="After this instant the previous secret is refused; a cron then clears it.")
    secret_grace_hours = fields.Integer(
        "Rotation grace (hours)", default=24, tracking=True,
        help="How long the previous webhook secret stays valid after a rotation.")
    secret_rotated_at = fields.Datetime("Secret rotated at", copy=False, readonly=True)

    retention_inbound_days = fields.Integer(
        "Keep inbound bodies (days)", tracking=True,
        help="Raw inbound bodies are blanked after this many days; 0 = company default.")
    retention_outbound_days = fields.Integer(
        "Keep outbound payloads (days)", tracking=True,
        help="Payloads and results of finished outbox jobs; 0 = company default.")
    retention_attempt_days = fields.Integer(
        "Keep attempt excerpts (days)", tracking=True,
        help="Response excerpts of outbox attempts; 0 = company default.")

    schema_version_pinned = fields.Selection(
        gov.VERSION_SELECTION, "Pinned schema version", tracking=True,
        help="Only this version of the canonical envelope is accepted from this partner.")
    schema_versions_retired = fields.Char(
        "Retired schema versions", tracking=True,
        help="Comma-separated versions this partner may no longer send, e.g. '1'.")

    @api.constrains("secret_grace_hours", "retention_inbound_days", "retention_outbound_days",
                    "retention_attempt_days")
    def _check_governance_numbers(self):
        for partner in self:
            if partner.secret_grace_hours < 0 or min(
                    partner.retention_inbound_days, partner.retention_outbound_days,
                    partner.retention_attempt_days) < 0:
                raise ValidationError(_("Grace period and retention days cannot be negative."))

    @api.constrains("schema_versions_retired", "schema_version_pinned")
    def _check_schema_versions(self):
        published = set(gov.INBOUND_VERSIONS["canonical"])
        for partner in self:
            retired = gov.parse_retired(partner.schema_versions_retired)
            unknown = [v for v in retired if v not in published]
            if unknown:
                raise ValidationError(_("Unknown schema version(s): %s.", ", ".join(unknown)))
            if not gov.accepted_versions(published, retired, partner.schema_version_pinned):
                raise ValidationError(_("%s would accept no schema version at all.",
                                        partner.name))
            if partner.schema_version_pinned in retired:
                raise ValidationError(_("The pinned schema version cannot be retired."))

    # ------------------------------------------------------------------
    # secrets
    # ------------------------------------------------------------------
    def write(self, vals):
        if vals.get("webhook_secret") and "webhook_secret_previous" not in vals \
                and not self.env.context.get("shipment_sync_no_grace"):
            # A new secret typed in the form is a rotation: the old one stays
            # valid for the grace period, so the partner can switch without loss.
            for partner in self:
                old = partner.sudo().webhook_secret
                if old and old != vals["webhook_secret"]:
                    partner._shipment_rotate(vals["webhook_secret"], partner.secret_grace_hours)
                    rest = {k: v for k, v in vals.items() if k != "webhook_secret"}
                    if rest:
                        super(ShipmentSyncPartner, partner).write(rest)
                else:
                    super(ShipmentSyncPartner, partner).write(vals)
            return True
        return super().write(vals)

    def _shipment_rotate(self, new_secret, grace_hours, now=None):
        """Make ``new_secret`` current; the previous one stays valid for
        ``grace_hours`` (0: refused at once, e.g. after a leak)."""
        self.ensure_one()
        if not self.env.user.has_group("shipment_sync.group_manager") and not self.env.su:
            raise AccessError(_("Only a Shipment Sync administrator may rotate secrets."))
        now = now or fields.Datetime.now()
        old = self.sudo().webhook_secret
        vals = {"webhook_secret": new_secret, "secret_rotated_at": now}
        if old and grace_hours > 0:
            vals.update(webhook_secret_previous=old,
                        webhook_secret_previous_expires_at=now + timedelta(hours=grace_hours))
        else:
            vals.update(webhook_secret_previous=False, webhook_secret_previous_expires_at=False)
        self.sudo().with_context(shipment_sync_no_grace=True).write(vals)
        self.env["shipment.sync.audit.log"]._log(
            "secret_rotation", self, partner=self,
            note=_("Webhook secret rotated; previous secret valid until %s.",
                   vals["webhook_secret_previous_expires_at"] or _("now (no grace)")))
        return True

    @api.model
    @retry_conflicts
    def _cron_retire_secrets(self, now=None):
        """Clear the previous webhook secrets whose grace period is over."""
        now = now or fields.Datetime.now()
        partners = self.sudo().with_context(active_test=False).search(
            [("webhook_secret_previous_expires_at", "<=", now)])
        for partner in partners:
            partner.with_context(shipment_sync_no_grace=True).write({
                "webhook_secret_previous": False, "webhook_secret_previous_expires_at": False})
            partner.message_post(body=_("The previous webhook secret expired and was retired."))
        return len(partners)

    def action_rotate_secret(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window", "res_model": "shipment.sync.secret.rotate",
            "view_mode": "form", "target": "new",
            "context": {"default_partner_id": self.id,
                        "default_grace_hours": self.secret_grace_hours},
        }

    # ------------------------------------------------------------------
    # plain values for shipsync
    # ------------------------------------------------------------------
    def _shipsync_is_live(self):
        """True when this partner may call / be called with live credentials.
        Adapters of the other addons pick sandbox credentials otherwise."""
        self.ensure_one()
        return self.environment in ("production", "shadow")

    def _shipsync_retention(self):
        self.ensure_one()
        company = self.company_id
        return retention.effective(
            {"inbound_body": self.retention_inbound_days,
             "outbound_payload": self.retention_outbound_days,
             "attempt_excerpt": self.retention_attempt_days},
            {"inbound_body": company.shipment_sync_retention_inbound_days,
             "outbound_payload": company.shipment_sync_retention_outbound_days,
             "attempt_excerpt": company.shipment_sync_retention_attempt_days})

    def _shipsync_inbound_schema(self, payload):
        """The JSON Schema name of a canonical payload, or VersionError."""
        self.ensure_one()
        return gov.check_inbound_version(
            "canonical", payload, gov.parse_retired(self.schema_versions_retired),
            self.schema_version_pinned or None)

    # ------------------------------------------------------------------
    # actions
    # ------------------------------------------------------------------
    def action_shadow_report(self):
        self.ensure_one()
        report = self.env["shipment.sync.shadow.report"].create({"partner_id": self.id})
        report.action_compute()
        return {"type": "ir.actions.act_window", "res_model": "shipment.sync.shadow.report",
                "res_id": report.id, "view_mode": "form", "target": "current"}

    def action_audit_export(self):
        self.ensure_one()
        return {"type": "ir.actions.act_window", "res_model": "shipment.sync.audit.export",
                "view_mode": "form", "target": "new",
                "context": {"default_partner_id": self.id}}
