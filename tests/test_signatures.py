"""Webhook signatures: Standard Webhooks v1, HMAC headers, presets, fail closed."""

import base64
import hashlib
import hmac
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipsync.signatures import (
    HMAC_PRESETS,
    HmacHeader,
    SignatureError,
    StandardWebhooks,
    make_verifier,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER = "whsec_" + base64.b64encode(b"another secret of 24 byte").decode()
NOW = 1_714_000_000


def sw_headers(verifier, body=b'{"a":1}', ts=NOW, msg_id="msg_1"):
    return verifier.headers(msg_id, body, timestamp=ts)


def test_standard_webhooks_reference_vector():
    verifier = StandardWebhooks([SECRET])
    sig = verifier.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}')
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_standard_webhooks_round_trip_and_case_insensitive_headers():
    verifier = StandardWebhooks([SECRET])
    headers = {k.upper(): v for k, v in sw_headers(verifier).items()}
    verifier.verify(headers, b'{"a":1}', now=NOW)


def test_standard_webhooks_accepts_svix_aliases():
    verifier = StandardWebhooks([SECRET])
    headers = {k.replace("webhook-", "svix-"): v for k, v in sw_headers(verifier).items()}
    verifier.verify(headers, b'{"a":1}', now=NOW)


def test_standard_webhooks_secret_without_prefix():
    signer = StandardWebhooks([SECRET])
    StandardWebhooks([SECRET[len("whsec_"):]]).verify(sw_headers(signer), b'{"a":1}', now=NOW)


def test_standard_webhooks_non_base64_secret_is_raw_bytes():
    verifier = StandardWebhooks(["not base64 !!"])
    verifier.verify(sw_headers(verifier), b'{"a":1}', now=NOW)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_standard_webhooks_missing_header(missing):
    verifier = StandardWebhooks([SECRET])
    headers = sw_headers(verifier)
    del headers[missing]
    with pytest.raises(SignatureError) as err:
        verifier.verify(headers, b'{"a":1}', now=NOW)
    assert err.value.code == "missing_signature"


@pytest.mark.parametrize("skew", [-301, 301, -86400])
def test_standard_webhooks_stale_timestamp_past_or_future(skew):
    verifier = StandardWebhooks([SECRET])
    with pytest.raises(SignatureError) as err:
        verifier.verify(sw_headers(verifier, ts=NOW + skew), b'{"a":1}', now=NOW)
    assert err.value.code == "stale_timestamp"


def test_standard_webhooks_within_tolerance():
    verifier = StandardWebhooks([SECRET], tolerance=300)
    verifier.verify(sw_headers(verifier, ts=NOW - 300), b'{"a":1}', now=NOW)


def test_standard_webhooks_any_of_several_signatures_passes():
    verifier = StandardWebhooks([SECRET])
    headers = sw_headers(verifier)
    headers["webhook-signature"] = "v1,AAAA v1a,whatever " + headers["webhook-signature"]
    verifier.verify(headers, b'{"a":1}', now=NOW)


def test_standard_webhooks_wrong_secret_is_invalid_and_message_has_no_secret():
    signer = StandardWebhooks([OTHER])
    with pytest.raises(SignatureError) as err:
        StandardWebhooks([SECRET]).verify(sw_headers(signer), b'{"a":1}', now=NOW)
    assert err.value.code == "invalid_signature"
    assert SECRET not in str(err.value) and SECRET[6:] not in str(err.value)


def test_standard_webhooks_bad_timestamp_is_invalid():
    verifier = StandardWebhooks([SECRET])
    headers = sw_headers(verifier)
    headers["webhook-timestamp"] = "yesterday"
    with pytest.raises(SignatureError) as err:
        verifier.verify(headers, b'{"a":1}', now=NOW)
    assert err.value.code == "invalid_signature"


def test_hmac_header_github_preset():
    body = b'{"zen":"Keep it logically awesome."}'
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    verifier = make_verifier("github", ["s3cret"])
    assert verifier.sign(body) == expected
    verifier.verify({"x-hub-signature-256": expected.upper().replace("SHA256=", "sha256=")}, body)


def test_hmac_header_aftership_base64():
    body = b'{"event":"tracking_update"}'
    expected = base64.b64encode(hmac.new(b"as-secret", body, hashlib.sha256).digest()).decode()
    verifier = make_verifier("aftership", ["as-secret"])
    verifier.verify({"aftership-hmac-sha256": expected}, body)
    assert verifier.headers(body) == {"aftership-hmac-sha256": expected}


