"""Pickups and batches (scan forms) of the EasyPost sandbox slice, in the recorded shapes
(cassettes ``test_pickup_create``, ``test_pickup_buy``, ``test_pickup_cancel``,
``test_batch_create_scanform``; see README.md)::

    POST /v2/pickups                   a Pickup (status unknown) with its pickup_rates
    POST /v2/pickups/{id}/buy          {"carrier", "service"} of a rate: scheduled + confirmation
    POST /v2/pickups/{id}/cancel       canceled
    GET  /v2/pickups/{id}              one pickup
    POST /v2/batches                   {"batch": {"shipments": [{"id"} | shipment]}} (creating)
    GET  /v2/batches/{id}              the batch; its scan form is ready on the first read
    POST /v2/batches/{id}/buy          buys the batch's shipments that have no label
    POST /v2/batches/{id}/scan_form    the scan form of a batch whose shipments are bought
    GET  /forms/{scan form id}.pdf     the scan form PDF (its ``form_url``; not an API route)
"""

from __future__ import annotations

from shipsync.sandbox.labels import _minimal_pdf
from shipsync.sandbox.slices import JSON, iso

#: The pickup rate every recording shows (USPS NextDay, 0.00 USD).
PICKUP_RATES = (("USPS", "NextDay", "0.00"),)


def _error(code, message, field=None):
    errors = [{"field": field, "message": "cannot be blank"}] if field else []
    return {"error": {"code": code, "message": message, "errors": errors}}


def _required(field):
    return 422, _error("PARAMETER.REQUIRED", "Missing required parameter.", field)


NOT_FOUND = (404, _error("NOT_FOUND", "The requested resource could not be found."))


def route(ep, method, parts, data):
    """``parts``: the path after ``/v2``. None when the route is not one of these."""
    if not hasattr(ep, "pickups"):
        ep.pickups, ep.batches, ep.scan_forms = {}, {}, {}
    if parts[:1] == ["pickups"]:
        if method == "POST" and len(parts) == 1:
            return _pickup_create(ep, data.get("pickup") or {})
        pickup = ep.pickups.get(parts[1]) if len(parts) > 1 else None
        if pickup is None:
            return NOT_FOUND
        if method == "GET" and len(parts) == 2:
            return 200, pickup
        if method == "POST" and parts[2:] == ["buy"]:
            return _pickup_buy(ep, pickup, data)
        if method == "POST" and parts[2:] == ["cancel"]:
            pickup.update(status="canceled", updated_at=iso(ep.clock))
            return 200, pickup
        return NOT_FOUND
    if parts[:1] == ["batches"]:
        if method == "POST" and len(parts) == 1:
            return _batch_create(ep, data.get("batch") or {})
        batch = ep.batches.get(parts[1]) if len(parts) > 1 else None
        if batch is None:
            return NOT_FOUND
        if method == "GET" and len(parts) == 2:
            return 200, _batch_view(ep, batch, read=True)
        if method == "POST" and parts[2:] == ["buy"]:
            for sid in batch["_ids"]:
                shipment = ep.shipments[sid]
                if not shipment["tracking_code"]:
                    cheapest = min(shipment["rates"], key=lambda r: float(r["rate"]))
                    ep._ep_buy(sid, {"rate": {"id": cheapest["id"]}})
            batch["state"] = "created"
            return 200, _batch_view(ep, batch)
        if method == "POST" and parts[2:] == ["scan_form"]:
            return _scan_form(ep, batch)
        return NOT_FOUND
    return None


def _pickup_create(ep, pickup):
    if not pickup:
        return _required("pickup")
    for field in ("address", "min_datetime", "max_datetime"):
        if not pickup.get(field):
            return _required(f"pickup.{field}")
    sid = (pickup.get("shipment") or {}).get("id")
    if not sid and not pickup.get("batch"):
        return _required("pickup.shipment")
    if sid and sid not in ep.shipments:
        return 404, _error("SHIPMENT.NOT_FOUND", "shipment not found")
    pid = ep._next("pickup")
    now = iso(ep.clock)
    record = {
        "id": pid, "object": "Pickup", "created_at": now, "updated_at": now,
        "mode": ep.knobs["easypost_mode"], "status": "unknown",
        "reference": pickup.get("reference"),
        "min_datetime": f"{str(pickup['min_datetime'])[:10]}T00:00:00Z",
        "max_datetime": f"{str(pickup['max_datetime'])[:10]}T00:00:00Z",
        "is_account_address": bool(pickup.get("is_account_address")),
        "instructions": pickup.get("instructions"), "messages": [], "confirmation": None,
        "address": dict(pickup["address"], object="Address"), "carrier_accounts": [],
        "pickup_rates": [
            {"mode": ep.knobs["easypost_mode"], "service": service, "rate": rate,
             "currency": "USD", "created_at": now, "updated_at": now, "carrier": carrier,
             "pickup_id": pid, "id": ep._next("pickuprate"), "object": "PickupRate"}
            for carrier, service, rate in PICKUP_RATES],
    }
    ep.pickups[pid] = record
    return 200, record


