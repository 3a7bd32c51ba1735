from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipsync import milestones as ms
from shipsync import triage

NOW = datetime(2026, 11, 2, 8, 0)


def test_every_exception_reason_has_a_default_rule():
    # every reason a workbench card can have: the canonical ones and the side ones
    assert set(triage.DEFAULT_RULES) == ms.CARD_REASON_CODES
    assert triage.DEFAULT_RULES["freight_variance"].action == "contact_carrier"
    for rule in triage.DEFAULT_RULES.values():
        assert rule.priority in triage.PRIORITY_CODES
        assert rule.action in triage.ACTION_CODES
        assert rule.template is None or rule.template in triage.TEMPLATE_KEYS


@pytest.mark.parametrize(("reason", "priority", "action", "template"), [
    ("address_issue", "high", "contact_customer", "address_confirmation"),
    ("customs_hold", "high", "send_documents", None),
    ("documents_missing", "high", "send_documents", None),
    ("delay_carrier", "normal", "wait_and_notify", None),
    ("delay_weather", "low", "wait_and_notify", None),
    ("label_failed", "high", "request_label", None),
    ("sync_failed", "high", "replay_job", None),
    ("wms_mismatch", "high", "fix_wms_data", None),
    ("lost", "urgent", "open_claim", None),
    ("damaged", "high", "open_claim", None),
    ("recipient_unavailable", "normal", "contact_customer", None),
])
def test_default_rules_suggest_the_documented_action(reason, priority, action, template):
    rule = triage.rule_for(reason)
    assert (rule.priority, rule.action, rule.template) == (priority, action, template)


def test_override_wins_over_the_default_table():
    own = triage.Rule("delay_carrier", "urgent", "contact_carrier")
    assert triage.rule_for("delay_carrier", {"delay_carrier": own}) == own
    assert triage.rule_for("lost", {"delay_carrier": own}) == triage.DEFAULT_RULES["lost"]


def test_unknown_reason_falls_back_to_investigate():
    rule = triage.rule_for("a_reason_added_later")
    assert (rule.reason, rule.priority, rule.action) == ("a_reason_added_later", "normal",
                                                         "investigate")
    assert triage.rule_for(None).action == "investigate"


def test_every_action_has_a_label_and_remedies_are_actions():
    assert set(triage.ACTION_LABELS) == set(triage.ACTION_CODES)
    assert triage.REMEDY_ACTIONS <= set(triage.ACTION_CODES)


def test_selections_are_lists_for_odoo():
    # Odoo reflects (and translates) only list selections, never tuples.
    assert triage.ACTION_SELECTION == list(triage.ACTIONS)
    assert triage.PRIORITY_SELECTION == list(triage.PRIORITIES)


# ----------------------------------------------------------------------
# impact
# ----------------------------------------------------------------------
def test_impact_ranks_overdue_high_value_repeat_lane_first():
    overdue = triage.impact_score(NOW - timedelta(days=2), NOW, 5000, 4, "high")
    soon = triage.impact_score(NOW + timedelta(days=1), NOW, 500, 1, "high")
    far = triage.impact_score(NOW + timedelta(days=10), NOW, 50, 0, "high")
    assert overdue > soon > far


def test_impact_is_between_0_and_100():
    assert triage.impact_score(NOW + timedelta(days=30), NOW, 0, 0, "low") == 7.5
    assert triage.impact_score(NOW - timedelta(days=30), NOW, 10**9, 100, "urgent") == 100.0


def test_promise_term_from_horizon_to_overdue():
    assert triage.promise_term(NOW + timedelta(hours=72), NOW) == 0.0
    assert triage.promise_term(NOW, NOW) == 1.0
    assert triage.promise_term(NOW - timedelta(hours=72), NOW) == 2.0
    assert triage.promise_term(None, NOW) == triage.NO_PROMISE_TERM


def test_negative_or_missing_value_and_repeats_count_as_zero():
    assert triage.value_term(None) == triage.value_term(-5) == 0.0
    assert triage.repeat_term(None) == triage.repeat_term(-2) == 0.0
    assert triage.repeat_term(50) == 1.0


hours = st.floats(min_value=-24 * 60, max_value=24 * 60, allow_nan=False)
values = st.floats(min_value=0, max_value=1e7, allow_nan=False)
repeats = st.integers(min_value=0, max_value=40)
priorities = st.sampled_from(triage.PRIORITY_CODES)


@given(hours, hours, values, repeats, priorities)
def test_impact_never_drops_when_the_promised_date_gets_closer(h1, h2, value, rep, prio):
    nearer, further = sorted((h1, h2))
    assert triage.impact_score(NOW + timedelta(hours=nearer), NOW, value, rep, prio) >= \
        triage.impact_score(NOW + timedelta(hours=further), NOW, value, rep, prio)


@given(hours, values, values, repeats, priorities)
def test_impact_never_drops_when_the_order_is_worth_more(h, v1, v2, rep, prio):
    low, high = sorted((v1, v2))
    promised = NOW + timedelta(hours=h)
    assert triage.impact_score(promised, NOW, high, rep, prio) >= \
        triage.impact_score(promised, NOW, low, rep, prio)


