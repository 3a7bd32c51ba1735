"""Webhook signature verification: Standard Webhooks v1 and plain HMAC headers.

Verifiers work on the raw request body, compare in constant time, accept several
active secrets (rotation) and fail closed: no secret configured is a ``ValueError``
at construction. Error messages never contain a secret or a computed signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
import unicodedata
from collections.abc import Mapping, Sequence

MISSING_SIGNATURE = "missing_signature"
INVALID_SIGNATURE = "invalid_signature"
STALE_TIMESTAMP = "stale_timestamp"


class SignatureError(Exception):
    """A webhook failed verification; ``code`` is one of the constants above."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(message or code)
        self.code = code
        self.message = message or code


def _clean_secrets(secrets: Sequence[str] | str | None) -> list[str]:
    if isinstance(secrets, str | bytes):
        secrets = [secrets]  # a lone string is one secret, not a list of characters
    cleaned = []
    for secret in secrets or ():
        if isinstance(secret, bytes):
            secret = secret.decode()
        if secret and secret.strip():
            cleaned.append(secret.strip())
    if not cleaned:
        raise ValueError("no webhook secret configured")
    return cleaned


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (headers or {}).items()}


class StandardWebhooks:
    """Standard Webhooks v1 (``webhook-id`` / ``webhook-timestamp`` / ``webhook-signature``).

    Secrets are ``whsec_<base64>`` (padding optional, as in the official library); the
    prefix is optional. A secret that is not base64 is used as raw UTF-8 bytes.
    ``svix-*`` header aliases are accepted.
    """

    PREFIX = "whsec_"

    def __init__(self, secrets: Sequence[str], tolerance: int = 300):
        self._keys = [self._key(secret) for secret in _clean_secrets(secrets)]
        self.tolerance = int(tolerance)

    @classmethod
    def _key(cls, secret: str) -> bytes:
        """The HMAC key of a secret. ``whsec_<base64>`` is read as the official library
        (PyPI ``standardwebhooks``) reads it: the base64 may come without its ``=``
        padding. Without the prefix, valid (padded) base64 is decoded and anything else is
        used as raw UTF-8 bytes (a shared secret typed by hand)."""
        if secret.startswith(cls.PREFIX):
            raw = secret[len(cls.PREFIX):]
            try:
                return base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
            except (binascii.Error, ValueError):
                return base64.b64decode(raw + "==")  # the library's lenient decoding
        try:
            return base64.b64decode(secret, validate=True)
        except (binascii.Error, ValueError):
            return secret.encode("utf-8")

    @staticmethod
    def _digest(key: bytes, msg_id: str, timestamp: str, body: bytes) -> str:
        content = f"{msg_id}.{timestamp}.".encode() + bytes(body)
        mac = hmac.new(key, content, hashlib.sha256).digest()
        return base64.b64encode(mac).decode("ascii")

    def sign(self, msg_id: str, timestamp: int, body: bytes) -> str:
        """The ``webhook-signature`` value (``v1,<base64>``) made with the first secret."""
        return "v1," + self._digest(self._keys[0], msg_id, str(int(timestamp)), body)

    def headers(self, msg_id: str, body: bytes, timestamp: int | None = None) -> dict:
        """Headers for an outbound message signed with the first secret."""
        ts = int(time.time()) if timestamp is None else int(timestamp)
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(ts),
            "webhook-signature": self.sign(msg_id, ts, body),
        }

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
        """Raise ``SignatureError`` unless one signature matches one secret in time."""
        lowered = _lower_headers(headers)

        def get(name: str) -> str:
            return (lowered.get(f"webhook-{name}") or lowered.get(f"svix-{name}") or "").strip()

        msg_id, timestamp, signatures = get("id"), get("timestamp"), get("signature")
        if not (msg_id and timestamp and signatures):
            raise SignatureError(MISSING_SIGNATURE, "webhook-id, -timestamp or -signature missing")
        current = time.time() if now is None else now
        try:
            ts = int(timestamp)
            stale = abs(current - ts) > self.tolerance
        except (ValueError, OverflowError):  # not digits, or too many for a float
            raise SignatureError(INVALID_SIGNATURE, "webhook-timestamp is not an integer") from None
        if stale:
            raise SignatureError(STALE_TIMESTAMP, "webhook-timestamp outside the tolerance")
        candidates = []
        for item in signatures.split():
            version, _sep, value = item.partition(",")
            if version == "v1" and value:
                candidates.append(value.encode("ascii", "replace"))
        for key in self._keys:
            expected = self._digest(key, msg_id, timestamp, body).encode("ascii")
            for candidate in candidates:
                if hmac.compare_digest(expected, candidate):
                    return
        raise SignatureError(INVALID_SIGNATURE, "no signature matches an active secret")


