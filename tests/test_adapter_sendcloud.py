"""Sendcloud adapter: parcel payloads, label download, cancel answers, webhook and errors."""

import base64
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from adapter_fakes import FakeHttp, fixture, result

from shipsync.adapters import (
    Address,
    CarrierError,
    InvalidInput,
    Parcel,
    ShipmentRequest,
    TransientError,
)
from shipsync.milestones import EXCEPTION_REASON_CODES, RANK
from shipsync.partners.sendcloud import outbound as sc
from shipsync.partners.sendcloud.outbound import SendcloudAdapter

PUBLIC, SECRET = "pk_live_public_1234", "sk_live_secret_98765"
#: ``GET /parcels`` with no match: the v2 document's 404 (the 200 list has minItems 1)
NO_PARCEL = result(404, {"error": {"code": 404, "request": "api/v2/parcels",
                                   "message": "Invalid cursor"}})


def lookup_route(key: str, index: int = 0) -> tuple[str, str]:
    """The FakeHttp route of the look-up of a booking's parcel ``index``."""
    return ("GET", "?external_reference=" + sc.parcel_reference(key, index))





def make_request(**kw):
    base = dict(
        reference="WH/OUT/00042",
        correlation_id="corr-42",
        ship_from=Address(
            name="Warehouse",
            street="Keizersgracht 1",
            city="Amsterdam",
            zip="1015 CJ",
            country_code="NL",
        ),
        ship_to=Address(
            name="John Doe",
            company="Sendcloud",
            street="Stadhuisplein 10",
            city="Eindhoven",
            zip="5611 EM",
            country_code="NL",
            phone="+31612345678",
            email="john@doe.com",
        ),
        parcels=(Parcel(Decimal("2"), Decimal("30"), Decimal("20"), Decimal("10"), "PK1"),),
        service="8",
    )
    base.update(kw)
    return ShipmentRequest(**base)


def adapter(http, **kw):
    kw.setdefault("api_version", "v2")  # these tests hold the v2 Parcels API
    return SendcloudAdapter("https://panel.sendcloud.sc", f"{PUBLIC}:{SECRET}", http=http, **kw)


def test_parcel_payload_uses_sendcloud_fields():
    body = sc.build_parcels_body(make_request(declared_value=Decimal("49.9")), 8)
    parcel = body["parcel"]
    assert parcel["name"] == "John Doe" and parcel["company_name"] == "Sendcloud"
    assert parcel["address"] == "Stadhuisplein 10"
    assert parcel["postal_code"] == "5611 EM" and parcel["city"] == "Eindhoven"
    assert parcel["country"] == "NL"
    assert parcel["weight"] == "2.000"
    assert parcel["order_number"] == "WH/OUT/00042"
    assert parcel["request_label"] is True
    assert parcel["shipment"] == {"id": 8}
    assert parcel["length"] == "30.0"
    assert parcel["total_order_value"] == "49.90"
    assert parcel["is_return"] is False and "from_name" not in parcel


def test_multi_parcel_uses_parcels_list():
    req = make_request(parcels=(Parcel(Decimal("1")), Parcel(Decimal("2.5"))))
    body = sc.build_parcels_body(req, 8)
    assert [p["weight"] for p in body["parcels"]] == ["1.000", "2.500"]
    assert [p["order_number"] for p in body["parcels"]] == ["WH/OUT/00042-1", "WH/OUT/00042-2"]


def test_return_parcel_goes_from_the_customer_to_the_warehouse():
    """PAR2 ``from_*``: "the sender (when creating a return parcel)" = the customer; the
    recipient fields hold the warehouse (it used to be the other way round)."""
    parcel = sc.build_parcels_body(make_request(), 8, is_return=True)["parcel"]
    assert parcel["is_return"] is True
    assert parcel["from_name"] == "John Doe" and parcel["from_address_1"] == "Stadhuisplein 10"
    assert parcel["from_postal_code"] == "5611 EM" and parcel["from_country"] == "NL"
    assert parcel["name"] == "Warehouse" and parcel["address"] == "Keizersgracht 1"
    assert parcel["postal_code"] == "1015 CJ"


