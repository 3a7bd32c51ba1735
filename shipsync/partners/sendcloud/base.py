"""What the two Sendcloud adapters share (v2 Parcels API, ``outbound.py``; v3 Shipments
and Parcel Tracking APIs, ``shipments_v3.py``): authentication, the secrets masked in
errors, the authenticated label download and the reading of Sendcloud's error answers.

* Auth: HTTP Basic, public key as user and secret key as password (securityScheme
  ``HTTPBasicAuth`` of the v2 and v3 documents). ``api_key`` is ``"public:secret"``, or
  the public key with the secret as option ``api_secret``.
* Errors: the envelopes of the two versions do not overlap, so one reader serves both
  (see :func:`parse_error`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from shipsync.adapters.base import CarrierAdapter, HttpRequest, basic_auth


def _v3_errors(errors: list) -> tuple[str | None, str]:
    codes, parts = [], []
    for err in errors:
        if not isinstance(err, dict):
            continue
        if err.get("code"):
            codes.append(str(err["code"]))
        pointer = (err.get("source") or {}).get("pointer") or ""
        text = str(err.get("detail") or err.get("title") or "")
        parts.append(f"{pointer}: {text}" if pointer else text)
    return (codes[0] if codes else None), "; ".join(p for p in parts if p)


def _v2_failed_parcels(failed: list) -> tuple[str, str]:
    msgs = []
    for item in failed:
        for fld, problems in (item.get("errors") or {}).items():
            if isinstance(problems, list):
                problems = ", ".join(map(str, problems))
            msgs.append(f"{fld}: {problems}")
    return "failed_parcels", "; ".join(msgs)


def parse_error(data: Any) -> tuple[str | None, str]:
    """``(partner code, message)`` of a Sendcloud error answer, v2 or v3.

    * v3 (Shipments document, schema ``errors`` and its examples):
      ``{"errors": [{"status", "code", "detail", "source": {"pointer"}}]}``, or the bare
      array the schema describes;
    * v2 (parcels document, ``CreateParcelError`` and the 404 answers):
      ``{"error": {"code", "message", "request"}}``; a create's
      ``failed_parcels[].errors``; a cancel's ``{"status", "message"}``;
    * v3 Parcel Tracking: ``{"detail": "..."}`` (404) and ``HTTPValidationError`` (422,
      ``detail[]`` with ``loc`` / ``msg``).
    """
    if isinstance(data, list):  # the v3 schema ``errors`` itself (a bare array)
        data = {"errors": data}
    if not isinstance(data, dict):
        return None, str(data)[:300]
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        return _v3_errors(errors)
    err = data.get("error")
    if isinstance(err, dict):
        return (str(err["code"]) if err.get("code") is not None else None,
                str(err.get("message") or ""))
    if isinstance(err, str):
        return None, err
    if data.get("failed_parcels"):
        return _v2_failed_parcels(data["failed_parcels"])
    if "status" in data and "message" in data:
        return str(data["status"]), str(data["message"])
    detail = data.get("detail")
    if isinstance(detail, str):
        return None, detail
    if isinstance(detail, list):
        msgs = [f"{'.'.join(map(str, d.get('loc') or []))}: {d.get('msg') or ''}"
                for d in detail if isinstance(d, dict)]
        return "validation_error", "; ".join(msgs)
    return None, str(data)[:300]


class SendcloudBase(CarrierAdapter):
    """Auth, secrets, label download and error reading of both Sendcloud adapters."""

    code = "sendcloud"
    DEFAULT_BASE_URL = "https://panel.sendcloud.sc"

    def __init__(self, base_url: str = DEFAULT_BASE_URL, api_key: str = "", **kw: Any):
        super().__init__(base_url or self.DEFAULT_BASE_URL, api_key, **kw)
        public, _, secret = api_key.partition(":")
        self.public_key = public
        self.secret_key = self.options.get("api_secret") or secret

    def secrets(self) -> list[str]:
        return super().secrets() + [self.public_key, self.secret_key]

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": basic_auth(self.public_key, self.secret_key)}

    def partner_error(self, data: Any) -> tuple[str | None, str]:
        return parse_error(data)

    def build_label_download(self, url: str) -> HttpRequest:
        """A label link: authenticated on the Sendcloud host only (never sends the keys
        to another host)."""
        same_host = urlsplit(url).netloc == urlsplit(self.base_url).netloc
        return self.request("GET", url, auth=same_host, headers={"Accept": "application/pdf"})


__all__ = ["SendcloudBase", "parse_error"]
