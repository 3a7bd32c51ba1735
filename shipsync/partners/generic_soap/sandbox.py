"""The generic SOAP carrier's slice of the carrier sandbox: ``GET /soap?wsdl`` serves
``carrier.wsdl`` and ``POST /soap`` answers its four document/literal operations
(CreateShipment, GetLabel,
Track, Cancel) with SOAP 1.1 envelopes; errors are SOAP faults (``soap:Client`` for
bad input such as an unknown address, HTTP 500 as SOAP 1.1 requires).

Stdlib only (``xml.etree``); the state lives in the composed ``CarrierSandbox``.
"""

from __future__ import annotations

import base64
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import escape

from shipsync.sandbox.slices import CarrierSlice

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "urn:shipsync:carrier:1"
WSDL_PATH = Path(__file__).with_name("carrier.wsdl")
#: Track codes of the SOAP carrier along each scenario (after ``MANIFESTED``).
SOAP_SCENARIOS = {
    "delivered": ["ACCEPTED", "IN_TRANSIT", "OUT_FOR_DELIVERY", "DELIVERED"],
    "attempt": ["ACCEPTED", "OUT_FOR_DELIVERY", "ATTEMPT_FAILED", "OUT_FOR_DELIVERY",
                "DELIVERED"],
    "exception": ["ACCEPTED", "DELAYED", "IN_TRANSIT", "DELIVERED"],
    "return": ["ACCEPTED", "RETURNING", "RETURNED"],
    "lost": ["ACCEPTED", "LOST"],
}


def wsdl(service_url: str) -> bytes:
    return WSDL_PATH.read_text().replace("__SERVICE_URL__", escape(service_url)).encode()


def envelope(body_xml: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}">'
            f"<soap:Body>{body_xml}</soap:Body></soap:Envelope>").encode()


def fault(code: str, message: str, detail: str = "") -> bytes:
    det = f"<detail><errorCode>{escape(detail)}</errorCode></detail>" if detail else ""
    return envelope(f"<soap:Fault><faultcode>soap:{code}</faultcode>"
                    f"<faultstring>{escape(message)}</faultstring>{det}</soap:Fault>")


def _text(node, name: str, default: str = "") -> str:
    found = node.find(f"{{{NS}}}{name}") if node is not None else None
    return (found.text or "").strip() if found is not None and found.text else default