def test_non_numeric_shipping_method_is_invalid_input():
    with pytest.raises(InvalidInput):
        sc.shipping_method_id(make_request(service="postnl:standard"))
    assert sc.shipping_method_id(make_request(service=""), default=8) == 8


def test_parse_created_parcel_and_label_url():
    parcels = sc.parse_parcels(fixture("sendcloud_parcel_created.json"))
    res = sc.parse_parcel_result(parcels)
    assert res.shipment_id == "189522673"
    assert res.tracking_numbers == ("3SYZXG132912330",)
    assert res.raw_status == "1000"
    assert sc.label_url(parcels[0]).endswith("/parcels/189522673/documents/label")
    no_docs = dict(parcels[0], documents=[])
    assert sc.label_url(no_docs).endswith("/labels/label_printer/189522673")


def test_create_shipment_end_to_end_with_basic_auth():
    http = FakeHttp(
        {
            ("POST", "/api/v2/parcels"): result(200, fixture("sendcloud_parcel_created.json")),
            ("GET", "/documents/label"): result(200, body=b"%PDF-1.4"),
            lookup_route("idem-1"): NO_PARCEL,
        }
    )
    res = adapter(http).create_shipment(make_request(), "idem-1")
    assert res.labels[0].content == b"%PDF-1.4"
    assert res.labels[0].tracking_number == "3SYZXG132912330"
    assert res.tracking_url.startswith("https://tracking.")
    token = base64.b64encode(f"{PUBLIC}:{SECRET}".encode()).decode()
    lookup, create, download = http.requests
    assert lookup.url.endswith("?external_reference=" + sc.parcel_reference("idem-1", 0))
    assert create.headers["Authorization"] == f"Basic {token}"
    assert "Idempotency-Key" not in create.headers  # Sendcloud documents none
    assert create.json["parcel"]["request_label"] is True
    assert create.json["parcel"]["external_reference"] == sc.parcel_reference("idem-1", 0)
    # label URL is on the Sendcloud host: authenticated download
    assert download.headers["Authorization"] == f"Basic {token}"


def test_api_secret_option_is_used():
    a = SendcloudAdapter("https://panel.sendcloud.sc", PUBLIC, api_secret=SECRET, http=print,
                         api_version="v2")
    token = base64.b64encode(f"{PUBLIC}:{SECRET}".encode()).decode()
    assert a.auth_headers()["Authorization"] == f"Basic {token}"


@pytest.mark.parametrize(
    "status,name,accepted,raw",
    [
        (200, "sendcloud_cancel_cancelled.json", True, "cancelled"),
        (202, "sendcloud_cancel_queued.json", True, "queued"),
        (400, "sendcloud_cancel_failed.json", False, "failed"),
        (410, "sendcloud_cancel_failed.json", False, "failed"),
    ],
)
def test_cancel_answers(status, name, accepted, raw):
    http = FakeHttp({("POST", "/api/v2/parcels/189522673/cancel"): result(status, fixture(name))})
    res = adapter(http).cancel("189522673", "3SYZXG132912330")
    assert res.accepted is accepted and res.raw_status == raw and res.message


def test_cancel_5xx_is_transient():
    http = FakeHttp({("POST", "/cancel"): result(503, body=b"upstream down")})
    with pytest.raises(TransientError):
        adapter(http).cancel("189522673")


def test_webhook_parcel_status_changed():
    (event,) = sc.parse_webhook(fixture("sendcloud_webhook_parcel_status_changed.json"))
    assert event.code == "11" and event.subcode is None
    assert event.external_id == "189522673:11:1746786605000"
    assert event.occurred_at == datetime(2025, 5, 9, 10, 30, 5, tzinfo=timezone.utc)
    assert event.tracking_number == "3SYZXG132912330"
    assert event.picking_ref == "WH/OUT/00042"
    assert event.message == "Delivered"


def test_webhook_other_actions_and_garbage():
    assert sc.parse_webhook({"action": "integration_updated", "timestamp": 1}) == []
    with pytest.raises(InvalidInput):
        sc.parse_webhook({"parcel": {}})
    with pytest.raises(InvalidInput):
        sc.parse_webhook({"action": "parcel_status_changed", "timestamp": 1, "parcel": {}})


