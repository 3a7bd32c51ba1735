import re
from typing import NamedTuple

from odoo import _, api, fields, models, tools
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from shipsync import governance, normalizers, partners, signatures

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
    warehouse / 3PL, a marketplace or a subscriber."""

    _name = "shipment.sync.partner"
    _description = "Shipment Sync Partner"
    _inherit = ["mail.thread"]
    _order = "sequence, name, id"

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
