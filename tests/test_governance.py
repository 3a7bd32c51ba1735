"""shipsync.governance / retention: shadow comparison, audit CSV, retention policy."""

import csv
import io
from datetime import datetime, timedelta

import pytest

from shipsync import governance as gov
from shipsync import milestones as ms
from shipsync import retention

T0 = datetime(2026, 11, 2, 8, 0)


def ev(key, milestone, minutes):
    return ms.MilestoneEvent(key=key, occurred_at=T0 + timedelta(minutes=minutes),
                             milestone=milestone, partner="shadow")


def test_shadow_agreement_when_it_would_set_the_current_milestone():
    result = gov.compare_shadow([ev("a", "picked_up", 0), ev("b", "in_transit", 5)],
                                "in_transit", ["label_created", "picked_up", "in_transit"])
    assert result.verdict == gov.AGREEMENT and result.would_set == "in_transit"
    assert result.agreements == ("picked_up", "in_transit")
    assert result.missing_in_shadow == ("label_created",)


def test_shadow_disagreement_and_its_own_milestones():
    result = gov.compare_shadow([ev("a", "delivered", 0)], "out_for_delivery",
                                ["out_for_delivery"])
    assert result.verdict == gov.DISAGREEMENT
    assert result.only_in_shadow == ("delivered",)


def test_shadow_missing_on_either_side():
    assert gov.compare_shadow([], "in_transit", ["in_transit"]).verdict == gov.MISSING
    assert gov.compare_shadow([ev("a", "picked", 0)], "draft", []).verdict == gov.MISSING


def test_shadow_stale_events_do_not_count():
    result = gov.compare_shadow([ev("a", "in_transit", 10), ev("b", "picked_up", 0)],
                                "in_transit", ["in_transit"])
    assert result.shadow_milestones == ("picked_up", "in_transit")
    late = gov.compare_shadow([ev("a", "in_transit", 0), ev("b", "picked_up", 5)],
                              "in_transit", ["in_transit"])
    assert late.shadow_milestones == ("in_transit",)


def test_audit_csv_has_timing_and_masked_text():
    text = gov.audit_csv([
        {"direction": "inbound", "id": 1, "state": "applied", "received_at": T0,
         "finished_at": T0 + timedelta(seconds=2), "error": None},
        {"direction": "outbound", "id": 2, "state": "dead", "first_attempt_at": T0,
         "finished_at": T0 + timedelta(seconds=90), "error": "422: email ada@example.com bad"},
    ])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["direction"] for r in rows] == ["inbound", "outbound"]
    assert rows[0]["duration_s"] == "2.000" and rows[1]["duration_s"] == "90.000"
    assert "ada@" not in rows[1]["error"]


def test_retention_partner_overrides_company_which_overrides_suite():
    policy = retention.effective({"inbound_body": 7}, {"inbound_body": 60, "attempt_excerpt": 3})
    assert (policy.inbound_body, policy.outbound_payload, policy.attempt_excerpt) == (7, 30, 3)
    now = T0
    assert policy.cutoff("inbound_body", now) == now - timedelta(days=7)
    assert retention.within(now - timedelta(days=6), policy, "inbound_body", now)
    assert not retention.within(now - timedelta(days=8), policy, "inbound_body", now)
    with pytest.raises(ValueError):
        retention.RetentionPolicy(inbound_body=-1)


def test_drilldown_links_are_kept_a_whole_number_of_days_after_last_opened():
    now = datetime(2026, 12, 3, 12, 0)
    assert retention.drilldown_link_cutoff(now) == now - timedelta(
        days=retention.DRILLDOWN_LINK_DAYS)
    assert retention.drilldown_link_cutoff(now, 7) == datetime(2026, 11, 26, 12, 0)
    for bad in (0, -1, 1.5, "7"):
        with pytest.raises(ValueError):
            retention.drilldown_link_cutoff(now, bad)