def test_status_map_uses_canonical_vocabulary():
    assert sc.SENDCLOUD_STATUS_MAP[1000][1] == "label_created"
    assert sc.SENDCLOUD_STATUS_MAP[3][1] == "in_transit"
    assert sc.SENDCLOUD_STATUS_MAP[11][1] == "delivered"
    assert sc.SENDCLOUD_STATUS_MAP[12][1] == "available_for_pickup"
    assert sc.SENDCLOUD_STATUS_MAP[2000][1] == "cancelled"
    assert sc.SENDCLOUD_STATUS_MAP[13][2] == "not_collected"
    for status_id, (message, milestone, reason) in sc.SENDCLOUD_STATUS_MAP.items():
        assert message
        assert milestone is None or milestone in RANK, status_id
        assert reason is None or reason in EXCEPTION_REASON_CODES, status_id


def test_track_reads_current_status():
    parcel = fixture("sendcloud_parcel_created.json")["parcel"]
    http = FakeHttp(
        {
            ("GET", "tracking_number=3SYZXG132912330"): result(
                200, {"parcels": [parcel], "next": None}
            )
        }
    )
    (event,) = adapter(http).track(["3SYZXG132912330"])
    assert event.code == "1000"
    assert event.occurred_at == datetime(2025, 5, 9, 12, 30, 5, tzinfo=timezone.utc)


def test_400_error_maps_to_carrier_error_and_masks_both_keys():
    body = fixture("sendcloud_error_400.json")
    body["error"]["message"] += f" {PUBLIC} {SECRET}"
    http = FakeHttp({("POST", "/api/v2/parcels"): result(400, body),
                     lookup_route("idem-2"): NO_PARCEL})
    with pytest.raises(CarrierError) as info:
        adapter(http).create_shipment(make_request(), "idem-2")
    exc = info.value
    assert exc.partner_code == "400" and exc.http_status == 400 and not exc.retryable
    assert "shipping method is not available" in str(exc)
    assert SECRET not in str(exc) and PUBLIC not in str(exc)


def test_failed_parcels_errors():
    code, message = sc.parse_error(
        {"failed_parcels": [{"parcel": {}, "errors": {"postal_code": ["This field is required."]}}]}
    )
    assert code == "failed_parcels" and "postal_code: This field is required." in message


def test_500_is_transient():
    http = FakeHttp({("POST", "/api/v2/parcels"): result(500, body=b"oops"),
                     lookup_route("idem-3"): NO_PARCEL})
    with pytest.raises(TransientError) as info:
        adapter(http).create_shipment(make_request(), "idem-3")
    assert info.value.retryable and info.value.http_status == 500


def test_v2_and_v3_share_auth_secrets_and_error_reading():
    """One Sendcloud base: the same Basic credentials (also from ``api_secret``), the
    same keys masked, and one reader for the v2 and v3 error envelopes."""
    from shipsync.partners.sendcloud.base import SendcloudBase
    from shipsync.partners.sendcloud.shipments_v3 import SendcloudV3Adapter

    v2 = adapter(print)
    v3 = SendcloudAdapter("https://panel.sendcloud.sc", PUBLIC, api_secret=SECRET,
                          http=print).v3
    assert isinstance(v3, SendcloudV3Adapter) and isinstance(v2, SendcloudBase)
    assert v2.auth_headers() == v3.auth_headers()
    assert {PUBLIC, SECRET} <= set(v2.secrets()) and {PUBLIC, SECRET} <= set(v3.secrets())
    v3_error = {"errors": [{"status": "400", "code": "invalid", "detail": f"bad {SECRET}",
                            "source": {"pointer": "/data/parcels"}}]}
    v3.http = FakeHttp({("GET", "/api/v3/shipments?external_reference_id=ref"):
                        result(400, v3_error)})
    with pytest.raises(CarrierError) as info:
        v3.find_shipment("ref")
    assert info.value.partner_code == "invalid" and "/data/parcels: bad" in str(info.value)
    assert SECRET not in str(info.value)
    assert v2.partner_error({"error": {"code": 400, "message": "m"}}) == ("400", "m")
    assert v2.partner_error(v3_error)[0] == v3.partner_error(v3_error)[0] == "invalid"
