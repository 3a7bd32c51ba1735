"""One stable_id (shipsync.ids): the ids already stored stay the same.

The expected values were computed with the two implementations this one replaced
(``shipsync.normalizers.stable_id``: ``<prefix>:`` + 24 hex digits;
``shipsync.outbox.stable_id``: prefix + 32 hex digits)."""

from shipsync import ids, outbox


def test_inbound_event_ids_keep_24_hex_digits():
    value = ids.event_id("easypost", "trk_1", "2025-03-01T10:00:00+00:00", "in_transit", None)
    assert value == "easypost:3c21d8ba975332cde4a459ec"


def test_outbox_message_ids_keep_32_hex_digits():
    value = outbox.stable_id("corr-1", "in_transit", "2025-03-01", prefix="msg_")
    assert value == "msg_8fc992bac92136bdd54191999ef15578"
    assert outbox.stable_id is ids.stable_id


def test_length_and_prefix_are_the_only_differences():
    parts = ("a", None, 3)
    long = ids.stable_id(*parts)
    assert len(long) == ids.MESSAGE_ID_HEX
    assert ids.event_id("p", *parts) == "p:" + long[: ids.EVENT_ID_HEX]
    assert ids.stable_id("a", "", 3) == long  # None is the empty string
    assert ids.stable_id("a", "b") != ids.stable_id("ab")  # parts are separated
