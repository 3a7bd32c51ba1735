"""Signatures checked against independent vectors, never against our own
signer: the Standard Webhooks reference vector (the specification's test
vector, the one the official `standardwebhooks` library reproduces), and for
each HMAC preset a signature computed here with hmac/hashlib from the
partner's documented recipe. EasyPost's published vector is read from
CONTRACTS_DIR by tests/contracts/test_webhook_signatures_contract.py."""

import base64
import hashlib
import hmac
import unicodedata

import pytest

from shipsync.signatures import SignatureError, make_verifier

# Standard Webhooks specification, test vector (reproduced by the official library:
# standardwebhooks.Webhook(SECRET).sign(MSG_ID, 1614265330, BODY) == SIGNATURE).
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TS = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def sw_headers(signature=SW_SIGNATURE, prefix="webhook", ts=SW_TS, msg_id=SW_MSG_ID):
    return {f"{prefix}-id": msg_id, f"{prefix}-timestamp": str(ts),
            f"{prefix}-signature": signature}


def sw_error(headers, body=SW_BODY, now=SW_TS, secret=SW_SECRET):
    with pytest.raises(SignatureError) as caught:
        make_verifier("standard_webhooks", [secret]).verify(headers, body, now=now)
    return caught.value.code


def test_standard_webhooks_reference_vector_is_signed_and_accepted():
    verifier = make_verifier("standard_webhooks", [SW_SECRET])
    assert verifier.sign(SW_MSG_ID, SW_TS, SW_BODY) == SW_SIGNATURE
    assert verifier.headers(SW_MSG_ID, SW_BODY, timestamp=SW_TS) == sw_headers()
    verifier.verify(sw_headers(), SW_BODY, now=SW_TS)
    # The prefix is optional; svix-* headers are the same scheme under its former name.
    make_verifier("standard_webhooks", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]).verify(
        sw_headers(), SW_BODY, now=SW_TS)
    verifier.verify(sw_headers(prefix="svix"), SW_BODY, now=SW_TS)
    verifier.verify({k.upper(): v for k, v in sw_headers().items()}, SW_BODY, now=SW_TS)


def test_standard_webhooks_several_signatures_and_versions():
    other = "v1," + base64.b64encode(b"x" * 32).decode()
    verifier = make_verifier("standard_webhooks", [SW_SECRET])
    verifier.verify(sw_headers(f"{other} {SW_SIGNATURE}"), SW_BODY, now=SW_TS)
    verifier.verify(sw_headers(f"v1a,abc {SW_SIGNATURE}"), SW_BODY, now=SW_TS)
    # The right value under another version is not a v1 signature.
    assert sw_error(sw_headers("v2," + SW_SIGNATURE[3:])) == "invalid_signature"
    assert sw_error(sw_headers("v1,")) == "invalid_signature"
    # Rotation: the vector's secret second in the list still verifies.
    make_verifier("standard_webhooks", ["whsec_" + base64.b64encode(b"k" * 24).decode(),
                                        SW_SECRET]).verify(sw_headers(), SW_BODY, now=SW_TS)


def test_standard_webhooks_tolerance_is_five_minutes_either_way():
    verifier = make_verifier("standard_webhooks", [SW_SECRET])
    verifier.verify(sw_headers(), SW_BODY, now=SW_TS + 300)
    verifier.verify(sw_headers(), SW_BODY, now=SW_TS - 300)
    assert sw_error(sw_headers(), now=SW_TS + 301) == "stale_timestamp"
    assert sw_error(sw_headers(), now=SW_TS - 301) == "stale_timestamp"
    make_verifier("standard_webhooks", [SW_SECRET], tolerance=600).verify(
        sw_headers(), SW_BODY, now=SW_TS + 600)


