"""Sendcloud address validation: ``POST /api/v3/addresses/validate`` (Shipments API
v3.0.0 document, operation ``sc-public-v3-scp-post-validate_address``; the v2 documents
have no such operation).

Request (``address-washer-request``): ``address`` (``raw-address``: ``address_line_1``,
``house_number``, ``address_line_2``, ``postal_code``, ``city``, ``state_province_code``,
``country_code``) and the required ``carrier_code``. Answer (``address-washer-response``):
``input_address_is_valid`` and ``results[]`` = ``address``, ``recommended``,
``analysis.validation_result`` (``is_valid``, ``reasons[]`` such as
``ADDRESS_NOT_VALID``) and ``analysis.changed_attributes``.

Verdict: a valid input with no recommended change is ``valid``; a valid input with a
recommended, changed result is ``corrected``; an invalid input is ``invalid`` with the
reasons, and carries the recommended valid result, if any, as its suggestion.
"""

from __future__ import annotations

from typing import Any

from shipsync.adapters.base import InvalidInput
from shipsync.address import Address, AddressCheck

PATH = "/api/v3/addresses/validate"
#: The reasons' titles in the document (``oneOf`` ``const`` -> ``title``), in words.
REASONS = {
    "ADDRESS_TOO_LONG": "The address line exceeds the maximum length.",
    "HOUSE_NUMBER_TOO_LONG": "The house number exceeds the maximum length.",
    "HOUSE_NUMBER_TOO_SHORT": "The house number is too short.",
    "ADDRESS_NOT_VALID": "The address does not exist.",
    "COUNTRY_CODE_MISSING": "The country code is missing.",
    "POSTAL_CODE_MISSING": "The postal code is missing.",
    "STATE_MISSING": "The state is missing.",
    "PROVINCE_MISSING": "The province is missing.",
}


def carrier_code(service: str) -> str:
    """The carrier of a v3 shipping option code (``postnl:standard`` -> ``postnl``)."""
    code = (service or "").split(":", 1)[0].strip()
    if not code or code.isdigit():
        raise InvalidInput("Sendcloud address validation needs the carrier: set a shipping "
                           "option code as service (e.g. postnl:standard)",
                           code="missing_service")
    return code


def build_validate_body(addr: Address, carrier: str) -> dict[str, Any]:
    raw = {"address_line_1": addr.street, "address_line_2": addr.street2,
           "postal_code": addr.zip, "city": addr.city,
           "state_province_code": addr.state_code, "country_code": addr.country_code}
    return {"address": {k: v for k, v in raw.items() if v}, "carrier_code": carrier}


def _address(original: Address, raw: dict) -> Address:
    street = " ".join(p for p in (raw.get("address_line_1"), raw.get("house_number")) if p)
    data = original.to_dict()
    data.update(street=street, street2=raw.get("address_line_2") or "",
                zip=raw.get("postal_code") or "", city=raw.get("city") or "",
                state_code=raw.get("state_province_code") or "",
                country_code=raw.get("country_code") or original.country_code)
    return Address(**{k: str(v or "") for k, v in data.items()})


def parse_validation(original: Address, data: Any) -> AddressCheck:
    data = data if isinstance(data, dict) else {}
    results = [r for r in data.get("results") or [] if isinstance(r, dict)]

    def valid(result):
        return bool(((result.get("analysis") or {}).get("validation_result") or {})
                    .get("is_valid"))

    recommended = next((r for r in results if r.get("recommended") and valid(r)), None)
    changed = bool(recommended and (recommended.get("analysis") or {}).get(
        "changed_attributes"))
    suggestion = _address(original, recommended.get("address") or {}) if recommended else None
    if data.get("input_address_is_valid"):
        return AddressCheck("corrected", suggestion=suggestion) if changed \
            else AddressCheck("valid")
    reasons = []
    for result in results:
        for reason in ((result.get("analysis") or {}).get("validation_result") or {}).get(
                "reasons") or ():
            text = REASONS.get(reason, str(reason))
            if text not in reasons:
                reasons.append(text)
    return AddressCheck("invalid", suggestion=suggestion if changed else None,
                        reasons=tuple(reasons) or ("Sendcloud found the address invalid.",))


def verify_address(adapter, addr: Address) -> AddressCheck:
    body = build_validate_body(addr, carrier_code(adapter.options.get("service") or ""))
    answer = adapter.call_json(adapter.request("POST", PATH, json=body),
                               "sendcloud validate address")
    return parse_validation(addr, answer)
