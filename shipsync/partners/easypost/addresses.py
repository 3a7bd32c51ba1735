"""EasyPost address verification (recorded traffic: cassettes
``test_address_create_verify``, ``test_address_create_verify_strict``,
``test_address_verify_invalid_address``).

* ``POST /v2/addresses`` with ``{"address": {...}, "verify": true}`` (201): the Address
  EasyPost made, with ``verifications.delivery`` = ``{"success", "errors": [{"code",
  "field", "message", "suggestion"}], "details"}``. A deliverable address comes back
  standardised (capitals, ZIP+4, the apartment folded into ``street1``): a suggestion.
* ``"verify_strict": true`` instead: an undeliverable address is refused with ``422``
  ``{"error": {"code": "ADDRESS.VERIFY.FAILURE", "errors": [...]}}`` (the recorded
  failure of ``GET /v2/addresses/{id}/verify``).
"""

from __future__ import annotations

from typing import Any

from shipsync.adapters.base import TransientError, classify_result, result_json
from shipsync.address import Address, AddressCheck, corrected_fields

#: The fields a suggestion carries over to the partner (names and contact data stay).
POSTAL_FIELDS = ("street", "street2", "city", "zip", "state_code", "country_code")


def build_verify_body(addr: Address, strict: bool = False) -> dict[str, Any]:
    from .outbound import build_address  # the one Address -> EasyPost address mapping

    return {"address": build_address(addr), ("verify_strict" if strict else "verify"): True}


def _reasons(errors) -> tuple[str, ...]:
    return tuple(
        f"{e.get('message') or e.get('code') or '?'}"
        + (f" ({e['field']})" if e.get("field") and e.get("field") != "address" else "")
        for e in errors or () if isinstance(e, dict))


def suggestion_of(original: Address, answer: dict) -> Address:
    """EasyPost's standardised postal fields over the original (name, phone and email
    stay ours: EasyPost redacts them in its answers)."""
    data = original.to_dict()
    data.update(street=answer.get("street1") or "", street2=answer.get("street2") or "",
                city=answer.get("city") or "", zip=answer.get("zip") or "",
                state_code=answer.get("state") or "", country_code=answer.get("country") or "")
    return Address(**{k: str(v or "") for k, v in data.items()})


def parse_verification(original: Address, answer: dict) -> AddressCheck:
    delivery = (answer.get("verifications") or {}).get("delivery")
    ref = answer.get("id") or ""
    if not isinstance(delivery, dict):
        return AddressCheck("invalid", reasons=("EasyPost returned no delivery verification",),
                            partner_ref=ref)
    if not delivery.get("success"):
        return AddressCheck("invalid", reasons=_reasons(delivery.get("errors"))
                            or ("Address not deliverable",), partner_ref=ref)
    suggestion = suggestion_of(original, answer)
    if any(f in POSTAL_FIELDS for f in corrected_fields(original, suggestion)):
        return AddressCheck("corrected", suggestion=suggestion, partner_ref=ref)
    return AddressCheck("valid", partner_ref=ref)


def verify_address(adapter, addr: Address, strict: bool = False) -> AddressCheck:
    """Verify ``addr`` through ``adapter`` (an ``EasyPostAdapter``); a strict refusal
    (``422 ADDRESS.VERIFY.FAILURE``) is an ``invalid`` verdict with EasyPost's reasons,
    any other error is raised as usual."""
    request = adapter.request("POST", "/v2/addresses", json=build_verify_body(addr, strict))
    result = adapter.call(request, "easypost verify address", tolerate=(422,))
    answer = result_json(result)
    if result.status == 422:
        error = (answer or {}).get("error") if isinstance(answer, dict) else None
        if not isinstance(error, dict) or error.get("code") != "ADDRESS.VERIFY.FAILURE":
            raise classify_result(result, "easypost verify address", adapter.partner_error,
                                  adapter.secrets())
        return AddressCheck("invalid", reasons=_reasons(error.get("errors"))
                            or (str(error.get("message") or "Unable to verify address."),))
    if not isinstance(answer, dict):
        raise TransientError("easypost verify address: response is not JSON",
                             code="bad_response", http_status=result.status)
    return parse_verification(addr, answer)
