import re
from datetime import timedelta
from typing import NamedTuple

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL

from shipsync import governance, ingest, normalizers, partners, pii, retention, schemas, signatures
from shipsync.normalizers import parse_payload

from .cron_retry import retry_conflicts

#: A partner code is a URL slug (the webhook route checks it before any query).
CODE_RE = re.compile(governance.CODE_PATTERN)

# Selections built from the partner registry (keys = partner codes, stable).
SIGNATURE_SCHEMES = [
    ("standard_webhooks", "Standard Webhooks (webhook-signature)"),
    *partners.signature_selection(),
    ("shopify", "Shopify style (X-Shopify-Hmac-Sha256)"),
    ("github", "GitHub style (X-Hub-Signature-256)"),
    ("hmac_header", "Custom HMAC header"),
]

INBOUND_FORMATS = partners.inbound_selection()

ENVIRONMENTS = [
    ("test", "Test (sandbox credentials)"),
    ("production", "Production (live)"),
    ("shadow", "Shadow (live traffic, verified and stored, never applied)"),
]


class WebhookProfile(NamedTuple):
    """What the webhook route needs of a partner before the 202, as plain values: read
    in one query per code and cached per worker (``_webhook_profiles``)."""

    id: int
    code: str
    company_id: int
    rate_limit_per_minute: int
    rate_limit_burst: int
    max_payload_kb: int
    signature_scheme: str
    signature_tolerance: int
    hmac_header: str | None
    hmac_algorithm: str | None
    hmac_encoding: str | None
    hmac_prefix: str | None
    webhook_secret: str | None
    webhook_secret_previous: str | None
    webhook_secret_previous_expires_at: object
    inbound_format: str
    environment: str
    processing_mode: str
    schema_versions_retired: str | None
    schema_version_pinned: str | None
    lookup_picking_name: bool
    authority: frozenset | None

    def secrets(self, now=None):
        """The current secret, and the previous one until its grace period ends."""
        secrets = [self.webhook_secret] if self.webhook_secret else []
        expires = self.webhook_secret_previous_expires_at
        if self.webhook_secret_previous and (
                not expires or expires > (now or fields.Datetime.now())):
            secrets.append(self.webhook_secret_previous)
        return secrets

    def verifier(self):
        """The signature verifier; ValueError when no secret is set (fail closed)."""
        return _make_verifier(self, self.secrets())


def _make_verifier(values, secrets):
    if values.signature_scheme == "standard_webhooks":
        return signatures.make_verifier(
            "standard_webhooks", secrets, tolerance=values.signature_tolerance or 300)
    if values.signature_scheme == "hmac_header":
        return signatures.make_verifier(
            "hmac_header", secrets, header=values.hmac_header,
            algorithm=values.hmac_algorithm or "sha256",
            encoding=values.hmac_encoding or "hex", prefix=values.hmac_prefix or "")
    return signatures.make_verifier(values.signature_scheme, secrets)


#: Columns of a WebhookProfile (all but the authority, read from the relation).
_PROFILE_COLUMNS = WebhookProfile._fields[:-1]


