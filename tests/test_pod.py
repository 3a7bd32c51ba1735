"""Proof of delivery: read from EasyPost Trackers, customer-safe values (pure)."""

from __future__ import annotations

from shipsync import monitor, pod
from shipsync.partners.easypost.inbound import EasyPostNormalizer


def tracker(signed_by=None, evidence=None, status="delivered"):
    return {
        "id": "trk_1", "object": "Tracker", "tracking_code": "EZ1", "status": status,
        "signed_by": signed_by, "delivery_evidence": evidence or [],
        "tracking_details": [
            {"status": "in_transit", "status_detail": "arrived_at_facility",
             "datetime": "2026-12-01T10:00:00Z",
             "tracking_location": {"city": "OAKLAND", "state": "CA", "zip": "94607"}},
            {"status": status, "status_detail": "arrived_at_destination",
             "datetime": "2026-12-02T10:00:00Z",
             "tracking_location": {"city": "LOS ANGELES", "state": "CA", "country": "US",
                                   "zip": "90001"}},
        ],
    }


def test_the_delivered_scan_carries_who_signed_the_urls_and_where():
    events = EasyPostNormalizer().normalize_tracker(tracker(
        "JANE DOE", ["https://files.example/pod.jpg", {"url": "https://files.example/sig.png"},
                     "not a url", {"kind": "photo"}]))
    first, delivered = events
    assert not isinstance(first, pod.PodEvent)
    assert isinstance(delivered, pod.PodEvent)
    assert delivered.pod == pod.ProofOfDelivery(
        signed_by="JANE DOE",
        urls=("https://files.example/pod.jpg", "https://files.example/sig.png"),
        city="LOS ANGELES", location="LOS ANGELES, CA, US")
    # the same scan id as without a proof: a scan polled before and after dedupes
    plain = EasyPostNormalizer().normalize_tracker(tracker())
    assert plain[1].external_id == delivered.external_id
    assert not isinstance(plain[1], pod.PodEvent)


def test_no_proof_without_signer_or_urls_and_none_before_delivery():
    assert not any(isinstance(e, pod.PodEvent)
                   for e in EasyPostNormalizer().normalize_tracker(tracker(None, [])))
    moving = EasyPostNormalizer().normalize_tracker(tracker("JANE DOE", status="in_transit"))
    assert not any(isinstance(e, pod.PodEvent) for e in moving)


def test_the_customer_sees_the_initial_and_the_city_only():
    assert pod.customer_safe("jane doe", "LOS ANGELES") == {"signed_by": "J.",
                                                           "city": "Los Angeles"}
    assert pod.customer_safe("", "") == {"signed_by": "", "city": ""}
    assert pod.signer_initial("  ") == ""


def test_the_delivered_without_pod_rule_kind_is_a_picking_rule_in_minutes():
    rule = monitor.Rule(kind="delivered_without_pod", threshold=1440)
    assert rule.scope == "picking"
    assert monitor.RULE_KINDS["delivered_without_pod"]["unit"] == "minutes"


# --------------------------------------------------------------------------- cash on delivery
def test_only_the_sendcloud_v2_adapter_sends_a_cod_amount():
    from decimal import Decimal

    from shipsync.adapters import Address, Parcel, ShipmentRequest
    from shipsync.partners.easypost.outbound import EasyPostAdapter
    from shipsync.partners.sendcloud import outbound as sc

    assert sc.SendcloudAdapter("http://x", "k:s", api_version="v2").supports_cod
    assert not sc.SendcloudAdapter("http://x", "k:s", api_version="v3").supports_cod
    assert not EasyPostAdapter("http://x", "k").supports_cod
    addr = Address(name="A", street="S 1", city="C", zip="1000", country_code="NL")
    req = ShipmentRequest(reference="R", correlation_id="", ship_from=addr, ship_to=addr,
                          parcels=(Parcel(Decimal("1")),), declared_value=Decimal("10"),
                          cod_amount=Decimal("42.5"))
    parcel = sc.build_parcel(req, 0, 8)
    assert parcel["total_order_value"] == "42.50"  # the COD amount wins
    # a return label collects nothing
    assert sc.build_parcel(req, 0, 8, is_return=True)["total_order_value"] == "10.00"
    plain = sc.build_parcel(ShipmentRequest(**{**req.__dict__, "cod_amount": None}), 0, 8)
    assert plain["total_order_value"] == "10.00"