@given(hours, values, repeats, repeats, priorities)
def test_impact_never_drops_with_more_repeats_on_the_lane(h, value, r1, r2, prio):
    fewer, more = sorted((r1, r2))
    promised = NOW + timedelta(hours=h)
    assert triage.impact_score(promised, NOW, value, more, prio) >= \
        triage.impact_score(promised, NOW, value, fewer, prio)


@given(hours, values, repeats, priorities, priorities)
def test_impact_never_drops_with_a_higher_priority(h, value, rep, p1, p2):
    lower, higher = sorted((p1, p2), key=triage.PRIORITY_CODES.index)
    promised = NOW + timedelta(hours=h)
    assert triage.impact_score(promised, NOW, value, rep, higher) >= \
        triage.impact_score(promised, NOW, value, rep, lower)


@given(st.floats(min_value=-70, max_value=70, allow_nan=False), values, repeats, priorities)
def test_impact_strictly_grows_as_the_promised_date_nears_within_the_horizon(
        h, value, rep, prio):
    promised = NOW + timedelta(hours=h)
    assert triage.impact_score(promised - timedelta(hours=1), NOW, value, rep, prio) > \
        triage.impact_score(promised, NOW, value, rep, prio)


# ----------------------------------------------------------------------
# learning from resolutions
# ----------------------------------------------------------------------
RESOLUTIONS = [
    ("address_issue", "contact_customer", 2.0),
    ("address_issue", "contact_customer", 4.0),
    ("address_issue", "contact_customer", 30.0),
    ("address_issue", "wait", 10.0),
    ("address_issue", "wait", 12.0),
    ("address_issue", "wait", 14.0),
    ("address_issue", "investigate", 0.5),  # once only: not trusted
    ("customs_hold", "send_documents", 20.0),
    ("customs_hold", "send_documents", 24.0),
    ("customs_hold", "send_documents", 28.0),
    ("customs_hold", "wait", 48.0),
]


def test_fastest_action_is_the_lowest_median_with_enough_resolutions():
    best = triage.fastest_actions(RESOLUTIONS)
    assert best["address_issue"] == triage.Fastest("address_issue", "contact_customer", 4.0, 3)
    assert best["customs_hold"] == triage.Fastest("customs_hold", "send_documents", 24.0, 3)


def test_fastest_action_needs_the_minimum_count():
    assert "customs_hold" in triage.fastest_actions(RESOLUTIONS, min_count=1)
    assert triage.fastest_actions(RESOLUTIONS, min_count=1)["address_issue"].action == \
        "investigate"
    assert triage.fastest_actions(RESOLUTIONS, min_count=4) == {}


def test_fastest_action_ties_go_to_more_resolutions_then_to_the_action_code():
    rows = [("lost", "open_claim", 5.0)] * 3 + [("lost", "reship", 5.0)] * 4
    assert triage.fastest_actions(rows)["lost"].action == "reship"
    rows = [("lost", "reship", 5.0)] * 3 + [("lost", "open_claim", 5.0)] * 3
    assert triage.fastest_actions(rows)["lost"].action == "open_claim"
    assert triage.fastest_actions(reversed(rows))["lost"].action == "open_claim"


def test_fastest_action_ignores_rows_without_action_or_hours():
    rows = [("lost", None, 1.0), ("lost", "open_claim", None), ("lost", "reship", -1.0)] * 3
    assert triage.fastest_actions(rows) == {}
    with pytest.raises(ValueError):
        triage.fastest_actions(rows, min_count=0)


@given(st.lists(st.tuples(st.sampled_from(["lost", "damaged"]),
                          st.sampled_from(triage.ACTION_CODES),
                          st.floats(min_value=0, max_value=500, allow_nan=False)),
                max_size=40))
def test_fastest_action_does_not_depend_on_the_order_of_resolutions(rows):
    assert triage.fastest_actions(rows) == triage.fastest_actions(list(reversed(rows)))


def test_resolution_hours_never_negative():
    assert triage.resolution_hours(NOW, NOW + timedelta(minutes=90)) == 1.5
    assert triage.resolution_hours(NOW, NOW - timedelta(hours=1)) == 0.0


def test_sla_breach_rule_follows_where_the_shipment_is_stuck():
    from shipsync import triage as tr

    assert tr.rule_for("sla_breach", stuck_milestone="packed").action == "request_label"
    assert tr.rule_for("sla_breach", stuck_milestone="handed_over").action == "contact_carrier"
    assert tr.rule_for("sla_breach", stuck_milestone="picked").action == "fix_wms_data"
    # no kind known: the reason's own rule; a company's rule always wins
    assert tr.rule_for("sla_breach").action == "contact_carrier"
    own = {"sla_breach": tr.Rule("sla_breach", "low", "investigate")}
    assert tr.rule_for("sla_breach", own, stuck_milestone="packed").action == "investigate"
    for milestone, rule in tr.SLA_BREACH_RULES.items():
        assert rule.action in tr.ACTION_CODES and rule.priority in tr.PRIORITY_CODES, milestone