class ShipmentSyncPartner(models.Model):
    """A system we exchange shipment data with: a carrier, an aggregator, a
    warehouse / 3PL, a marketplace or a subscriber.

    Its outbound policy is ``shipment.sync.partner.outbox``
    (shipment_sync_partner_outbox.py). Governance: environment (test /
    production / shadow), secret rotation with a grace period, retention of
    its bodies and the schema versions it may send. Configuration changes are
    tracked in the chatter by ``shipment.sync.audit.mixin`` (secrets as
    "changed" only)."""

    _name = "shipment.sync.partner"
    _description = "Shipment Sync Partner"
    # The outbox part inherits mail.thread (its fields are tracked): listed first.
    _inherit = ["shipment.sync.partner.outbox", "shipment.sync.partner.amqp",
                "shipment.sync.partner.silence", "mail.thread",
                "shipment.sync.audit.mixin"]
    _order = "sequence, name, id"
    _shipment_audit_secret_fields = ("webhook_secret", "webhook_secret_previous",
                                     "outbox_auth_token")
    _shipment_audit_x2many_fields = ("authoritative_milestone_ids",)

    name = fields.Char(required=True, tracking=True, translate=False)
    sequence = fields.Integer(default=10)
    code = fields.Char(
        required=True, tracking=True, index=True,
        help="URL slug of the partner's webhook: /shipment_sync/webhook/<code>. "
        "Lower-case letters, digits, - and _.",
    )
    kind = fields.Selection(
        [("carrier", "Carrier"), ("aggregator", "Carrier aggregator"), ("wms", "Warehouse / 3PL"),
         ("marketplace", "Marketplace"), ("subscriber", "Subscriber")],
        required=True, default="carrier", tracking=True,
    )
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company, index=True,
        tracking=True,
    )
    responsible_user_id = fields.Many2one(
        "res.users", string="Responsible", tracking=True,
        help="Gets the activity when a shipment of this partner gets an exception.",
    )

    # --- inbound: format, signature ---
    inbound_format = fields.Selection(
        INBOUND_FORMATS, required=True, default="canonical", tracking=True,
        help="The message format this partner posts to its webhook.",
    )
    signature_scheme = fields.Selection(
        SIGNATURE_SCHEMES, required=True, default="standard_webhooks", tracking=True,
    )
    hmac_header = fields.Char(string="Signature header", tracking=True)
    hmac_algorithm = fields.Selection(
        [("sha256", "SHA-256"), ("sha512", "SHA-512")], default="sha256", tracking=True,
    )
    hmac_encoding = fields.Selection(
        [("hex", "Hexadecimal"), ("base64", "Base64")], default="hex", tracking=True,
    )
    hmac_prefix = fields.Char(
        string="Signature prefix", tracking=True, help="e.g. sha256= or hmac-sha256-hex=",
    )
    signature_tolerance = fields.Integer(
        default=300, tracking=True,
        help="Seconds a signed timestamp may differ from now (Standard Webhooks).",
    )
    webhook_secret = fields.Char(
        groups="shipment_sync.group_manager", copy=False,
        help="No secret means every webhook of this partner is refused (fail closed).",
    )
    webhook_secret_previous = fields.Char(
        string="Previous secret", groups="shipment_sync.group_manager", copy=False,
        help="Still accepted while the partner switches to the new secret.",
    )
    has_secret = fields.Boolean(compute="_compute_has_secret")
    webhook_url = fields.Char(compute="_compute_webhook_url")

    # --- inbound: processing ---
    authoritative_milestone_ids = fields.Many2many(
        "shipment.sync.milestone", string="Authoritative for",
        help="Milestones this partner may set. Its other events are recorded as "
        "'ignored (not authoritative)'. Empty means all milestones.",
    )
    lookup_tracking = fields.Boolean("Match by tracking number", default=True, tracking=True)
    lookup_picking_name = fields.Boolean("Match by transfer reference", default=True,
                                         tracking=True)
    lookup_correlation = fields.Boolean("Match by correlation id", default=True, tracking=True)
    processing_mode = fields.Selection(
        [("async", "Asynchronous (cron, right after the request)"),
         ("inline", "Inline (within the request)")],
        default="async", required=True, tracking=True,
    )
    rate_limit_per_minute = fields.Integer(
        "Inbound rate limit (per minute)", default=1200, tracking=True,
        help="Token bucket per partner and per Odoo worker process. 0 disables it.",
    )
    rate_limit_burst = fields.Integer("Inbound burst", default=200, tracking=True)
    max_payload_kb = fields.Integer("Max payload (KiB)", default=1024, tracking=True)

    status_map_ids = fields.One2many("shipment.sync.status.map", "partner_id", "Status maps")
    event_count = fields.Integer(compute="_compute_event_count")

    # governance
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
        governance.VERSION_SELECTION, "Pinned schema version", tracking=True,
        help="Only this version of the canonical envelope is accepted from this partner.")
    schema_versions_retired = fields.Char(
        "Retired schema versions", tracking=True,
        help="Comma-separated versions this partner may no longer send, e.g. '1'.")

    _sql_constraints = [
        ("code_company_uniq", "UNIQUE(code, company_id)",
         "The partner code must be unique per company."),
    ]

    @api.constrains("code")
    def _check_code(self):
        for partner in self:
            if not CODE_RE.match(partner.code or ""):
                raise ValidationError(_(
                    "The code %(code)s is not a valid URL slug: use 2 to 63 lower-case letters, "
                    "digits, '-' or '_'.", code=partner.code))

    @api.constrains("signature_scheme", "hmac_header")
    def _check_hmac_header(self):
        for partner in self:
            if partner.signature_scheme == "hmac_header" and not partner.hmac_header:
                raise ValidationError(_("A custom HMAC scheme needs the name of its header."))

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
        published = set(governance.INBOUND_VERSIONS["canonical"])
        for partner in self:
            retired = governance.parse_retired(partner.schema_versions_retired)
            unknown = [v for v in retired if v not in published]
            if unknown:
                raise ValidationError(_("Unknown schema version(s): %s.", ", ".join(unknown)))
            if not governance.accepted_versions(published, retired, partner.schema_version_pinned):
                raise ValidationError(_("%s would accept no schema version at all.",
                                        partner.name))
            if partner.schema_version_pinned in retired:
                raise ValidationError(_("The pinned schema version cannot be retired."))

    def _compute_has_secret(self):
        for partner in self:
            partner.has_secret = bool(partner.sudo().webhook_secret)

    def _compute_webhook_url(self):
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "")
        for partner in self:
            partner.webhook_url = f"{base}/shipment_sync/webhook/{partner.code or ''}"

    def _compute_event_count(self):
        groups = self.env["shipment.sync.event"]._read_group(
            [("partner_id", "in", self.ids)], ["partner_id"], ["__count"])
        counts = {partner.id: count for partner, count in groups}
        for partner in self:
            partner.event_count = counts.get(partner.id, 0)

    # ------------------------------------------------------------------
    # plain values for shipsync
    # ------------------------------------------------------------------
    def _shipsync_secrets(self, now=None):
        """The secrets a signature may be made with: the current one, and the
        previous one until its grace period ends (no end date: until cleared)."""
        self.ensure_one()
        me = self.sudo()
        secrets = [me.webhook_secret] if me.webhook_secret else []
        expires = me.webhook_secret_previous_expires_at
        if me.webhook_secret_previous and (
                not expires or expires > (now or fields.Datetime.now())):
            secrets.append(me.webhook_secret_previous)
        return secrets

    def _shipsync_verifier(self):
        """The partner's signature verifier. Raises ValueError when no secret
        is configured: the caller refuses the request (fail closed)."""
        self.ensure_one()
        return _make_verifier(self, self._shipsync_secrets())

    def _shipsync_normalizer(self):
        self.ensure_one()
        return normalizers.get_normalizer(self.inbound_format)

    def _shipsync_authoritative_codes(self):
        """Milestone codes this partner may move, or None for all (cached per
        worker with the webhook profile, see ``_webhook_profiles``)."""
        self.ensure_one()
        return self._authority_of(self.id)

    @tools.ormcache("partner_id")
    def _authority_of(self, partner_id):
        self.flush_model(["authoritative_milestone_ids"])
        field = self._fields["authoritative_milestone_ids"]
        self.env.cr.execute(SQL(
            "SELECT m.code FROM %s r JOIN shipment_sync_milestone m ON m.id = r.%s "
            "WHERE r.%s = %s", SQL.identifier(field.relation), SQL.identifier(field.column2),
            SQL.identifier(field.column1), partner_id))
        codes = [row[0] for row in self.env.cr.fetchall()]
        return frozenset(codes) if codes else None

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

    def _shipsync_parse_inbound(self, body):
        """Parse an authenticated inbound body into canonical events, the one
        home of the inbound validation (webhook route and broker queue): the
        schema version of a canonical envelope (published, not retired for this
        partner, its pinned one if any), its JSON Schema, the partner format's
        normalizer, the ingest checks. Raises ``shipsync.ingest.BodyRejected``
        (400 with the schema's or the version's code). Addons with a format of
        their own override it."""
        self.ensure_one()
        normalizer = self._shipsync_normalizer()
        try:
            if normalizer.name not in governance.INBOUND_VERSIONS:
                events = parse_payload(body, normalizer, environment=self.environment)
                ingest.check_events(events)
                return events
            payload = schemas.parse_json(body)
            schemas.validate(payload, schemas.load_schema(self._shipsync_inbound_schema(payload)))
            events = normalizer.normalize(payload)
            ingest.check_events(events)
            return events
        except governance.VersionError as exc:
            raise ingest.BodyRejected(400, exc.code, f"{exc.path}: {exc.message}") from exc
        except schemas.PayloadError as exc:
            message = str(exc) if not exc.path else f"{exc.path}: {exc}"
            raise ingest.BodyRejected(400, exc.code, pii.mask_text(message)) from exc

    def _shipsync_inbound_schema(self, payload):
        """The JSON Schema name of a canonical payload, or VersionError."""
        self.ensure_one()
        return governance.check_inbound_version(
            "canonical", payload, governance.parse_retired(self.schema_versions_retired),
            self.schema_version_pinned or None)

    # ------------------------------------------------------------------
    # secrets
    # ------------------------------------------------------------------
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
        self.sudo().write(vals)
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
            partner.write({
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
    # the webhook route's view of partners: one query, cached per worker
    # ------------------------------------------------------------------
    @api.model
    def _webhook_profiles(self, code):
        """The active partners with this code (one code may exist in several
        companies), in id order, as ``WebhookProfile`` values. One query the first
        time in a worker; dropped in every worker when a partner's webhook settings
        are written (``_WEBHOOK_FIELDS``, through the registry's cache signaling)."""
        return self._webhook_profiles_cached(code)

    @tools.ormcache("code")
    def _webhook_profiles_cached(self, code):
        # Pending ORM writes of this transaction first (none in a webhook request).
        self.flush_model([*_PROFILE_COLUMNS[1:], "active", "authoritative_milestone_ids"])
        field = self._fields["authoritative_milestone_ids"]
        self.env.cr.execute(SQL(
            "SELECT %s, ARRAY(SELECT m.code FROM %s r JOIN shipment_sync_milestone m "
            "ON m.id = r.%s WHERE r.%s = p.id) FROM shipment_sync_partner p "
            "WHERE p.code = %s AND p.active ORDER BY p.id",
            SQL(", ").join(SQL.identifier("p", c) for c in _PROFILE_COLUMNS),
            SQL.identifier(field.relation), SQL.identifier(field.column2),
            SQL.identifier(field.column1), code))
        return tuple(WebhookProfile(*row[:-1], frozenset(row[-1]) if row[-1] else None)
                     for row in self.env.cr.fetchall())

    #: Written through the ORM, these drop the cached profiles and authorities.
    _WEBHOOK_FIELDS = frozenset((*_PROFILE_COLUMNS, "active", "authoritative_milestone_ids"))

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self.env.registry.clear_cache()
        return records

    def write(self, vals):
        if vals.get("webhook_secret") and "webhook_secret_previous" not in vals:
            # A new secret typed in the form is a rotation: the old one stays
            # valid for the grace period, so the partner can switch without loss.
            # A write that says what the previous secret is (the rotation itself,
            # a caller wanting no grace: ``webhook_secret_previous: False``) is not.
            for partner in self:
                old = partner.sudo().webhook_secret
                rest = vals
                if old and old != vals["webhook_secret"]:
                    partner._shipment_rotate(vals["webhook_secret"], partner.secret_grace_hours)
                    rest = {k: v for k, v in vals.items() if k != "webhook_secret"}
                if rest:
                    super(ShipmentSyncPartner, partner).write(rest)
            res = True
        else:
            res = super().write(vals)
        if self._WEBHOOK_FIELDS.intersection(vals):
            self.env.registry.clear_cache()
        return res

    def unlink(self):
        res = super().unlink()
        self.env.registry.clear_cache()
        return res

    def _shipsync_mapper(self):
        return self.env["shipment.sync.status.map"]._mapper_for(self)

    # ------------------------------------------------------------------
    # actions
    # ------------------------------------------------------------------
    def action_view_events(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync.shipment_sync_event_action")
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action

    def action_view_status_maps(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "shipment_sync.shipment_sync_status_map_action")
        vocabulary = self._shipsync_normalizer().vocabulary
        action["domain"] = ["|", ("partner_id", "=", self.id),
                            "&", ("partner_id", "=", False), ("vocabulary", "=", vocabulary)]
        action["context"] = {"default_partner_id": self.id, "default_vocabulary": vocabulary}
        return action

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
