"""EasyPost customs: the ``customs_info`` of an international shipment and the customs
forms EasyPost returns with it.

Request shape: the recorded ``POST /v2/shipments`` bodies (cassettes
``test_shipment_create`` / ``test_shipment_buy``, and ``POST /v2/customs_infos`` in
``test_customs_info_create``): ``customs_info`` = ``eel_pfc``, ``customs_certify``,
``customs_signer``, ``contents_type``, ``contents_explanation``, ``restriction_type``,
``non_delivery_option``, ``customs_items[]`` = ``description``, ``quantity``, ``weight``,
``value``, ``hs_tariff_number``, ``origin_country`` (``currency`` and ``code`` are
attributes of the recorded ``CustomsItem`` answers). Units: EasyPost's CustomsItem
reference (docs.easypost.com/docs/customs-items): ``value`` is the line's total value
(unit value x quantity), ``weight`` the line's total weight in ounces.

Forms: the recorded answers carry ``forms: []``; a ``Form`` (``form_type``,
``form_url``) is EasyPost's documented object (docs.easypost.com/docs/shipments/forms:
``commercial_invoice``, ``cn22``... "returned with Shipment objects depending on the
carrier and data passed").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shipsync.adapters.base import Customs, Document, Parcel, ParcelItem, ShipmentRequest
from shipsync.customs import customs_of, require_customs

#: EasyPost's threshold-free exemption for exports under USD 2,500 (the recorded
#: ``eel_pfc``; CustomsInfo reference: "If value is less than $2500: NOEEI 30.37(a)").
NOEEI = "NOEEI 30.37(a)"
#: Our contents types EasyPost knows (CustomsInfo ``contents_type``).
CONTENTS_TYPES = {"merchandise", "documents", "gift", "sample", "returned_goods", "other"}
#: Customs documents worth attaching (Form ``form_type``).
CUSTOMS_FORMS = ("commercial_invoice", "cn22", "high_value_report",
                 "nafta_certificate_of_origin")


def build_customs_item(item: ParcelItem, currency: str) -> dict[str, Any]:
    from .outbound import kg_to_oz  # the one kg -> oz rule (rounded, minimum 0.1)

    quantity = max(1, int(item.quantity))
    data: dict[str, Any] = {
        "description": (item.description or item.sku or "item")[:255],
        "quantity": quantity,
        "weight": float(kg_to_oz(Decimal(item.weight_kg) * quantity))
        if item.weight_kg else None,
        "value": float((Decimal(item.value or 0) * quantity).quantize(Decimal("0.01"))),
        "hs_tariff_number": item.hs_code,
        "origin_country": item.origin_country,
        "currency": item.currency or currency,
        "code": item.sku,
    }
    return {k: v for k, v in data.items() if v not in (None, "")}


def build_customs_info(req: ShipmentRequest, parcel: Parcel) -> dict[str, Any] | None:
    """``customs_info`` of one parcel's shipment, or None for a domestic booking. An
    international line without HS code or origin country is refused before any call."""
    customs: Customs | None = customs_of(req)
    if customs is None:
        return None
    require_customs(req)
    contents = customs.contents_type if customs.contents_type in CONTENTS_TYPES else "other"
    return {
        "eel_pfc": NOEEI,
        "customs_certify": bool(customs.signer),
        "customs_signer": customs.signer,
        "contents_type": contents,
        "contents_explanation": customs.contents_explanation
        or ("" if contents != "other" else customs.contents_type),
        "restriction_type": "none",
        "non_delivery_option": "abandon" if customs.non_delivery_option == "abandon"
        else "return",
        "customs_items": [build_customs_item(i, req.currency) for i in parcel.items],
    }


def parse_forms(shipment: dict) -> list[tuple[str, str]]:
    """``(form_type, form_url)`` of the customs forms of a shipment answer."""
    out = []
    for form in shipment.get("forms") or []:
        if isinstance(form, dict) and form.get("form_url") \
                and form.get("form_type") in CUSTOMS_FORMS:
            out.append((form["form_type"], form["form_url"]))
    return out


def download_forms(adapter, shipment: dict, result) -> list[Document]:
    """The customs forms of a bought shipment, downloaded like its label (a public file
    URL: no Authorization header on another host)."""
    tracking = result.tracking_numbers[0] if result.tracking_numbers else ""
    out = []
    for form_type, url in parse_forms(shipment):
        body = adapter.call(adapter.build_label_download(url), "easypost form download").body
        ext = url.rsplit(".", 1)[-1].lower() if "." in url.rsplit("/", 1)[-1] else "pdf"
        mime = {"pdf": "application/pdf", "png": "image/png"}.get(ext, "application/pdf")
        out.append(Document(kind=form_type, content=body, mime_type=mime,
                            file_name=f"{form_type}-easypost-{tracking or result.shipment_id}"
                                      f".{ext}", tracking_number=tracking))
    return out
