"""EasyPost sandbox: addresses (verification) and customs, in EasyPost's recorded shapes.

    POST /v2/addresses                       create; ``verify`` / ``verify_strict`` (201)
    POST /v2/addresses/create_and_verify     the SDK's ``create_and_verify`` (``{"address"}``)
    GET  /v2/addresses/{id}                  one address
    GET  /v2/addresses/{id}/verify           ``{"address"}`` or 422 ADDRESS.VERIFY.FAILURE
    POST /v2/customs_infos                   a CustomsInfo (its items get ``cstitem_`` ids)
    POST /v2/customs_items                   a CustomsItem

Verification rules of the sandbox (deterministic): a ``street1`` without a digit fails
with ``E.HOUSE_NUMBER.MISSING`` and ``E.ADDRESS.NOT_FOUND``; a house number of zeros (the
recorded "000 unknown street"), a ZIP ``00000`` or the ``bad_address`` knob with
``E.ADDRESS.NOT_FOUND`` (the recorded codes); a deliverable
address comes back standardised as recorded (capitals, ``street2`` folded into
``street1``), so an address with a ``street2`` gets a suggestion.
"""

from __future__ import annotations

from shipsync.sandbox.slices import iso

ADDRESS_KEYS = ("name", "company", "street1", "street2", "city", "state", "zip", "country",
                "phone", "email")
CUSTOMS_INFO_KEYS = ("contents_explanation", "contents_type", "customs_certify",
                     "customs_signer", "eel_pfc", "non_delivery_option", "restriction_comments",
                     "restriction_type")
ITEM_KEYS = ("description", "hs_tariff_number", "origin_country", "quantity", "value", "weight",
             "code", "manufacturer", "currency", "eccn", "printed_commodity_identifier")
NOT_FOUND = {"code": "E.ADDRESS.NOT_FOUND", "field": "address", "message": "Address not found",
             "suggestion": None}
NO_HOUSE_NUMBER = {"code": "E.HOUSE_NUMBER.MISSING", "field": "street1",
                   "message": "House number is missing", "suggestion": None}


def _stamps(sb) -> dict:
    return {"created_at": iso(sb.clock), "updated_at": iso(sb.clock)}


def _error(code, message, errors=None):
    return {"error": {"code": code, "message": message, "errors": errors or []}}


def verification_errors(sb, addr: dict) -> list[dict]:
    street = str(addr.get("street1") or "")
    no_house_number = not any(ch.isdigit() for ch in street)
    number = street.split(" ", 1)[0]
    zero_number = number.isdigit() and not number.strip("0")  # "000 unknown street"
    errors = [dict(NOT_FOUND)] if sb._bad_address(addr) or no_house_number or zero_number \
        else []
    return errors + ([dict(NO_HOUSE_NUMBER)] if no_house_number else [])


def _verified(sb, record: dict) -> dict:
    """``record`` verified: standardised when deliverable, ``verifications`` set."""
    errors = verification_errors(sb, record)
    if not errors:
        street = " ".join(str(record.get(k) or "") for k in ("street1", "street2")).strip()
        record.update({k: (str(record[k]).upper() if record.get(k) else record.get(k))
                       for k in ("name", "company", "city", "state")})
        record.update(street1=street.upper(), street2="", residential=True)
    details = {} if errors else {"latitude": 37.0, "longitude": -122.0,
                                 "time_zone": "America/Los_Angeles"}
    result = {"success": not errors, "errors": errors, "details": details}
    record["verifications"] = {"zip4": dict(result, details=None), "delivery": result}
    return record


def create_address(sb, data: dict, verify_route: bool = False):
    given = data.get("address")
    if not isinstance(given, dict) or not given:
        return 422, _error("PARAMETER.REQUIRED", "Missing required parameter.",
                           [{"field": "address", "message": "cannot be blank"}])
    record = {"id": sb._next("adr"), "object": "Address", "mode": sb.knobs["easypost_mode"],
              **_stamps(sb),
              **{k: given.get(k) for k in ADDRESS_KEYS}, "residential": None,
              "carrier_facility": None, "federal_tax_id": None, "state_tax_id": None,
              "verifications": {}}
    record["country"] = record["country"] or "US"
    strict = bool(data.get("verify_strict"))
    if strict or data.get("verify") or verify_route:
        _verified(sb, record)
        if strict and not record["verifications"]["delivery"]["success"]:
            return 422, _error("ADDRESS.VERIFY.FAILURE", "Unable to verify address.",
                               record["verifications"]["delivery"]["errors"])
    sb.ep_addresses[record["id"]] = record
    return 201 if not verify_route else 200, ({"address": record} if verify_route else record)


