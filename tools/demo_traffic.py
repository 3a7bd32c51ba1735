"""Post a little realistic partner traffic to a running demo Odoo, over real
signed HTTP, so the demo shows milestones, timelines and exceptions:
the demo 3PL releases / picks / packs, EasyPost reports tracking (with a
duplicate, an out-of-order delivery and an address exception).

Usage: python3 tools/demo_traffic.py [--url http://localhost:8069] [--db shipsync_demo]"""

import argparse
import json
import sys
import uuid
from datetime import datetime, timedelta, timezone

import odoo_env as oe
import psycopg2
import requests

sys.path.insert(0, str(oe.REPO))
from shipsync.signatures import StandardWebhooks, make_verifier  # noqa: E402

WMS_SECRET = "whsec_ZGVtby0zcGwtc2VjcmV0LWtleS0xMjM0NTY="
EASYPOST_SECRET = "demo-easypost-secret"
#: Carriers of the monitor's demo lane history (shipsync.eta.synthetic_history).
LANE_CARRIERS = ("Lane Express", "Lane Parcel")


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def post(url, code, body, headers):
    headers = dict(headers, **{"Content-Type": "application/json"})
    resp = requests.post(f"{url}/shipment_sync/webhook/{code}", data=body, headers=headers,
                         timeout=30)
    return resp.status_code, resp.json().get("code")


def wms_events(url, picking, start, steps):
    events = [{"id": f"3pl-{picking}-{m}", "occurred_at": iso(start + timedelta(hours=h)),
               "milestone": m, "picking_ref": picking} for m, h in steps]
    body = json.dumps({"schema_version": "1", "events": events}).encode()
    return post(url, "demo-3pl", body, StandardWebhooks([WMS_SECRET]).headers(
        uuid.uuid4().hex, body))


def easypost_tracker(url, tracking, details, status, eta=None):
    payload = {
        "id": f"evt_{uuid.uuid4().hex[:16]}", "object": "Event",
        "description": "tracker.updated", "mode": "test",
        "result": {
            "id": f"trk_{tracking}", "object": "Tracker", "mode": "test",
            "tracking_code": tracking, "status": status, "carrier": "USPS",
            "est_delivery_date": iso(eta) if eta else None,
            "tracking_details": [
                {"object": "TrackingDetail", "message": msg, "status": st,
                 "status_detail": sd, "datetime": iso(when), "source": "USPS",
                 "tracking_location": {"object": "TrackingLocation", "city": city,
                                       "state": None, "country": "US", "zip": None}}
                for st, sd, when, msg, city in details],
        },
    }
    body = json.dumps(payload).encode()
    return post(url, "easypost", body, make_verifier("easypost", [EASYPOST_SECRET]).headers(body))


def tracking_page(url, db, picking_id):
    """The public tracking page of a transfer, as the backend button opens it."""
    resp = requests.post(f"{url}/jsonrpc", timeout=30, json={
        "jsonrpc": "2.0", "method": "call", "params": {
            "service": "object", "method": "execute_kw",
            "args": [db, 2, "admin", "stock.picking", "action_shipment_open_tracking_page",
                     [[picking_id]]]}})
    answer = resp.json()
    error = (answer.get("error") or {}).get("message")
    return (answer.get("result") or {}).get("url") or f"(not available: {error})"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://localhost:8069")
    parser.add_argument("--db", default="shipsync_demo")
    args = parser.parse_args()
    conn = psycopg2.connect(host=oe.DB_HOST, user=oe.DB_USER, password=oe.DB_PASSWORD,
                            dbname=args.db)
    cur = conn.cursor()
    cur.execute("SELECT p.id, p.name FROM stock_picking p JOIN stock_picking_type t "
                "ON t.id = p.picking_type_id WHERE t.code = 'outgoing' "
                "AND p.state NOT IN ('cancel') ORDER BY p.id LIMIT 6")
    pickings = cur.fetchall()
    # The portal demo customer's delivery (login portal / portal) takes the
    # third slot: out for delivery, so its tracking page has a journey.
    cur.execute("SELECT p.id, p.name FROM stock_picking p JOIN stock_picking_type t "
                "ON t.id = p.picking_type_id JOIN ir_model_data d ON d.model = 'res.partner' "
                "AND d.module = 'base' AND d.name = 'partner_demo_portal' "
                "AND d.res_id = p.partner_id WHERE t.code = 'outgoing' AND p.state != 'cancel' "
                "ORDER BY p.id LIMIT 1")
    portal = cur.fetchone()
    if portal:
        pickings = [p for p in pickings if p[0] != portal[0]]
        pickings.insert(2, portal)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    start = now - timedelta(days=2)
    results = []
    for index, (picking_id, name) in enumerate(pickings):
        steps = [("released", 0), ("picked", 2), ("packed", 3)]
        # Out of order on purpose: the last steps first, then the first ones.
        results.append((name, wms_events(args.url, name, start, steps[1:])))
        results.append((name, wms_events(args.url, name, start, steps[:1])))
        if index >= 4:
            continue
        tracking = f"EZ{4000000000 + picking_id}"
        cur.execute("UPDATE stock_picking SET carrier_tracking_ref = %s WHERE id = %s "
                    "AND carrier_tracking_ref IS NULL", [tracking, picking_id])
        # A carrier with lane history (the monitor's demo), so the ETA shows.
        cur.execute("UPDATE stock_picking SET carrier_id = (SELECT id FROM delivery_carrier "
                    "WHERE name->>'en_US' = %s ORDER BY id LIMIT 1) WHERE id = %s "
                    "AND carrier_id IS NULL", [LANE_CARRIERS[index % 2], picking_id])
        conn.commit()
        history = [("pre_transit", "label_created", start + timedelta(hours=4), "Label created",
                    "Reno"),
                   ("in_transit", "arrived_at_facility", start + timedelta(hours=9),
                    "Arrived at USPS facility", "Sparks")]
        if index == 1:
            history.append(("in_transit", "address_correction", start + timedelta(hours=20),
                            "Address correction needed", "Denver"))
        if index in (0, 2):
            history.append(("out_for_delivery", "out_for_delivery",
                            start + timedelta(hours=30), "Out for delivery", "Chicago"))
        if index == 0:
            history.append(("delivered", "arrived_at_destination", start + timedelta(hours=34),
                            "Delivered, front door", "Chicago"))
        status = history[-1][0]
        # The carrier's own estimate, shown beside ours on the tracking page.
        eta = None if status == "delivered" else now + timedelta(days=1, hours=index)
        results.append((name, easypost_tracker(args.url, tracking, history, status, eta)))
        # A duplicate delivery of the same webhook content.
        results.append((name, easypost_tracker(args.url, tracking, history, status, eta)))
    conn.close()
    for name, (status, code) in results:
        print(f"{name:20} {status} {code}")
    if portal:
        url = tracking_page(args.url, args.db, portal[0])
        print(f"==> customer view of {portal[1]}: public tracking page {url} ; "
              f"portal {args.url}/my/shipments (login portal / password portal)")
    return 0 if all(status < 300 for _n, (status, _c) in results) else 1


if __name__ == "__main__":
    sys.exit(main())
