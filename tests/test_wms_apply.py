"""shipsync.wms.apply: release payloads, confirmation plans / mismatches, stock diff."""

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from shipsync.schemas import PayloadError
from shipsync.wms import json_format
from shipsync.wms.apply import (
    ApplyPlan,
    Mismatch,
    MoveValues,
    PickingValues,
    StockQuantity,
    WmsEvent,
    build_release,
    parse_webhook_events,
    plan_confirmation,
    reconcile,
)
from shipsync.wms.messages import Confirmation, ConfirmedLine, ConfirmedPackage

T = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)


def picking(state="assigned", **kw):
    moves = kw.pop("moves", (
        MoveValues(11, "DESK", Decimal(5), "EA", "400100", "none"),
        MoveValues(12, "LAMP", Decimal(2), "EA", "", "lot", ("L1",)),
    ))
    return PickingValues(
        name="WH/OUT/0001", state=state, moves=moves, correlation_id="corr-1",
        known_lots={"LAMP": frozenset({"L1", "L2"})},
        known_products=frozenset({"DESK", "LAMP", "CHAIR"}), **kw)


def ship(*lines, packages=(), order_ref="WH/OUT/0001"):
    return Confirmation(
        message_id="m1", kind="ship_confirmed", order_ref=order_ref, correlation_id="corr-1",
        occurred_at=T, lines=tuple(lines), packages=tuple(packages))


def test_release_payload_carries_lines_codes_lots_and_address():
    order = build_release(picking(), revision=2, action="update", warehouse_code="WH",
                          ship_to={"name": "Ada", "city": "Lyon", "country_code": "FR"},
                          carrier="UPS", service="express", requested_date=date(2026, 11, 3))
    data = order.to_dict()
    assert data["order_ref"] == "WH/OUT/0001" and data["revision"] == 2
    assert data["correlation_id"] == "corr-1" and data["action"] == "update"
    assert data["ship_to"]["city"] == "Lyon" and data["carrier"] == "UPS"
    assert data["requested_date"] == "2026-11-03"
    assert [(x["line_ref"], x["product_code"], x["barcode"], x["quantity"], x["lots"])
            for x in data["lines"]] == [("11", "DESK", "400100", "5", []),
                                        ("12", "LAMP", "", "2", ["L1"])]
    json_format.validate("wms-release-v1", {"schema": "wms-release-v1", "orders": [data]})


def test_cancel_release_has_no_lines():
    assert build_release(picking(), revision=3, action="cancel").lines == ()


def test_full_confirmation_plans_every_move_with_lots_and_packages():
    plan = plan_confirmation(ship(
        ConfirmedLine("11", "DESK", Decimal(3), package_ref="P1"),
        ConfirmedLine("11", "DESK", Decimal(2), package_ref="P2"),
        ConfirmedLine("12", "LAMP", Decimal(2), lots=(("L2", Decimal(2)),), package_ref="P2"),
        packages=(ConfirmedPackage("P1", "1Z1", "UPS"), ConfirmedPackage("P2", "1Z2", "UPS")),
    ), picking())
    assert isinstance(plan, ApplyPlan)
    assert not plan.partial
    desk, lamp = plan.moves
    assert desk.done == 5 and [(a.quantity, a.package_ref) for a in desk.allocations] == [
        (3, "P1"), (2, "P2")]
    assert lamp.allocations[0].lot == "L2"  # a substitute lot that exists is accepted
    assert plan.tracking_ref == "1Z1,1Z2" and plan.carrier == "UPS"


def test_partial_confirmation_is_flagged_partial():
    plan = plan_confirmation(ship(ConfirmedLine("", "DESK", Decimal(3))), picking(
        moves=(MoveValues(11, "DESK", Decimal(5)),)))
    assert plan.partial and plan.moves[0].done == 3


