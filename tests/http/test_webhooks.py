"""The Twilio webhooks of a live sandbox server: signed requests act, others change nothing."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from neariq_sms.config import SANDBOX_AUTH_TOKEN
from tests.http.live import (
    CUSTOMER,
    LiveServer,
    Tenant,
    consent,
    error_of,
    post_action,
    provision_first,
    snapshot,
)

INBOUND = "/api/sms/webhooks/twilio/inbound"
STATUS = "/api/sms/webhooks/twilio/status"


def signed_post(
    server: LiveServer, path: str, params: dict[str, str], *, token: str = SANDBOX_AUTH_TOKEN
) -> httpx.Response:
    signature = RequestValidator(token).compute_signature(server.base_url + path, params)
    return httpx.post(
        server.base_url + path,
        content=urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )


@pytest.fixture
def shop(server: LiveServer) -> tuple[Tenant, str]:
    tenant = server.tenant(name="Aster Grove Fitness")
    with tenant.client() as client:
        number = provision_first(client, "415")
        consent(client)
    return tenant, number


def inbound(number: str, body: str, sid: str) -> dict[str, str]:
    return {"To": number, "From": CUSTOMER, "Body": body, "MessageSid": sid, "FromCity": ""}


def test_a_signed_stop_opts_the_customer_out_with_one_confirmation(
    server: LiveServer, shop: tuple[Tenant, str]
) -> None:
    """STOP answers TwiML with a confirmation and records an opt-out with source keyword."""
    tenant, number = shop
    answer = signed_post(server, INBOUND, inbound(number, "Stop.", "SM" + "a" * 32))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml")
    assert "<Message>" in answer.text
    with tenant.client() as client:
        record = client.get("/api/sms/consents", params={"phone": CUSTOMER}).json()
        assert record["optedOut"] is True
        assert record["optOutSource"] == "keyword"
        refused = post_action(client, "send_review_request", to=CUSTOMER, customerName="Jane")
        assert error_of(refused) == "recipient_opted_out"
    start = signed_post(server, INBOUND, inbound(number, "START", "SM" + "b" * 32))
    assert start.status_code == 200
    with tenant.client() as client:
        record = client.get("/api/sms/consents", params={"phone": CUSTOMER}).json()
        assert record["optedOut"] is False


def test_an_ordinary_message_gets_an_empty_twiml_answer(
    server: LiveServer, shop: tuple[Tenant, str]
) -> None:
    """A message that is not a keyword is stored and answered with an empty <Response/>."""
    _, number = shop
    answer = signed_post(server, INBOUND, inbound(number, "see you tomorrow", "SM" + "c" * 32))
    assert answer.status_code == 200
    assert "<Message>" not in answer.text
    assert "Response" in answer.text


@pytest.mark.parametrize(
    "signature",
    [None, "", "bm90IGEgc2lnbmF0dXJl", "wrong-token"],
)
def test_a_bad_or_missing_signature_is_403_and_changes_nothing(
    server: LiveServer, shop: tuple[Tenant, str], signature: str | None
) -> None:
    """Unsigned, mis-signed or wrongly keyed webhooks answer 403 invalid_signature."""
    tenant, number = shop
    params = inbound(number, "STOP", "SM" + "d" * 32)
    with tenant.client() as client:
        before = snapshot(client)
        if signature == "wrong-token":
            answer = signed_post(server, INBOUND, params, token="another-token")
        else:
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            if signature is not None:
                headers["X-Twilio-Signature"] = signature
            answer = httpx.post(
                server.base_url + INBOUND, content=urlencode(params).encode(), headers=headers
            )
        assert (answer.status_code, error_of(answer)) == (403, "invalid_signature")
        assert snapshot(client) == before
        record = client.get("/api/sms/consents", params={"phone": CUSTOMER}).json()
        assert record["optedOut"] is False


def test_a_signature_for_other_parameters_does_not_verify(
    server: LiveServer, shop: tuple[Tenant, str]
) -> None:
    """A signature is bound to the parameters: tampering with the body answers 403."""
    _, number = shop
    params = inbound(number, "hello", "SM" + "e" * 32)
    signature = RequestValidator(SANDBOX_AUTH_TOKEN).compute_signature(
        server.base_url + INBOUND, params
    )
    tampered = {**params, "Body": "STOP"}
    answer = httpx.post(
        server.base_url + INBOUND,
        content=urlencode(tampered).encode(),
        headers={"X-Twilio-Signature": signature},
    )
    assert (answer.status_code, error_of(answer)) == (403, "invalid_signature")
    for body in [b"\xff\xfe", b"a=1&&&b", b"%zz"]:
        garbage = httpx.post(
            server.base_url + STATUS, content=body, headers={"X-Twilio-Signature": signature}
        )
        assert (garbage.status_code, error_of(garbage)) == (403, "invalid_signature")


def test_status_callbacks_move_a_message_forward_only(
    server: LiveServer, shop: tuple[Tenant, str]
) -> None:
    """delivered sticks; a late sent does not overwrite it (seen through an idempotent replay)."""
    tenant, _ = shop
    key = [("Idempotency-Key", "visit-1")]
    with tenant.client() as client:
        sent = post_action(client, "send_review_request", key, to=CUSTOMER, customerName="Jane")
        sid = sent.json()["messageSid"]
        assert sent.json()["status"] == "queued"
        for status in ["delivered", "sent"]:
            answer = signed_post(server, STATUS, {"MessageSid": sid, "MessageStatus": status})
            assert answer.status_code == 200
            assert answer.json() == {"ok": True}
        replay = post_action(client, "send_review_request", key, to=CUSTOMER, customerName="Jane")
        assert replay.json() == {"ok": True, "messageSid": sid, "status": "delivered"}


def test_a_status_callback_for_an_unknown_sid_is_accepted_and_ignored(server: LiveServer) -> None:
    """Twilio retries on errors; an unknown sid is acknowledged and changes nothing."""
    answer = signed_post(server, STATUS, {"MessageSid": "SM" + "0" * 32, "MessageStatus": "sent"})
    assert answer.status_code == 200


@pytest.mark.parametrize("error_code", ["\u00b2", "\u0663\u0660", "30008"])
def test_a_status_callback_with_an_odd_error_code_never_fails(
    server: LiveServer, shop: tuple[Tenant, str], error_code: str
) -> None:
    """ErrorCode "²" passes str.isdigit() but not int(): the callback is still acknowledged."""
    tenant, _ = shop
    with tenant.client() as client:
        sent = post_action(client, "send_review_request", to=CUSTOMER, customerName="Jane")
        sid = sent.json()["messageSid"]
    params = {"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": error_code}
    answer = signed_post(server, STATUS, params)
    assert (answer.status_code, answer.json()) == (200, {"ok": True})