def _pickup_buy(ep, pickup, data):
    if pickup["status"] == "canceled":
        return 422, _error("PICKUP.CANCELED", "This pickup was canceled.")
    carrier, service = data.get("carrier"), data.get("service")
    if not carrier or not service:
        return _required("carrier" if not carrier else "service")
    rate = next((r for r in pickup["pickup_rates"]
                 if r["carrier"] == carrier and r["service"] == service), None)
    if rate is None:
        return 422, _error("PICKUP.RATE.INVALID", "no pickup rate for this carrier and service")
    if pickup["status"] != "scheduled":
        pickup.update(status="scheduled", confirmation=f"WTC{next(ep._ids):08d}",
                      updated_at=iso(ep.clock))
    return 200, pickup


def _batch_create(ep, batch):
    shipments = batch.get("shipments")
    if not isinstance(shipments, list) or not shipments:
        return _required("batch.shipments")
    ids = []
    for item in shipments:
        if not isinstance(item, dict):
            return 422, _error("PARAMETER.INVALID", "a shipment must be an object")
        if item.get("id"):
            if item["id"] not in ep.shipments:
                return 404, _error("SHIPMENT.NOT_FOUND", "shipment not found")
            ids.append(item["id"])
            continue
        status, created = ep._ep_create(item)
        if status >= 400:
            return status, created
        ids.append(created["id"])
    bid = ep._next("batch")
    now = iso(ep.clock)
    ep.batches[bid] = {"id": bid, "object": "Batch", "mode": ep.knobs["easypost_mode"],
                       "state": "creating", "num_shipments": len(ids),
                       "reference": batch.get("reference"), "created_at": now,
                       "updated_at": now, "scan_form": None, "pickup": None,
                       "label_url": None, "_ids": ids}
    view = _batch_view(ep, ep.batches[bid])
    view["shipments"] = []  # recorded: the creating batch lists none yet
    return 200, view


def _batch_view(ep, batch, read=False):
    if read and batch["state"] == "creating":
        batch["state"] = "created"
    form = batch.get("scan_form")
    if read and form and form["status"] == "creating":
        form.update(status="created", form_url=f"{ep.url}/forms/{form['id']}.pdf",
                    form_file_type="application/pdf", updated_at=iso(ep.clock))
    shipments = [ep.shipments[sid] for sid in batch["_ids"]]
    bought = sum(1 for s in shipments if s["tracking_code"])
    return dict(batch, shipments=[
        {"batch_status": "postage_purchased" if s["tracking_code"] else "created",
         "batch_message": None, "reference": s.get("reference"),
         "tracking_code": s["tracking_code"], "id": s["id"]} for s in shipments],
        status={"created": len(shipments) - bought, "queued_for_purchase": 0,
                "creation_failed": 0, "postage_purchased": bought,
                "postage_purchase_failed": 0})


def _scan_form(ep, batch):
    shipments = [ep.shipments[sid] for sid in batch["_ids"]]
    if not all(s["tracking_code"] for s in shipments):
        return 422, _error("BATCH.SCAN_FORM.INVALID",
                           "every shipment of the batch must be purchased")
    if not batch.get("scan_form"):
        now = iso(ep.clock)
        form = {"id": ep._next("sf"), "object": "ScanForm", "created_at": now,
                "updated_at": now, "tracking_codes": [s["tracking_code"] for s in shipments],
                "address": shipments[0].get("from_address") or None, "status": "creating",
                "message": None, "form_url": None, "form_file_type": None,
                "batch_id": batch["id"], "confirmation": None}
        batch["scan_form"] = form
        ep.scan_forms[form["id"]] = form
    batch["state"] = "purchased"
    view = _batch_view(ep, batch)
    view["scan_form"] = dict(batch["scan_form"], tracking_codes=[])  # as recorded
    return 200, view


def form_pdf(ep, path):
    """``GET /forms/{id}.pdf``: a one-page PDF naming the form and its tracking codes."""
    sid = path.rsplit("/", 1)[-1].removesuffix(".pdf")
    form = getattr(ep, "scan_forms", {}).get(sid)
    if not form or not form.get("form_url"):
        return 404, {"error": {"code": "NOT_FOUND", "message": "no such form"}}, JSON, {}
    text = f"SCAN FORM {sid} - {len(form['tracking_codes'])} parcels: " + " ".join(
        form["tracking_codes"])
    return 200, _minimal_pdf(text[:400]), "application/pdf", {}