def handle(sandbox, body: bytes) -> tuple[int, bytes]:
    """Answer one SOAP request (called under the sandbox lock)."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        return 500, fault("Client", f"not XML: {exc}", "XML.INVALID")
    soap_body = root.find(f"{{{SOAP_ENV}}}Body")
    request = soap_body[0] if soap_body is not None and len(soap_body) else None
    if request is None:
        return 500, fault("Client", "empty SOAP body", "SOAP.EMPTY")
    operation = request.tag.split("}")[-1]
    if not _text(request, "apiKey"):
        return 500, fault("Client", "apiKey is required", "AUTH.MISSING")
    handler = {"CreateShipment": _create, "GetLabel": _label, "Track": _track,
               "Cancel": _cancel}.get(operation)
    if handler is None:
        return 500, fault("Client", f"unknown operation {operation}", "OPERATION.UNKNOWN")
    return handler(sandbox, request)


def _create(sandbox, req) -> tuple[int, bytes]:
    key = _text(req, "idempotencyKey")
    if key and ("soap", key) in sandbox.idempotent:
        return sandbox.idempotent[("soap", key)]
    receiver = req.find(f"{{{NS}}}receiver")
    if _text(receiver, "zip") == "00000" or sandbox.knobs["bad_address"]:
        return 500, fault("Client", "Receiver address cannot be verified", "ADDRESS.INVALID")
    parcels = req.findall(f"{{{NS}}}parcel")
    if not parcels:
        return 500, fault("Client", "at least one parcel is required", "PARCEL.MISSING")
    weights = []
    for parcel in parcels:
        try:
            weights.append(float(_text(parcel, "weightKg", "0")))
        except ValueError:
            return 500, fault("Client", "weightKg is not a number", "PARCEL.WEIGHT")
    if any(w <= 0 for w in weights):
        return 500, fault("Client", "weightKg must be > 0", "PARCEL.WEIGHT")
    sid = f"SOAP-{uuid.uuid4().hex[:10].upper()}"
    codes = []
    for _w in weights:
        code = f"SP{len(sandbox.trackers) + 1:08d}{uuid.uuid4().hex[:4].upper()}"
        when = sandbox._tick()
        sandbox.trackers[code] = {"_kind": "soap", "shipment_id": sid, "_step": 0,
                                  "_reference": _text(req, "reference"),
                                  "_history": [("MANIFESTED", when, "Shipment data received")],
                                  "_cancelled": False}
        codes.append(code)
    price = sum(4.5 + 0.8 * w for w in weights)
    sandbox.soap_shipments[sid] = codes
    numbers = "".join(f"<tns:trackingNumber>{c}</tns:trackingNumber>" for c in codes)
    answer = (200, envelope(
        f'<tns:CreateShipmentResponse xmlns:tns="{NS}"><tns:shipmentId>{sid}</tns:shipmentId>'
        f"{numbers}<tns:price>{price:.2f}</tns:price><tns:currency>EUR</tns:currency>"
        f"</tns:CreateShipmentResponse>"))
    if key:
        sandbox.idempotent[("soap", key)] = answer
    return answer


def _label(sandbox, req) -> tuple[int, bytes]:
    from shipsync.sandbox.labels import render_pdf_label, render_zpl_label

    code = _text(req, "trackingNumber")
    if code not in sandbox.trackers:
        return 500, fault("Client", "unknown tracking number", "TRACKING.UNKNOWN")
    fmt = _text(req, "format", "PDF").upper()
    lines = [f"Tracking: {code}", f"Ref: {sandbox.trackers[code].get('_reference', '')}"]
    content, mime = (render_zpl_label(code, lines), "application/zpl") if fmt == "ZPL" \
        else (render_pdf_label(code, lines), "application/pdf")
    return 200, envelope(
        f'<tns:GetLabelResponse xmlns:tns="{NS}"><tns:label>'
        f"{base64.b64encode(content).decode()}</tns:label><tns:mimeType>{mime}</tns:mimeType>"
        f"</tns:GetLabelResponse>")


def _track(sandbox, req) -> tuple[int, bytes]:
    code = _text(req, "trackingNumber")
    tracker = sandbox.trackers.get(code)
    if not tracker or tracker.get("_kind") != "soap":
        return 500, fault("Client", "unknown tracking number", "TRACKING.UNKNOWN")
    events = "".join(
        f"<tns:event><tns:code>{c}</tns:code><tns:time>{when.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        f"</tns:time><tns:message>{escape(msg)}</tns:message>"
        f"<tns:location>SANDBOX HUB</tns:location></tns:event>"
        for c, when, msg in tracker["_history"])
    return 200, envelope(f'<tns:TrackResponse xmlns:tns="{NS}"><tns:trackingNumber>{code}'
                         f"</tns:trackingNumber>{events}</tns:TrackResponse>")


def _cancel(sandbox, req) -> tuple[int, bytes]:
    sid = _text(req, "shipmentId")
    codes = sandbox.soap_shipments.get(sid)
    if not codes:
        return 500, fault("Client", "unknown shipment", "SHIPMENT.UNKNOWN")
    if any(sandbox.trackers[c]["_step"] > 0 for c in codes):
        status, message = "REFUSED", "already in the carrier network"
    else:
        status, message = "CANCELLED", "shipment voided"
        for c in codes:
            sandbox.trackers[c]["_history"].append(("CANCELLED", sandbox._tick(), message))
    return 200, envelope(f'<tns:CancelResponse xmlns:tns="{NS}"><tns:status>{status}'
                         f"</tns:status><tns:message>{message}</tns:message></tns:CancelResponse>")


def advance(sandbox, tracker: dict, scenario: str, steps: int | None) -> None:
    todo = SOAP_SCENARIOS[scenario][tracker["_step"]:]
    for code in todo[: steps if steps is not None else None]:
        tracker["_history"].append((code, sandbox._tick(), code.replace("_", " ").lower()))
        tracker["_step"] += 1


class SoapSlice(CarrierSlice):
    code = "generic_soap"
    KIND = "soap"
    PREFIXES = ("/soap",)

    @classmethod
    def owns(cls, path: str) -> bool:
        return path == "/soap"

    def reset_state(self) -> None:
        self.soap_shipments: dict[str, list[str]] = {}

    def serve(self, method, path, query, body, raw_headers):
        if method == "GET":
            return 200, wsdl(f"{self.url}/soap"), "text/xml; charset=utf-8", {}
        with self._lock:
            status, payload = handle(self, body)
        if self.knobs["malformed"] and status == 200:
            return status, b"<html>upstream proxy error</html>", "text/html", {}
        return status, payload, "text/xml; charset=utf-8", {}

    def step_shipment(self, tracker: dict, scenario: str, steps: int | None) -> list:
        advance(self, tracker, scenario, steps)  # a polled carrier: no webhooks
        return []

    def is_moving(self, tracker: dict) -> bool:
        return False  # polled, never moved by ``advance_all``
