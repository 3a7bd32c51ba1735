"""Status maps: seed tables of milestones.md and the lookup rules."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shipsync.mapping import (
    SEED_ENTRIES,
    VOCABULARIES,
    Classification,
    MapEntry,
    MapResult,
    StatusMapper,
    classify,
    seed_for,
)
from shipsync.milestones import EXCEPTION_REASON_CODES, RANK


def mapper(vocabulary):
    return StatusMapper(seed_for(vocabulary))


def test_seed_rows_use_canonical_codes():
    assert set(VOCABULARIES) == {e.vocabulary for e in SEED_ENTRIES}
    for entry in SEED_ENTRIES:
        assert entry.milestone is None or entry.milestone in RANK
        assert entry.exception_reason is None or entry.exception_reason in EXCEPTION_REASON_CODES


def test_seed_has_no_duplicate_keys():
    keys = [(e.vocabulary, e.code, e.subcode) for e in SEED_ENTRIES]
    assert len(keys) == len(set(keys))


def test_seed_for_unknown_vocabulary_is_empty():
    assert seed_for("nope") == []


@pytest.mark.parametrize("code, subcode, milestone, reason", [
    ("pre_transit", None, "label_created", None),
    ("in_transit", "received_at_origin_facility", "picked_up", None),
    ("in_transit", "departed_origin_facility", "picked_up", None),
    ("in_transit", "arrived_at_facility", "in_transit", None),
    ("in_transit", "status_update", "in_transit", None),
    ("out_for_delivery", None, "out_for_delivery", None),
    ("available_for_pickup", "arrived_at_pickup_location", "available_for_pickup", None),
    ("delivery_exception", None, "delivery_attempted", None),
    ("delivered", None, "delivered", None),
    ("delivered", "return", "returned", None),
    ("return_to_sender", "return", "returning", None),
    ("failure", "lost", "delivery_failed", "lost"),
    ("failure", "refused", "delivery_failed", "refused"),
    ("cancelled", None, "cancelled", None),
    ("unknown", None, None, None),
    ("error", None, None, None),
])
def test_easypost_table(code, subcode, milestone, reason):
    result = mapper("easypost").lookup(code, subcode)
    assert (result.milestone, result.exception_reason) == (milestone, reason)


@pytest.mark.parametrize("code, subcode, milestone, reason", [
    ("delivery_exception", "address_correction", "delivery_attempted", "address_issue"),
    ("in_transit", "weather_delay", "in_transit", "delay_weather"),
    ("in_transit", "missorted", "in_transit", "delay_carrier"),
    ("in_transit", "held", "in_transit", "held_contact_carrier"),
    ("delivery_exception", "awaiting_information", "delivery_attempted", "held_contact_carrier"),
])
def test_easypost_status_detail_reason_combines_with_status(code, subcode, milestone, reason):
    result = mapper("easypost").lookup(code, subcode)
    assert result == MapResult(milestone, reason, "wildcard")


@pytest.mark.parametrize("tag, subtag, milestone, reason", [
    ("InfoReceived", "InfoReceived_001", "label_created", None),
    ("InTransit", "InTransit_002", "picked_up", None),
    ("InTransit", "InTransit_007", "in_transit", None),
    ("OutForDelivery", "OutForDelivery_003", "out_for_delivery", None),
    ("OutForDelivery", "OutForDelivery_099", "out_for_delivery", None),
    ("AvailableForPickup", "AvailableForPickup_001", "available_for_pickup", None),
    ("AttemptFail", "AttemptFail_001", "delivery_attempted", None),
    ("AttemptFail", "AttemptFail_003", "delivery_attempted", "recipient_unavailable"),
    ("Delivered", "Delivered_004", "delivered", None),
    ("Exception", "Exception_004", None, "customs_hold"),
    ("Exception", "Exception_010", "returning", None),
    ("Exception", "Exception_011", "returned", None),
    ("Exception", "Exception_013", "delivery_failed", "lost"),
    ("Exception", "Exception_020", "cancelled", None),
    ("Exception", "Exception_021", "delivery_failed", "disposed"),
    ("Exception", "Exception_099", None, "other"),
    ("Pending", "Pending_001", None, None),
    ("Expired", "Expired_001", None, None),
])
def test_aftership_table(tag, subtag, milestone, reason):
    result = mapper("aftership").lookup(tag, subtag)
    assert (result.milestone, result.exception_reason) == (milestone, reason)


@pytest.mark.parametrize("status, substatus, milestone, reason", [
    ("PRE_TRANSIT", "information_received", "label_created", None),
    ("TRANSIT", "package_accepted", "picked_up", None),
    ("TRANSIT", "package_forwarded", "in_transit", None),
    ("TRANSIT", "delivery_scheduled", "out_for_delivery", None),
    ("TRANSIT", "pickup_available", "available_for_pickup", None),
    ("TRANSIT", "notice_left", "delivery_attempted", None),
    ("TRANSIT", "address_issue", "in_transit", "address_issue"),
    ("TRANSIT", "package_held", "in_transit", "held_contact_carrier"),
    ("TRANSIT", "package_unclaimed", "in_transit", "not_collected"),
    ("DELIVERED", "delivered", "delivered", None),
    ("RETURNED", "return_to_sender", "returning", None),
    ("FAILURE", "package_lost", "delivery_failed", "lost"),
    ("FAILURE", "package_disposed", "delivery_failed", "disposed"),
    ("FAILURE", "package_damaged", "delivery_failed", "damaged"),
    ("UNKNOWN", "other", None, None),
])
def test_shippo_table(status, substatus, milestone, reason):
    result = mapper("shippo").lookup(status, substatus)
    assert (result.milestone, result.exception_reason) == (milestone, reason)


@pytest.mark.parametrize("step, milestone", [
    ("picking", "picked"), ("packing", "packed"), ("shipping", "handed_over"),
    ("departing", "in_transit"), ("arriving", "in_transit"), ("receiving", "returned"),
    ("urn:epcglobal:cbv:bizstep:shipping", "handed_over"),
])
def test_epcis_business_steps(step, milestone):
    assert mapper("epcis").lookup(step).milestone == milestone


def test_subcode_is_matched_before_code():
    assert mapper("aftership").lookup("InTransit", "InTransit_002").matched_on == "subcode"
    assert mapper("aftership").lookup("InTransit", None).matched_on == "code"


def test_unknown_code_is_none():
    assert mapper("easypost").lookup("teleported") is None
    assert mapper("easypost").lookup(None) is None


def test_wildcard_subcode_on_unknown_code_is_none():
    assert mapper("easypost").lookup("teleported", "weather_delay") is None


def test_wildcard_without_code_gives_reason():
    assert mapper("easypost").lookup(None, "weather_delay") == MapResult(
        None, "delay_weather", "wildcard"
    )


def test_exact_case_first_then_case_insensitive():
    entries = [
        MapEntry("x", "Done", None, "delivered", None),
        MapEntry("x", "done", None, "returned", None),
    ]
    m = StatusMapper(entries)
    assert m.lookup("Done").milestone == "delivered"
    assert m.lookup("done").milestone == "returned"
    assert m.lookup("DONE").milestone is not None
    assert mapper("shippo").lookup("transit", "PACKAGE_ACCEPTED").milestone == "picked_up"


def test_later_entries_override_earlier_ones():
    edited = MapEntry("easypost", "in_transit", None, "picked_up", None, "edited in the UI")
    m = StatusMapper([*seed_for("easypost"), edited])
    assert m.lookup("in_transit").milestone == "picked_up"


def test_empty_subcode_means_none():
    assert mapper("easypost").lookup("delivered", "").matched_on == "code"


@given(st.text(max_size=20), st.one_of(st.none(), st.text(max_size=20)))
def test_lookup_never_raises_and_returns_canonical_codes(code, subcode):
    for vocabulary in VOCABULARIES:
        result = mapper(vocabulary).lookup(code, subcode)
        if result is not None:
            assert result.milestone is None or result.milestone in RANK
            assert result.matched_on in ("subcode", "code", "wildcard")


def _mapper():
    return StatusMapper([
        MapEntry("x", "moving", None, "in_transit", None),
        MapEntry("x", "late", None, None, "delay_carrier"),
    ])


def test_classify_fills_milestone_and_reason_from_the_code():
    got = classify(_mapper(), "moving")
    assert got == Classification("in_transit", None, True, True)


def test_classify_keeps_the_events_own_milestone_and_reason():
    got = classify(_mapper(), "moving", milestone="picked", exception_reason="damaged")
    assert (got.milestone, got.exception_reason, got.mapped) == ("picked", "damaged", True)


def test_classify_unknown_code_without_milestone_is_unmapped():
    assert classify(_mapper(), "teleported") == Classification(None, None, False, True)
    assert classify(_mapper(), "teleported", milestone="picked").mapped


def test_classify_applies_the_partners_authority_to_the_mapped_milestone():
    only_label = frozenset({"label_created"})
    assert not classify(_mapper(), "moving", authority=only_label).authoritative
    assert classify(_mapper(), "moving", authority=frozenset({"in_transit"})).authoritative
    # nothing to move: a reason-only or unmapped event is never refused for authority
    assert classify(_mapper(), "late", authority=only_label).authoritative
    assert classify(_mapper(), "teleported", authority=only_label).authoritative
    assert classify(_mapper(), "moving", authority=None).authoritative


@given(st.sampled_from(["moving", "late", "teleported", None]),
       st.sampled_from([None, "picked", "delivered"]),
       st.sampled_from([None, frozenset(), frozenset({"picked"}), frozenset({"in_transit"})]))
def test_classify_authority_is_decided_on_the_final_milestone(code, milestone, authority):
    got = classify(_mapper(), code, milestone=milestone, authority=authority)
    assert got.authoritative == (authority is None or got.milestone is None
                                 or got.milestone in authority)