def verify_existing(sb, address_id: str):
    record = sb.ep_addresses.get(address_id)
    if record is None:
        return 404, _error("NOT_FOUND", "The requested resource could not be found.")
    errors = verification_errors(sb, record)
    if errors:
        return 422, _error("ADDRESS.VERIFY.FAILURE", "Unable to verify address.", errors)
    return 200, {"address": _verified(sb, record)}


def customs_item(sb, given: dict) -> dict:
    item = {"id": sb._next("cstitem"), "object": "CustomsItem", **_stamps(sb),
            "mode": sb.knobs["easypost_mode"], **{k: given.get(k) for k in ITEM_KEYS}}
    if item["value"] is not None:
        item["value"] = str(item["value"])  # recorded: "value": "23.25"
    if item["weight"] is not None:
        item["weight"] = float(item["weight"])
    return item


def customs_info(sb, given: dict) -> dict:
    return {"id": sb._next("cstinfo"), "object": "CustomsInfo", **_stamps(sb),
            "mode": sb.knobs["easypost_mode"], "declaration": None,
            **{k: given.get(k) for k in CUSTOMS_INFO_KEYS},
            "customs_items": [customs_item(sb, i) for i in given.get("customs_items") or []
                              if isinstance(i, dict)]}


def customs_problems(given) -> list[dict]:
    """What EasyPost's CustomsInfo/CustomsItem references require ("Required" /
    "Must be greater than zero"): items with description, quantity, value, weight."""
    if not isinstance(given, dict):
        return [{"field": "customs_info", "message": "must be an object"}]
    problems = []
    for pos, item in enumerate(given.get("customs_items") or []):
        for key in ("description", "quantity", "value", "weight"):
            value = item.get(key) if isinstance(item, dict) else None
            if value in (None, "") or (key != "description" and _number(value) <= 0):
                problems.append({"field": f"customs_info.customs_items[{pos}].{key}",
                                 "message": "is required and must be greater than zero"
                                 if key != "description" else "cannot be blank"})
    return problems


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def commercial_invoice(sb, shipment: dict) -> dict:
    """The Form EasyPost generates for a shipment with customs information
    (docs.easypost.com: Commercial Invoice guide, Form object)."""
    form_id = sb._next("form")
    return {"object": "Form", "id": form_id, "mode": sb.knobs["easypost_mode"], **_stamps(sb),
            "form_type": "commercial_invoice", "submitted_electronically": False,
            "form_url": f"{sb.url}/labels/{form_id}.pdf"}


def route(sb, method: str, parts: list[str], data: dict):
    """``(status, payload)`` for the routes above, or None."""
    if parts[:1] == ["addresses"]:
        if method == "POST" and len(parts) == 1:
            return create_address(sb, data)
        if method == "POST" and parts[1:] == ["create_and_verify"]:
            return create_address(sb, data, verify_route=True)
        if method == "GET" and len(parts) == 2 and parts[1] in sb.ep_addresses:
            return 200, sb.ep_addresses[parts[1]]
        if method == "GET" and len(parts) == 3 and parts[2] == "verify":
            return verify_existing(sb, parts[1])
    if method == "POST" and parts == ["customs_infos"]:
        given = data.get("customs_info")
        problems = customs_problems(given)
        if problems or not given:
            return 422, _error("PARAMETER.REQUIRED", "Missing required parameter.",
                               problems or [{"field": "customs_info",
                                             "message": "cannot be blank"}])
        return 201, customs_info(sb, given)
    if method == "POST" and parts == ["customs_items"]:
        given = data.get("customs_item")
        problems = customs_problems({"customs_items": [given]}) if isinstance(given, dict) \
            else [{"field": "customs_item", "message": "cannot be blank"}]
        if problems:
            return 422, _error("PARAMETER.REQUIRED", "Missing required parameter.", problems)
        return 201, customs_item(sb, given)
    return None
