"""shipsync.pii: personal data masked, city / postcode prefix / country readable."""

import json
import logging

from shipsync import pii

ADDRESS = {
    "name": "Ada Lovelace", "company": "Analytical Engines Ltd", "street1": "12 Rue de Rivoli",
    "street2": "Apt 4", "city": "Paris", "zip": "75001", "country": "FR",
    "phone": "+33 6 12 34 56 78", "email": "ada@example.com",
    "delivery_instructions": "Leave with the concierge, code 1234",
}


def test_address_keeps_only_city_postcode_prefix_and_country():
    masked = pii.mask_value({"to_address": ADDRESS})["to_address"]
    assert masked["city"] == "Paris" and masked["country"] == "FR"
    assert masked["zip"] == "75***"
    for key in ("name", "company", "street1", "street2", "phone", "email",
                "delivery_instructions"):
        assert masked[key] == "***", key


def test_masking_reaches_nested_lists_and_free_text():
    payload = {"events": [{"message": "Call Ada on +44 20 7946 0958 or ada@example.com",
                           "recipient": {"first_name": "Ada", "postal_code": "SW1A 1AA"}}]}
    masked = pii.mask_value(payload)
    message = masked["events"][0]["message"]
    assert "7946" not in message and "ada@" not in message
    assert "@example.com" in message  # the domain stays (which partner), not the mailbox
    assert masked["events"][0]["recipient"] == {"first_name": "***", "postal_code": "SW***"}


def test_stored_body_masked_and_still_json():
    body = json.dumps({"schema_version": "1", "events": [{"id": "e1", "shipping": ADDRESS}]})
    masked = json.loads(pii.mask_json_text(body.encode()))
    assert masked["events"][0]["id"] == "e1"
    assert "Lovelace" not in json.dumps(masked) and "Rivoli" not in json.dumps(masked)


def test_not_json_is_masked_as_text_and_key_value_pairs_too():
    text = 'partner said: {"name": "Ada Lovelace", "zip": "75001", "city": "Paris", "ph'
    masked = pii.mask_json_text(text)
    assert "Lovelace" not in masked and '"75***"' in masked and "Paris" in masked
    assert pii.mask_text("email=ada@example.com; phone=0612345678") == \
        "email=***; phone=***"


def test_ids_dates_and_codes_are_not_taken_for_phone_numbers():
    text = "event ev-2026-11-02 at 2026-11-02T08:00:00Z tracking 1Z999AA10123456784 status 200"
    assert pii.mask_text(text) == text


def test_odd_values_never_raise():
    for value in (None, 5, 1.5, True, [], {}, "", b"\xff\xfe", "{", "[1, 2]"):
        pii.mask_value(value)
        pii.mask_json_text(value)
        pii.mask_text(value)


def test_metrics_label_values_are_masked():
    text = ('# HELP x y\nshipsync_exceptions{partner="ep",recipient="Ada Lovelace",'
            'detail="call +33 6 12 34 56 78"} 3\nshipsync_up 1\n')
    masked = pii.mask_metrics_text(text)
    assert 'recipient="***"' in masked and "12 34 56" not in masked
    assert 'partner="ep"' in masked and "shipsync_up 1" in masked and "# HELP x y" in masked


def test_log_filter_masks_records(caplog):
    logger = logging.getLogger("shipsync.test_pii_logger")
    pii.install_log_masking("shipsync.test_pii_logger")
    with caplog.at_level(logging.INFO, logger="shipsync.test_pii_logger"):
        logger.info("bad body from %s: %s", "ep", '{"email": "ada@example.com"}')
    assert "ada@example.com" not in caplog.text and "ep" in caplog.text


def test_deeply_nested_json_is_masked_without_recursion_error():
    body = '{"a": ' * 900 + '"ada@example.com"' + "}" * 900
    masked = pii.mask_json_text(body)
    assert "ada@" not in masked and masked.startswith('{"a": ')


def test_lone_surrogate_in_json_gives_storable_text():
    masked = pii.mask_json_text('{"id": "\\u00e9\\ud800"}')
    masked.encode("utf-8")
    assert masked.startswith('{"id": "\u00e9')