class HmacHeader:
    """HMAC of the raw body in one header (``hex`` or ``base64``, optional prefix).

    ``normalize`` (e.g. ``"NFKD"``) applies ``unicodedata.normalize`` to the secret
    before it is encoded, as EasyPost does.
    """

    def __init__(
        self,
        secrets: Sequence[str],
        header: str = "",  # required: "" (an empty form field) is a ValueError, not a TypeError
        algorithm: str = "sha256",
        encoding: str = "hex",
        prefix: str = "",
        normalize: str | None = None,
    ):
        if not header:
            raise ValueError("header name required")
        if encoding not in ("hex", "base64"):
            raise ValueError("encoding must be 'hex' or 'base64'")
        hashlib.new(algorithm)  # ValueError for an unknown algorithm
        cleaned = _clean_secrets(secrets)
        if normalize:
            cleaned = [unicodedata.normalize(normalize, secret) for secret in cleaned]
        self._keys = [secret.encode("utf-8") for secret in cleaned]
        self.header = header
        self.algorithm = algorithm
        self.encoding = encoding
        self.prefix = prefix or ""

    def _digest(self, key: bytes, body: bytes) -> str:
        mac = hmac.new(key, bytes(body), self.algorithm).digest()
        if self.encoding == "hex":
            return mac.hex()
        return base64.b64encode(mac).decode("ascii")

    def sign(self, body: bytes) -> str:
        """The header value (prefix included) made with the first secret."""
        return self.prefix + self._digest(self._keys[0], body)

    def headers(self, body: bytes) -> dict:
        """``{header: value}`` for an outbound request."""
        return {self.header: self.sign(body)}

    def verify(self, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
        """Raise ``SignatureError`` unless the header matches one secret (``now`` unused)."""
        value = _lower_headers(headers).get(self.header.lower(), "").strip()
        if not value:
            raise SignatureError(MISSING_SIGNATURE, f"header {self.header} missing")
        if self.prefix:
            if not value.lower().startswith(self.prefix.lower()):
                raise SignatureError(INVALID_SIGNATURE, f"header {self.header} has no prefix")
            value = value[len(self.prefix):]
        if self.encoding == "hex":
            value = value.lower()
        candidate = value.encode("ascii", "replace")
        for key in self._keys:
            if hmac.compare_digest(self._digest(key, body).encode("ascii"), candidate):
                return
        raise SignatureError(INVALID_SIGNATURE, "signature does not match an active secret")


#: Generic header styles; the partners' own presets are named by their folders
#: (``shipsync.partners.<code>.inbound.SIGNATURE``) and found through the registry.
STYLE_PRESETS: dict[str, dict] = {
    "shopify": {"header": "X-Shopify-Hmac-Sha256", "algorithm": "sha256", "encoding": "base64"},
    "github": {
        "header": "X-Hub-Signature-256",
        "algorithm": "sha256",
        "encoding": "hex",
        "prefix": "sha256=",
    },
}


def hmac_presets() -> dict[str, dict]:
    """Every HMAC preset by name: the partners' (registry) then the generic styles."""
    from shipsync import partners

    return {**partners.signature_presets(), **STYLE_PRESETS}


def __getattr__(name: str):
    if name == "HMAC_PRESETS":
        return hmac_presets()
    if name == "SCHEMES":
        return ("standard_webhooks", "hmac_header", *hmac_presets())
    raise AttributeError(name)


def make_verifier(scheme: str, secrets: Sequence[str], **options):
    """Build a verifier for a scheme or preset name; ValueError without secrets.

    Empty option values (``None``, ``""``) are dropped so form fields can be passed as is.
    """
    options = {key: value for key, value in options.items() if value not in (None, "")}
    tolerance = options.pop("tolerance", 300)
    if scheme == "standard_webhooks":
        return StandardWebhooks(secrets, tolerance=tolerance)
    if scheme == "hmac_header":
        return HmacHeader(secrets, **options)
    presets = hmac_presets()
    if scheme in presets:
        return HmacHeader(secrets, **{**presets[scheme], **options})
    raise ValueError(f"unknown signature scheme {scheme!r}")