def test_easypost_preset_normalizes_secret_nfkd():
    secret = "caf\u00e9-\ufb01"  # composed e-acute and the "fi" ligature
    body = b'{"object":"Event"}'
    key = unicodedata.normalize("NFKD", secret).encode()
    value = "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    make_verifier("easypost", [secret]).verify({"X-Hmac-Signature": value}, body)
    assert HMAC_PRESETS["easypost"]["prefix"] == "hmac-sha256-hex="


def test_hmac_header_missing_and_wrong_prefix():
    verifier = make_verifier("easypost", ["k"])
    with pytest.raises(SignatureError) as err:
        verifier.verify({}, b"x")
    assert err.value.code == "missing_signature"
    with pytest.raises(SignatureError) as err:
        verifier.verify({"X-Hmac-Signature": "deadbeef"}, b"x")
    assert err.value.code == "invalid_signature"


@pytest.mark.parametrize("preset", sorted(HMAC_PRESETS))
def test_every_preset_round_trips(preset):
    verifier = make_verifier(preset, ["k1"])
    verifier.verify(verifier.headers(b"body"), b"body")


@pytest.mark.parametrize("secrets", [[], [""], ["  "], None])
def test_no_secret_fails_closed(secrets):
    with pytest.raises(ValueError):
        make_verifier("standard_webhooks", secrets)
    with pytest.raises(ValueError):
        make_verifier("sendcloud", secrets)


def test_make_verifier_options_and_unknown_scheme():
    verifier = make_verifier(
        "hmac_header", ["k"], header="X-Sig", algorithm="sha512", encoding="base64", tolerance=None
    )
    assert isinstance(verifier, HmacHeader) and verifier.algorithm == "sha512"
    assert make_verifier("standard_webhooks", [SECRET], tolerance=60).tolerance == 60
    assert make_verifier("sendcloud", ["k"], header="X-Custom").header == "X-Custom"
    with pytest.raises(ValueError):
        make_verifier("carrier_pigeon", ["k"])


def test_single_string_secret_is_one_secret():
    verifier = make_verifier("sendcloud", "abc")
    assert verifier.sign(b"x") == hmac.new(b"abc", b"x", hashlib.sha256).hexdigest()


# -- properties -------------------------------------------------------------------------------

bodies = st.binary(max_size=512)


def _flip(data: bytes, index: int) -> bytes:
    index %= len(data)
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1:]


@settings(max_examples=100)
@given(bodies, st.text(min_size=1, max_size=30).filter(str.strip))
def test_round_trip_both_schemes(body, secret):
    sw = StandardWebhooks([secret])
    sw.verify(sw.headers("msg", body, timestamp=NOW), body, now=NOW)
    hh = HmacHeader([secret], header="X-Sig")
    hh.verify(hh.headers(body), body)


@settings(max_examples=100)
@given(bodies.filter(len), st.integers(min_value=0))
def test_flipped_body_byte_fails(body, index):
    sw = StandardWebhooks([SECRET])
    headers = sw.headers("msg", body, timestamp=NOW)
    hh = HmacHeader([SECRET], header="X-Sig", encoding="base64")
    with pytest.raises(SignatureError):
        sw.verify(headers, _flip(body, index), now=NOW)
    with pytest.raises(SignatureError):
        hh.verify(hh.headers(body), _flip(body, index))


@settings(max_examples=100)
@given(bodies, st.integers(min_value=0))
def test_flipped_signature_byte_fails(body, index):
    sw = StandardWebhooks([SECRET])
    headers = sw.headers("msg", body, timestamp=NOW)
    sig = headers["webhook-signature"].encode()
    prefix = len("v1,")
    index = prefix + index % (len(sig) - prefix)
    headers["webhook-signature"] = _flip(sig, index).decode()
    with pytest.raises(SignatureError):
        sw.verify(headers, body, now=NOW)
    hh = HmacHeader([SECRET], header="X-Sig")
    value = hh.sign(body).encode()
    with pytest.raises(SignatureError):
        hh.verify({"X-Sig": _flip(value, index).decode()}, body)


@settings(max_examples=50)
@given(bodies, st.booleans())
def test_rotation_accepts_either_secret(body, use_new):
    old, new = SECRET, OTHER
    signer_secret = new if use_new else old
    sw = StandardWebhooks([signer_secret])
    StandardWebhooks([old, new]).verify(sw.headers("m", body, timestamp=NOW), body, now=NOW)
    hh = HmacHeader([signer_secret], header="X-Sig")
    HmacHeader([old, new], header="X-Sig").verify(hh.headers(body), body)