def test_standard_webhooks_rejections():
    assert sw_error(sw_headers(), body=b'{"test": 2432232315}') == "invalid_signature"
    assert sw_error(sw_headers(msg_id="msg_other")) == "invalid_signature"
    assert sw_error(sw_headers(ts="16142653x0")) == "invalid_signature"
    assert sw_error(sw_headers(), secret="whsec_" + base64.b64encode(b"z" * 24).decode()) == (
        "invalid_signature")
    for missing in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        headers = {k: v for k, v in sw_headers().items() if k != missing}
        assert sw_error(headers) == "missing_signature"
    assert sw_error({**sw_headers(), "webhook-signature": "  "}) == "missing_signature"


def test_a_secret_that_is_not_base64_is_used_as_utf8_bytes():
    secret = "not base64 at all!"
    content = f"{SW_MSG_ID}.{SW_TS}.".encode() + SW_BODY
    expected = "v1," + base64.b64encode(
        hmac.new(secret.encode(), content, hashlib.sha256).digest()).decode()
    assert make_verifier("standard_webhooks", [secret]).sign(SW_MSG_ID, SW_TS, SW_BODY) == expected


# -- HMAC presets: each partner's documented recipe, computed here ---------------------------------

BODY = b'{"id":"evt_1","status":"delivered","ref":"WH/OUT/0042"}'
SECRET = "s3cr\u00e9t-\ufb01"  # non-ASCII: the encoding and EasyPost's NFKD matter


def _mac(key, body=BODY):
    return hmac.new(key, body, hashlib.sha256).digest()


# (preset, header, value computed from the partner's recipe)
RECIPES = [
    # EasyPost (easypost-python util.validate_webhook): NFKD-normalised secret, hex digest,
    # "hmac-sha256-hex=" prefix, header X-Hmac-Signature.
    ("easypost", "X-Hmac-Signature",
     "hmac-sha256-hex=" + _mac(unicodedata.normalize("NFKD", SECRET).encode()).hex()),
    # AfterShip: base64 HMAC-SHA256 of the raw body in aftership-hmac-sha256.
    ("aftership", "aftership-hmac-sha256", base64.b64encode(_mac(SECRET.encode())).decode()),
    # Sendcloud: hex HMAC-SHA256 of the raw body in Sendcloud-Signature.
    ("sendcloud", "Sendcloud-Signature", _mac(SECRET.encode()).hex()),
    # Shopify: base64 HMAC-SHA256 of the raw body in X-Shopify-Hmac-Sha256.
    ("shopify", "X-Shopify-Hmac-Sha256", base64.b64encode(_mac(SECRET.encode())).decode()),
    # GitHub: "sha256=" + hex HMAC-SHA256 in X-Hub-Signature-256.
    ("github", "X-Hub-Signature-256", "sha256=" + _mac(SECRET.encode()).hex()),
]


def preset_error(preset, headers, body=BODY, secret=SECRET):
    with pytest.raises(SignatureError) as caught:
        make_verifier(preset, [secret]).verify(headers, body)
    return caught.value.code


@pytest.mark.parametrize("preset, header, value", RECIPES)
def test_preset_accepts_and_produces_the_recipe_signature(preset, header, value):
    verifier = make_verifier(preset, [SECRET])
    verifier.verify({header: value}, BODY)
    verifier.verify({header.lower(): value}, BODY)
    verifier.verify({header.upper(): f"  {value} "}, BODY)
    assert verifier.sign(BODY) == value
    assert verifier.headers(BODY) == {header: value}
    make_verifier(preset, ["another-secret", SECRET]).verify({header: value}, BODY)


@pytest.mark.parametrize("preset, header, value", RECIPES)
def test_preset_rejects_tampering_other_secrets_and_absence(preset, header, value):
    assert preset_error(preset, {header: value}, body=BODY + b" ") == "invalid_signature"
    assert preset_error(preset, {header: value}, secret="other") == "invalid_signature"
    assert preset_error(preset, {}) == "missing_signature"
    assert preset_error(preset, {header: "  "}) == "missing_signature"
    assert preset_error(preset, {"X-Other": value}) == "missing_signature"


