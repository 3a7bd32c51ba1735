"""Signatures, pinned against independent sources: Standard Webhooks headers made by
the official library (PyPI ``standardwebhooks``) for the secret forms it accepts, the
real clock when no ``now`` is given, and the scheme names and option handling by
literal values."""

import base64
import hashlib
import hmac
import time
from datetime import datetime, timezone

import pytest
from standardwebhooks.webhooks import Webhook

from shipsync import signatures
from shipsync.signatures import HmacHeader, SignatureError, StandardWebhooks, make_verifier

BODY = b'{"type":"shipment.milestone_changed","id":"evt_1"}'
MSG_ID = "msg_2Kq3v1"
TS = 1_714_000_000


def official_headers(secret, msg_id=MSG_ID, ts=TS, body=BODY):
    signature = Webhook(secret).sign(msg_id, datetime.fromtimestamp(ts, tz=timezone.utc),
                                     body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


@pytest.mark.parametrize("secret", [
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",   # padded base64
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",    # padding left out
    "whsec_YWJjZA",                             # two padding characters left out
    "whsec_abc!",                               # not base64: the library's lenient reading
])
def test_headers_of_the_official_library_are_accepted_and_reproduced(secret):
    headers = official_headers(secret)
    verifier = StandardWebhooks([secret])
    verifier.verify(headers, BODY, now=TS)
    assert verifier.sign(MSG_ID, TS, BODY) == headers["webhook-signature"]
    with pytest.raises(SignatureError) as caught:
        verifier.verify(headers, BODY + b" ", now=TS)
    assert caught.value.code == "invalid_signature"


def test_a_base64_secret_without_prefix_is_its_decoded_key():
    key = b"sixteen byte key"
    secret = base64.b64encode(key).decode()
    content = f"{MSG_ID}.{TS}.".encode() + BODY
    expected = "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    assert StandardWebhooks([secret]).sign(MSG_ID, TS, BODY) == expected
    assert StandardWebhooks(["whsec_" + secret]).sign(MSG_ID, TS, BODY) == expected


@pytest.mark.parametrize("secret", ["abcd!", "ab cd", "YWJj ZA==", "c2VjcmV0-"])
def test_an_unprefixed_secret_that_is_not_strict_base64_is_its_utf8_bytes(secret):
    # "abcd!" would decode leniently (the "!" dropped): only strict base64 is decoded
    content = f"{MSG_ID}.{TS}.".encode() + BODY
    mac = hmac.new(secret.encode("utf-8"), content, hashlib.sha256).digest()
    assert StandardWebhooks([secret]).sign(MSG_ID, TS, BODY) == (
        "v1," + base64.b64encode(mac).decode())


def test_without_now_the_real_clock_decides():
    verifier = StandardWebhooks(["whsec_YWJjZA"])
    fresh = verifier.headers(MSG_ID, BODY)
    assert abs(int(fresh["webhook-timestamp"]) - time.time()) < 60
    verifier.verify(fresh, BODY)
    old = verifier.headers(MSG_ID, BODY, timestamp=int(time.time()) - 3600)
    with pytest.raises(SignatureError) as caught:
        verifier.verify(old, BODY)
    assert caught.value.code == "stale_timestamp"
    # HMAC headers have no timestamp: ``now`` is ignored
    hmac_verifier = make_verifier("github", ["k"])
    hmac_verifier.verify(hmac_verifier.headers(BODY), BODY, now=0)


def test_tolerance_is_an_option_and_an_empty_one_is_the_default():
    secret = "whsec_YWJjZA"
    headers = official_headers(secret)
    make_verifier("standard_webhooks", [secret], tolerance=10).verify(headers, BODY, now=TS + 10)
    with pytest.raises(SignatureError):
        make_verifier("standard_webhooks", [secret], tolerance="10").verify(
            headers, BODY, now=TS + 11)
    make_verifier("standard_webhooks", [secret], tolerance="").verify(headers, BODY,
                                                                     now=TS - 300)
    with pytest.raises(SignatureError):
        make_verifier("standard_webhooks", [secret], tolerance=None).verify(
            headers, BODY, now=TS - 301)


def test_signature_values_that_are_not_ascii_or_not_v1_are_refused():
    secret = "whsec_YWJjZA"
    headers = official_headers(secret)
    value = headers["webhook-signature"].split(",", 1)[1]
    for bad in (f"v1,{value}\u00e9", f"v1,\u00e9{value[1:]}", f"v2,{value}", f"{value}",
                "v1,", f"V1,{value}"):
        with pytest.raises(SignatureError) as caught:
            StandardWebhooks([secret]).verify({**headers, "webhook-signature": bad}, BODY,
                                              now=TS)
        assert caught.value.code == "invalid_signature", bad
    StandardWebhooks([secret]).verify(
        {**headers, "webhook-signature": f"v1,{value[::-1]} v1,{value}"}, BODY, now=TS)
    with pytest.raises(SignatureError) as caught:
        StandardWebhooks([secret]).verify(None, BODY, now=TS)
    assert caught.value.code == "missing_signature"


def test_empty_options_are_dropped_and_the_preset_kept():
    value = "sha256=" + hmac.new(b"k", BODY, hashlib.sha256).hexdigest()
    make_verifier("github", ["k"], prefix=None, encoding="").verify(
        {"X-Hub-Signature-256": value}, BODY)
    bare = make_verifier("hmac_header", ["k"], header="X-Sig", prefix=None)
    assert bare.sign(BODY) == value[len("sha256="):]
    assert HmacHeader(["k"], header="X-Sig", prefix=None).prefix == ""
    assert bare.algorithm == "sha256" and bare.encoding == "hex"
    overridden = make_verifier("github", ["k"], header="X-Other")
    assert overridden.headers(BODY) == {"X-Other": value}


def test_scheme_names_are_pinned():
    assert signatures.SCHEMES[:2] == ("standard_webhooks", "hmac_header")
    assert {"shopify", "github", "easypost", "aftership", "sendcloud"} <= set(
        signatures.SCHEMES[2:])
    assert signatures.STYLE_PRESETS == {
        "shopify": {"header": "X-Shopify-Hmac-Sha256", "algorithm": "sha256",
                    "encoding": "base64"},
        "github": {"header": "X-Hub-Signature-256", "algorithm": "sha256", "encoding": "hex",
                   "prefix": "sha256="},
    }
    assert set(signatures.HMAC_PRESETS) == set(signatures.SCHEMES[2:])
    assert (signatures.MISSING_SIGNATURE, signatures.INVALID_SIGNATURE,
            signatures.STALE_TIMESTAMP) == ("missing_signature", "invalid_signature",
                                            "stale_timestamp")
    with pytest.raises(AttributeError, match="^NOPE$"):
        signatures.NOPE  # noqa: B018 - the attribute access is the test


def test_missing_standard_webhooks_header_message():
    with pytest.raises(SignatureError) as caught:
        StandardWebhooks(["whsec_YWJjZA"]).verify({"webhook-id": "x"}, BODY, now=TS)
    assert (caught.value.code, caught.value.message) == (
        "missing_signature", "webhook-id, -timestamp or -signature missing")
    headers = official_headers("whsec_YWJjZA")
    with pytest.raises(SignatureError) as caught:
        StandardWebhooks(["whsec_YWJjZA"]).verify({**headers, "webhook-timestamp": "x"}, BODY,
                                                  now=TS)
    assert (caught.value.code, caught.value.message) == (
        "invalid_signature", "webhook-timestamp is not an integer")
    with pytest.raises(SignatureError) as caught:
        StandardWebhooks(["whsec_ZGVm"]).verify(headers, BODY, now=TS)
    assert caught.value.message == "no signature matches an active secret"


def test_configuration_messages_are_exact():
    for call, message in (
        (lambda: make_verifier("github", []), "no webhook secret configured"),
        (lambda: HmacHeader(["k"], header=""), "header name required"),
        (lambda: HmacHeader(["k"], header="X", encoding="b32"),
         "encoding must be 'hex' or 'base64'"),
    ):
        with pytest.raises(ValueError) as caught:
            call()
        assert str(caught.value) == message


def test_a_non_ascii_hmac_header_is_invalid_not_an_error():
    with pytest.raises(SignatureError) as caught:
        make_verifier("github", ["k"]).verify({"X-Hub-Signature-256": "sha256=\u00e9\u00e9"}, BODY)
    assert caught.value.code == "invalid_signature"
