"""Our webhook verifiers against the partners' own vectors and official libraries.

* EasyPost: the test vector EasyPost publishes (``event-body.json`` + secret + signature,
  EasyPost/examples) is accepted by our ``easypost`` preset AND by the official SDK's
  ``easypost.util.validate_webhook``; our signature equals theirs byte for byte.
* Standard Webhooks: the official ``standardwebhooks`` library signs, we verify; we sign,
  the library verifies; with ``whsec_`` secrets in the forms the library accepts.
"""

from __future__ import annotations

import base64
import json
import os
import time
from datetime import datetime, timezone

import easypost.util
import pytest
from easypost.errors import SignatureVerificationError
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from shipsync.signatures import SignatureError, make_verifier


# --------------------------------------------------------------------------- EasyPost
@pytest.fixture
def easypost_vector(contracts_dir):
    folder = contracts_dir / "easypost"
    fixture = json.loads((folder / "webhook-fixture.json").read_text(encoding="utf-8"))
    # How easypost-python's tests/conftest.py::event_bytes builds the signed bytes.
    body = json.dumps(json.loads((folder / "event-body.json").read_text(encoding="utf-8")),
                      separators=(",", ":")).encode()
    return body, fixture["secret"], fixture["hmac_signature"]


def test_easypost_vector_passes_our_verifier_and_the_official_sdk(easypost_vector):
    body, secret, signature = easypost_vector
    assert secret != secret.encode("ascii", "ignore").decode()  # non-ASCII: NFKD matters
    headers = {"X-Hmac-Signature": signature}

    make_verifier("easypost", [secret]).verify(headers, body)
    assert easypost.util.validate_webhook(body, headers, secret) == json.loads(body)
    assert make_verifier("easypost", [secret]).sign(body) == signature
    # Header names arrive lower-cased through some proxies: still accepted.
    make_verifier("easypost", [secret]).verify({"x-hmac-signature": signature}, body)


def test_easypost_vector_rejections_agree_with_the_official_sdk(easypost_vector):
    body, secret, signature = easypost_vector
    tampered = body.replace(b"in_transit", b"delivered", 1)
    assert tampered != body
    cases = [
        (tampered, {"X-Hmac-Signature": signature}, secret, "invalid_signature"),
        (body, {"X-Hmac-Signature": signature}, "secret", "invalid_signature"),
        (body, {}, secret, "missing_signature"),
    ]
    for data, headers, key, code in cases:
        with pytest.raises(SignatureVerificationError):
            easypost.util.validate_webhook(data, headers, key)
        with pytest.raises(SignatureError) as caught:
            make_verifier("easypost", [key]).verify(headers, data)
        assert caught.value.code == code


def test_our_easypost_signature_passes_the_official_sdk():
    body = json.dumps({"object": "Event", "description": "tracker.updated",
                       "result": {"tracking_code": "EZ1000000001"}}).encode()
    for secret in ("sécret", "ﬁle-secret", "plain"):
        headers = make_verifier("easypost", [secret]).headers(body)
        assert easypost.util.validate_webhook(body, headers, secret)["result"] == {
            "tracking_code": "EZ1000000001"}


# --------------------------------------------------------------------------- Standard Webhooks
def _whsec(nbytes: int, padded: bool = True) -> str:
    """A ``whsec_`` secret: base64 of random bytes, as the Standard Webhooks spec describes."""
    encoded = base64.b64encode(os.urandom(nbytes)).decode()
    return "whsec_" + (encoded if padded else encoded.rstrip("="))


BODY = json.dumps({"type": "shipment.delivered", "data": {"ref": "WH/OUT/0001",
                   "note": "livré à l'accueil"}}, ensure_ascii=False)


def _library_headers(secret: str, msg_id: str, body: str, when: datetime | None = None) -> dict:
    when = when or datetime.now(tz=timezone.utc)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, when, body)}


@pytest.mark.parametrize("nbytes", [24, 32, 64])
def test_library_signs_we_verify(nbytes):
    secret = _whsec(nbytes)
    headers = _library_headers(secret, "msg_2ZbA1", BODY)
    make_verifier("standard_webhooks", [secret]).verify(headers, BODY.encode())
    # The same secret without its prefix is the same key.
    make_verifier("standard_webhooks", [secret.removeprefix("whsec_")]).verify(
        headers, BODY.encode())


@pytest.mark.parametrize("nbytes", [24, 32, 64])
def test_we_sign_library_verifies(nbytes):
    secret = _whsec(nbytes)
    headers = make_verifier("standard_webhooks", [secret]).headers("msg_2ZbA2", BODY.encode())
    assert Webhook(secret).verify(BODY.encode(), headers) == json.loads(BODY)


def test_rejections_agree_with_the_library():
    secret, other = _whsec(32), _whsec(32)
    headers = _library_headers(secret, "msg_3", BODY)
    stale = _library_headers(secret, "msg_4", BODY,
                             datetime.fromtimestamp(time.time() - 3600, tz=timezone.utc))
    cases = [
        (headers, BODY.replace("WH/OUT/0001", "WH/OUT/0002"), secret, "invalid_signature"),
        (headers, BODY, other, "invalid_signature"),
        ({**headers, "webhook-id": "msg_other"}, BODY, secret, "invalid_signature"),
        (stale, BODY, secret, "stale_timestamp"),
        ({k: v for k, v in headers.items() if k != "webhook-signature"}, BODY, secret,
         "missing_signature"),
    ]
    for hdrs, body, key, code in cases:
        with pytest.raises(WebhookVerificationError):
            Webhook(key).verify(body.encode(), hdrs)
        with pytest.raises(SignatureError) as caught:
            make_verifier("standard_webhooks", [key]).verify(hdrs, body.encode())
        assert caught.value.code == code


def test_rotation_several_signatures_in_one_header():
    old, new = _whsec(32), _whsec(32)
    msg_id, when = "msg_5", datetime.now(tz=timezone.utc)
    both = " ".join(Webhook(k).sign(msg_id, when, BODY) for k in (old, new))
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(when.timestamp())),
               "webhook-signature": both}
    for key in (old, new):
        Webhook(key).verify(BODY.encode(), headers)
        make_verifier("standard_webhooks", [key]).verify(headers, BODY.encode())
    make_verifier("standard_webhooks", [_whsec(32), new]).verify(headers, BODY.encode())


@pytest.mark.xfail(strict=True, reason="divergence: a whsec_ secret in unpadded base64 (which "
                   "the official library accepts) is used as raw UTF-8 by our verifier")
def test_unpadded_whsec_secret_is_the_same_key_as_for_the_library():
    secret = _whsec(32, padded=False)  # 32 bytes: padded base64 would end with "="
    headers = _library_headers(secret, "msg_6", BODY)
    Webhook(secret).verify(BODY.encode(), headers)
    make_verifier("standard_webhooks", [secret]).verify(headers, BODY.encode())