@pytest.mark.parametrize("preset, header, value", [r for r in RECIPES if "hex" in r[0] or
                                                   r[0] in ("sendcloud", "github", "easypost")])
def test_hex_presets_accept_upper_case_digests_and_prefixes(preset, header, value):
    make_verifier(preset, [SECRET]).verify({header: value.upper()}, BODY)


def test_easypost_signature_of_the_composed_secret_is_refused():
    # Without NFKD the key differs: a signature made with the composed form fails.
    wrong = "hmac-sha256-hex=" + _mac(SECRET.encode()).hex()
    assert preset_error("easypost", {"X-Hmac-Signature": wrong}) == "invalid_signature"
    bare = _mac(unicodedata.normalize("NFKD", SECRET).encode()).hex()
    assert preset_error("easypost", {"X-Hmac-Signature": bare}) == "invalid_signature"


def test_generic_hmac_header_with_sha1_and_base64():
    verifier = make_verifier("hmac_header", ["k"], header="X-Sig", algorithm="sha1",
                             encoding="base64", prefix="")
    value = base64.b64encode(hmac.new(b"k", BODY, hashlib.sha1).digest()).decode()
    assert verifier.sign(BODY) == value
    verifier.verify({"x-sig": value}, BODY)
    # base64 is case-sensitive: an upper-cased value is another value.
    assert value.upper() != value
    with pytest.raises(SignatureError):
        verifier.verify({"X-Sig": value.upper()}, BODY)


@pytest.mark.parametrize("secrets", [[], [""], ["  "], None])
def test_no_secret_fails_closed(secrets):
    with pytest.raises(ValueError, match="no webhook secret configured"):
        make_verifier("sendcloud", secrets)
    with pytest.raises(ValueError, match="no webhook secret configured"):
        make_verifier("standard_webhooks", secrets)


def test_a_lone_string_or_bytes_secret_is_one_secret():
    value = _mac(b"abc").hex()
    make_verifier("sendcloud", "abc").verify({"Sendcloud-Signature": value}, BODY)
    make_verifier("sendcloud", [b"abc"]).verify({"Sendcloud-Signature": value}, BODY)
    make_verifier("sendcloud", [" abc "]).verify({"Sendcloud-Signature": value}, BODY)


def test_configuration_errors():
    with pytest.raises(ValueError, match="unknown signature scheme 'nope'"):
        make_verifier("nope", ["k"])
    with pytest.raises(ValueError, match="header name required"):
        make_verifier("hmac_header", ["k"], header="")
    with pytest.raises(ValueError, match="encoding must be 'hex' or 'base64'"):
        make_verifier("hmac_header", ["k"], header="X", encoding="b32")
    with pytest.raises(ValueError):
        make_verifier("hmac_header", ["k"], header="X", algorithm="nope")


def test_error_messages_are_precise_and_never_leak_the_secret():
    cases = [
        ({}, "header X-Hub-Signature-256 missing", "missing_signature"),
        ({"X-Hub-Signature-256": "md5=00"}, "header X-Hub-Signature-256 has no prefix",
         "invalid_signature"),
        ({"X-Hub-Signature-256": "sha256=00"}, "signature does not match an active secret",
         "invalid_signature"),
    ]
    for headers, message, code in cases:
        with pytest.raises(SignatureError) as caught:
            make_verifier("github", [SECRET]).verify(headers, BODY)
        assert (caught.value.code, caught.value.message, str(caught.value)) == (
            code, message, message)
        assert SECRET not in str(caught.value)
    with pytest.raises(SignatureError) as caught:
        make_verifier("standard_webhooks", [SW_SECRET]).verify(sw_headers(), SW_BODY,
                                                              now=SW_TS + 301)
    assert caught.value.message == "webhook-timestamp outside the tolerance"
    assert SignatureError("invalid_signature").message == "invalid_signature"