def test_undeclared_package_is_created_without_tracking():
    plan = plan_confirmation(ship(ConfirmedLine("", "DESK", Decimal(5), package_ref="BOX")),
                             picking(moves=(MoveValues(11, "DESK", Decimal(5)),)))
    assert [(p.package_ref, p.tracking_number) for p in plan.packages] == [("BOX", "")]


@pytest.mark.parametrize("line, reason", [
    (ConfirmedLine("", "GHOST", Decimal(1)), "line 1 (GHOST): unknown product 'GHOST'"),
    (ConfirmedLine("", "CHAIR", Decimal(1)),
     "line 1 (CHAIR): product 'CHAIR' is not on transfer WH/OUT/0001"),
    (ConfirmedLine("12", "LAMP", Decimal(1), lots=(("NOPE", Decimal(1)),)),
     "line 1 (LAMP): lot 'NOPE' does not exist for product 'LAMP'"),
    (ConfirmedLine("12", "LAMP", Decimal(1)),
     "line 1 (LAMP): product 'LAMP' is tracked by lots but no lot was confirmed"),
    (ConfirmedLine("11", "DESK", Decimal(6)),
     "product 'DESK': 6 confirmed, more than the 5 ordered (tolerance 0%)"),
    (ConfirmedLine("12", "LAMP", Decimal(2), lots=(("L1", Decimal(1)),)),
     "line 1 (LAMP): lot quantities add up to 1, not 2"),
    (ConfirmedLine("11", "LAMP", Decimal(1), lots=(("L1", Decimal(1)),)),
     "line 1 (LAMP): line_ref 11 is a move of 'DESK', not 'LAMP'"),
])
def test_each_mismatch_kind_is_reported_exactly(line, reason):
    result = plan_confirmation(ship(line), picking())
    assert isinstance(result, Mismatch)
    assert result.reasons == (reason,)


def test_picking_already_done_is_a_mismatch():
    result = plan_confirmation(ship(ConfirmedLine("11", "DESK", Decimal(5))), picking("done"))
    assert result.reasons == ("transfer WH/OUT/0001 is already done",)


def test_every_problem_is_listed_not_only_the_first():
    result = plan_confirmation(ship(ConfirmedLine("", "GHOST", Decimal(1)),
                                    ConfirmedLine("", "DESK", Decimal(9))), picking("done"))
    assert len(result.reasons) == 3


def test_tolerance_allows_a_little_more_than_ordered():
    moves = (MoveValues(11, "DESK", Decimal(100)),)
    ok = plan_confirmation(ship(ConfirmedLine("", "DESK", Decimal(102))), picking(moves=moves),
                           tolerance_percent=2)
    assert isinstance(ok, ApplyPlan) and ok.moves[0].done == 102
    too_much = plan_confirmation(ship(ConfirmedLine("", "DESK", Decimal("102.5"))),
                                 picking(moves=moves), tolerance_percent=2)
    assert isinstance(too_much, Mismatch)


def test_product_quantity_spreads_over_its_moves_in_order():
    moves = (MoveValues(1, "DESK", Decimal(2)), MoveValues(2, "DESK", Decimal(3)))
    plan = plan_confirmation(ship(ConfirmedLine("", "DESK", Decimal(4))), picking(moves=moves))
    assert [m.done for m in plan.moves] == [2, 2]


def test_serial_numbers_count_one_each():
    moves = (MoveValues(1, "PHONE", Decimal(2), tracking="serial"),)
    values = PickingValues("WH/OUT/0001", "assigned", moves, "corr-1",
                           {"PHONE": frozenset({"S1", "S2"})}, frozenset({"PHONE"}))
    bad = plan_confirmation(ship(ConfirmedLine("", "PHONE", Decimal(2),
                                               lots=(("S1", Decimal(2)),))), values)
    assert bad.reasons == ("line 1 (PHONE): serial number 'S1' with quantity 2",)
    good = plan_confirmation(ship(ConfirmedLine("", "PHONE", Decimal(2), lots=(
        ("S1", Decimal(1)), ("S2", Decimal(1))))), values)
    assert [a.lot for a in good.moves[0].allocations] == ["S1", "S2"]


