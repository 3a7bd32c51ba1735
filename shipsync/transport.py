"""Outbound HTTP for adapters: one call in, one plain :class:`HttpResult` out.

:func:`send` never raises for network errors, timeouts or HTTP errors: it classifies
them (see :mod:`shipsync.retry`) so the outbox can decide done / retry / dead. It
always passes ``timeout=(connect, read)``, never follows redirects (a 3xx is returned as
is, so credentials are never replayed to another host) and scrubs credentials out of
error messages.
"""

from __future__ import annotations

import json as jsonlib
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError

from .retry import classify

#: Header names whose values are credentials (matched as substrings, case-insensitive).
SECRET_HEADER_RE = re.compile(r"authorization|key|token|secret|password|signature|cookie", re.I)
#: Headers that match the pattern above but carry no secret.
NOT_SECRET_HEADERS = frozenset({"idempotency-key"})
#: Query parameter names treated as credentials.
SECRET_PARAM_RE = re.compile(r"key|token|secret|password|signature|sig|auth", re.I)

MASK = "***"
MAX_ERROR_LEN = 300


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    json: object = None
    idempotency_key: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.body is not None and self.json is not None:
            raise ValueError("HttpRequest takes either body or json, not both")


@dataclass(frozen=True)
class HttpResult:
    status: int | None
    headers: dict[str, str]
    body: bytes
    elapsed_ms: int
    error_class: str | None
    error: str
    retry_after: str | None

    @property
    def ok(self) -> bool:
        """True when the call succeeded (no error class)."""
        return self.error_class is None

    def excerpt(self, limit: int = 2000) -> str:
        """At most ``limit`` characters of the body, decoded as UTF-8 with replacement."""
        limit = max(0, limit)
        # Four bytes per character at most: never decode more than needed.
        text = (self.body or b"")[: limit * 4].decode("utf-8", errors="replace")
        return text[:limit]

    def json(self) -> object:
        """The body parsed as JSON; raises ValueError when it is not JSON."""
        if not self.body:
            raise ValueError("empty body")
        return jsonlib.loads(self.body)  # bytes: UTF-8/16/32 detected, errors are ValueError


def mask(text: str, secrets: Iterable[str], min_length: int = 1) -> str:
    """Replace every occurrence of each secret of at least ``min_length`` characters in
    ``text`` with ``***`` (longest first)."""
    if not text:
        return text
    wanted = {s for s in secrets if s and len(s) >= min_length}
    for secret in sorted(wanted, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def secrets_of(req: HttpRequest) -> list[str]:
    """Credentials carried by a request: secret-like header values (and the token part of
    ``Authorization: Scheme token``), URL userinfo and secret-like query parameters."""
    found: list[str] = []
    for name, value in (req.headers or {}).items():
        if not value or name.lower() in NOT_SECRET_HEADERS or not SECRET_HEADER_RE.search(name):
            continue
        value = str(value)
        found.append(value)
        scheme, _, token = value.partition(" ")
        if token.strip() and scheme.isalpha():
            found.append(token.strip())
    try:
        parts = urlsplit(req.url)
        if parts.password:
            found.append(parts.password)
        for name, value in parse_qsl(parts.query, keep_blank_values=False):
            if SECRET_PARAM_RE.search(name) and value:
                found.append(value)
    except ValueError:
        pass
    return found


def new_session(pool_size: int = 10) -> requests.Session:
    """A session with a connection pool of ``pool_size`` per host and no automatic retries
    (retrying is the outbox's job, with backoff and idempotency keys)."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _short(text: str, secrets: list[str]) -> str:
    text = mask(" ".join(str(text).split()), secrets)
    if len(text) > MAX_ERROR_LEN:
        text = text[: MAX_ERROR_LEN - 3] + "..."
    return text


def _exception_class(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timeout"
    if isinstance(exc, requests.ConnectionError):
        # A timeout while reading the body surfaces as ConnectionError(ReadTimeoutError).
        if any(isinstance(arg, ReadTimeoutError) for arg in exc.args):
            return "timeout"
        return "network"
    if isinstance(
        exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
    ):
        return "network"
    # InvalidURL, MissingSchema, InvalidHeader...: our configuration is wrong.
    return "adapter_error"


def _is_json(body: bytes) -> bool:
    try:
        jsonlib.loads(body)
    except ValueError:
        return False
    return True


def send(session: requests.Session, req: HttpRequest, expect_json: bool = False) -> HttpResult:
    """Perform ``req`` and return its classified result. Never raises for network errors,
    timeouts or HTTP errors.

    With ``expect_json``, a 2xx answer whose body is not JSON (204 No Content excepted) is
    reported as ``invalid_response``.
    """
    headers = {str(k): str(v) for k, v in (req.headers or {}).items()}
    if req.idempotency_key:
        headers["Idempotency-Key"] = req.idempotency_key
    secrets = secrets_of(req)
    kwargs: dict = {
        "headers": headers,
        "timeout": (req.connect_timeout, req.read_timeout),
        "allow_redirects": False,
    }
    if req.body is not None:
        kwargs["data"] = req.body
    elif req.json is not None:
        kwargs["json"] = req.json
    started = time.monotonic()
    try:
        resp = session.request(req.method.upper(), req.url, **kwargs)
        body = resp.content or b""
    except requests.RequestException as exc:
        return HttpResult(
            status=None,
            headers={},
            body=b"",
            elapsed_ms=int((time.monotonic() - started) * 1000),
            error_class=_exception_class(exc),
            error=_short(f"{type(exc).__name__}: {exc}", secrets),
            retry_after=None,
        )
    elapsed_ms = int((time.monotonic() - started) * 1000)
    status = resp.status_code
    error_class, _retryable = classify(status, None)
    error = ""
    if error_class is not None:
        error = _short(f"HTTP {status} {resp.reason or ''}".strip(), secrets)
    elif expect_json and 200 <= status < 300 and status != 204 and not _is_json(body):
        error_class = "invalid_response"
        error = f"HTTP {status}: body is not JSON"
    return HttpResult(
        status=status,
        headers=dict(resp.headers),
        body=body,
        elapsed_ms=elapsed_ms,
        error_class=error_class,
        error=error,
        retry_after=resp.headers.get("Retry-After"),
    )