def test_reconcile_reports_matches_differences_with_value_and_unknown_items():
    report = reconcile(
        [StockQuantity("DESK", "", Decimal(10), "A-01"), StockQuantity("LAMP", "L1", Decimal(4)),
         StockQuantity("LAMP", "L1", Decimal(1), "B-02"), StockQuantity("GHOST", "", Decimal(1))],
        [StockQuantity("DESK", "", Decimal(10)), StockQuantity("LAMP", "L1", Decimal(3)),
         StockQuantity("CHAIR", "", Decimal(2))],
        unit_costs={"LAMP": Decimal("12.5"), "CHAIR": Decimal(40)},
        known_products={"DESK", "LAMP", "CHAIR"},
    )
    by = {(x.product_code, x.lot): x for x in report.lines}
    assert by[("DESK", "")].status == "match"
    assert by[("LAMP", "L1")].difference == 2 and by[("LAMP", "L1")].value == 25
    assert by[("CHAIR", "")].difference == -2 and by[("CHAIR", "")].value == -80
    assert by[("GHOST", "")].status == "unknown" and by[("GHOST", "")].value == 0
    assert report.difference_value == -55


def test_webhook_events_keep_the_confirmation_payload_and_map_the_milestone():
    conf = ship(ConfirmedLine("11", "DESK", Decimal(5)))
    events = parse_webhook_events(json_format.write_webhook(conf))
    assert len(events) == 1 and isinstance(events[0], WmsEvent)
    event = events[0]
    assert event.milestone == "handed_over" and event.code == "ship_confirmed"
    assert event.external_id == "wms:m1" and event.picking_ref == "WH/OUT/0001"
    assert Confirmation.from_dict(event.payload) == conf


@pytest.mark.parametrize("kind, milestone", [
    ("pick_confirmed", "picked"), ("pack_confirmed", "packed"),
    ("return_received", "returned"), ("release_ack", "released"), ("cancel_refused", None)])
def test_kinds_map_onto_milestones(kind, milestone):
    body = json.dumps({"message_id": "x", "kind": kind, "order_ref": "R",
                       "occurred_at": "2026-11-02T08:00:00Z"}).encode()
    assert parse_webhook_events(body)[0].milestone == milestone


@pytest.mark.parametrize("body", [b"not json", b'{"kind": "ship_confirmed"}'])
def test_bad_webhook_body_is_a_payload_error(body):
    with pytest.raises(PayloadError):
        parse_webhook_events(body)


def test_a_line_in_another_unit_than_ordered_is_refused_never_applied():
    dozens = picking(moves=(MoveValues(11, "DESK", Decimal(1), "DZ"),),
                     known_units=frozenset({"EA", "DZ"}))
    plan = plan_confirmation(ship(ConfirmedLine("11", "DESK", Decimal(1), uom="EA")), dozens)
    assert isinstance(plan, Mismatch)
    assert str(plan) == "line 1 (DESK): 1 EA confirmed, but the transfer orders 'DESK' in DZ"
    same = plan_confirmation(ship(ConfirmedLine("11", "DESK", Decimal(1), uom="DZ")), dozens)
    assert isinstance(same, ApplyPlan) and same.moves[0].done == 1


def test_a_unit_odoo_does_not_know_is_refused_with_its_code():
    known = picking(known_units=frozenset({"EA"}))
    plan = plan_confirmation(ship(ConfirmedLine("11", "DESK", Decimal(5), uom="CA")), known)
    assert isinstance(plan, Mismatch)
    assert "unit of measure 'CA' is not mapped to a unit in Odoo" in str(plan)
    # No unit stated (CSV / JSON): the unit of the order line, as before.
    assert isinstance(plan_confirmation(ship(ConfirmedLine("11", "DESK", Decimal(5))), known),
                      ApplyPlan)
