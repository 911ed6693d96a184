"""The Twilio webhooks of a live sandbox server: signed requests act, others change nothing."""

from __future__ import annotations

import json
import uuid
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from neariq_sms import usecases as uc
from neariq_sms.adapters.http import handle
from neariq_sms.adapters.memory import ManualClock, SimulatedTelephony
from neariq_sms.adapters.twilio import TwilioSignatureVerifier
from neariq_sms.config import SANDBOX_AUTH_TOKEN, Services
from neariq_sms.domain import Policy
from neariq_sms.ports import UnitOfWork
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
    ("body", "opted_out"),
    [
        ("\uff33\uff34\uff2f\uff30", True),
        ("(stop)", True),
        ('"STOP"', True),
        ("STOP \U0001f64f", True),
        ("opt-out", True),
        ("OPT OUT!", True),
        ("ST\x00OP", True),
        ("\u200bStop\u200d", True),
        ("STOP PLEASE", False),
        ("we have to stop this", False),
    ],
)
def test_a_stop_variant_through_the_webhook_opts_out_and_a_longer_message_does_not(
    server: LiveServer, shop: tuple[Tenant, str], body: str, opted_out: bool
) -> None:
    """The body is normalised before classifying; only a whole-message keyword acts."""
    tenant, number = shop
    answer = signed_post(server, INBOUND, inbound(number, body, "SM" + uuid.uuid4().hex))
    assert answer.status_code == 200
    assert ("<Message>" in answer.text) is opted_out
    with tenant.client() as client:
        record = client.get("/api/sms/consents", params={"phone": CUSTOMER}).json()
    assert record["optedOut"] is opted_out


def test_twilios_opt_out_type_counts_for_a_localised_keyword(
    server: LiveServer, shop: tuple[Tenant, str]
) -> None:
    """Advanced Opt-Out: ARRET with OptOutType=STOP opts out; PARTIR with START opts back in."""
    tenant, number = shop
    stop = {**inbound(number, "ARRET", "SM" + uuid.uuid4().hex), "OptOutType": "STOP"}
    answer = signed_post(server, INBOUND, stop)
    assert answer.status_code == 200
    assert "<Message>" in answer.text
    record = consent_record(tenant)
    assert (record["optedOut"], record["optOutSource"]) == (True, "keyword")
    with tenant.client() as client:
        refused = post_action(client, "send_review_request", to=CUSTOMER, customerName="Jane")
        assert error_of(refused) == "recipient_opted_out"
    start = {**inbound(number, "PARTIR", "SM" + uuid.uuid4().hex), "OptOutType": "START"}
    assert signed_post(server, INBOUND, start).status_code == 200
    assert consent_record(tenant)["optedOut"] is False


def test_a_stop_to_a_released_number_opts_the_customer_out_of_the_business(
    server: LiveServer, shop: tuple[Tenant, str]
) -> None:
    """Release, provision another number, STOP to the old one: the business can no longer
    text that customer (consent is per business, not per number)."""
    tenant, old_number = shop
    with tenant.client() as client:
        assert post_action(client, "release").status_code == 200
        found = client.get("/api/sms", params={"action": "search", "areaCode": "415"}).json()
        new_number = next(n["number"] for n in found["numbers"] if n["number"] != old_number)
        assert post_action(client, "provision", phoneNumber=new_number).status_code == 200
    answer = signed_post(server, INBOUND, inbound(old_number, "STOP", "SM" + uuid.uuid4().hex))
    assert answer.status_code == 200
    assert "<Message>" in answer.text
    with tenant.client() as client:
        refused = post_action(client, "send_review_request", to=CUSTOMER, customerName="Jane")
        assert (refused.status_code, error_of(refused)) == (400, "recipient_opted_out")
    assert consent_record(tenant)["optOutSource"] == "keyword"


@pytest.mark.parametrize("body", ["STOP", "HELP", "START"])
def test_a_redelivered_keyword_gets_no_second_reply(
    server: LiveServer, shop: tuple[Tenant, str], body: str
) -> None:
    """Twilio may post the same message twice: the confirmation goes out once, the repeat
    is answered with an empty <Response/> and changes nothing."""
    tenant, number = shop
    params = inbound(number, body, "SM" + uuid.uuid4().hex)
    first = signed_post(server, INBOUND, params)
    assert "<Message>" in first.text
    with tenant.client() as client:
        before = snapshot(client)
        again = signed_post(server, INBOUND, params)
        assert again.status_code == 200
        assert again.headers["content-type"].startswith("application/xml")
        assert "<Message>" not in again.text
        assert "Response" in again.text
        assert snapshot(client) == before


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
    """delivered sticks; a late sent does not overwrite it. An idempotent replay still
    answers exactly what the first request did (queued)."""
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
        assert (replay.status_code, replay.json()) == (sent.status_code, sent.json())
    with server.uow:
        message = server.uow.messages.by_provider_sid(sid)
    assert message is not None
    assert message.status.value == "delivered"


def test_a_status_callback_for_an_unknown_sid_is_accepted_and_ignored(server: LiveServer) -> None:
    """Twilio retries on errors; an unknown sid is acknowledged and changes nothing."""
    answer = signed_post(server, STATUS, {"MessageSid": "SM" + "0" * 32, "MessageStatus": "sent"})
    assert answer.status_code == 200


def test_a_status_callback_with_an_error_code_is_applied(
    server: LiveServer, shop: tuple[Tenant, str]
) -> None:
    """undelivered with ErrorCode 30008: acknowledged, status and code stored."""
    tenant, _ = shop
    with tenant.client() as client:
        sent = post_action(client, "send_review_request", to=CUSTOMER, customerName="Jane")
        sid = sent.json()["messageSid"]
    params = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30008"}
    answer = signed_post(server, STATUS, params)
    assert (answer.status_code, answer.json()) == (200, {"ok": True})
    assert message_status(server, sid) == ("undelivered", 30008)


# --- field shapes: the signature does not bind where one parameter ends -----------------


def twilio_inbound(number: str, body: str, sid: str) -> dict[str, str]:
    """An inbound webhook as Twilio posts it (no Messaging Service): the sid three times."""
    return {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": number,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": "AC" + "1" * 32,
        "From": CUSTOMER,
        "FromCity": "",
        "ApiVersion": "2010-04-01",
    }


def post_with_signature(
    server: LiveServer, path: str, params: dict[str, str], signature: str
) -> httpx.Response:
    return httpx.post(
        server.base_url + path,
        content=urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )


def consent_record(tenant: Tenant) -> dict[str, object]:
    with tenant.client() as client:
        record: dict[str, object] = client.get(
            "/api/sms/consents", params={"phone": CUSTOMER}
        ).json()
        return record


def test_a_captured_start_replayed_with_a_folded_sid_cannot_lift_a_later_stop(
    server: LiveServer, shop: tuple[Tenant, str]
) -> None:
    """START, then STOP; the START replayed with NumMedia folded into MessageSid still
    verifies (no separator between name and value) but is refused, and the opt-out stands.
    Folding the whole MessageSid into the field before it leaves the genuine SmsMessageSid:
    a duplicate, answered with an empty <Response/>."""
    tenant, number = shop
    start = twilio_inbound(number, "START", "SM" + "1" * 32)
    url = server.base_url + INBOUND
    signature = RequestValidator(SANDBOX_AUTH_TOKEN).compute_signature(url, start)
    assert post_with_signature(server, INBOUND, start, signature).status_code == 200
    stop = signed_post(server, INBOUND, twilio_inbound(number, "STOP", "SM" + "2" * 32))
    assert stop.status_code == 200
    assert consent_record(tenant)["optedOut"] is True

    folded = {k: v for k, v in start.items() if k != "NumMedia"}
    folded["MessageSid"] += "NumMedia0"
    assert RequestValidator(SANDBOX_AUTH_TOKEN).validate(url, folded, signature)
    answer = post_with_signature(server, INBOUND, folded, signature)
    assert (answer.status_code, error_of(answer)) == (400, "invalid_field")
    assert "MessageSid" in answer.json()["error"]

    no_sid = {k: v for k, v in start.items() if k != "MessageSid"}
    no_sid["FromCity"] = "MessageSid" + start["MessageSid"]
    assert RequestValidator(SANDBOX_AUTH_TOKEN).validate(url, no_sid, signature)
    answer = post_with_signature(server, INBOUND, no_sid, signature)
    assert answer.status_code == 200
    assert "<Message>" not in answer.text
    record = consent_record(tenant)
    assert (record["optedOut"], record["optOutSource"]) == (True, "keyword")


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("MessageSid", "SM" + "3" * 32 + "NumMedia0", "invalid_field"),
        ("MessageSid", "SM" + "3" * 31, "invalid_field"),
        ("MessageSid", "", "missing_field"),
        ("From", "15557654321", "invalid_field"),
        ("From", "+15557654321\n", "invalid_field"),
        ("From", "whatsapp:+15557654321", "invalid_field"),
        ("From", "", "missing_field"),
        ("To", "+1 512 555 0123", "invalid_field"),
        ("OptOutType", "stop", "invalid_field"),
        ("OptOutType", "STOPSmsMessageSid", "invalid_field"),
    ],
)
def test_an_inbound_field_of_the_wrong_shape_is_400_and_changes_nothing(
    server: LiveServer, shop: tuple[Tenant, str], field: str, value: str, code: str
) -> None:
    """A signed STOP whose sid, numbers or OptOutType are not Twilio's shape is refused."""
    tenant, number = shop
    params = twilio_inbound(number, "STOP", "SM" + "3" * 32)
    params[field] = value
    if field == "MessageSid" and not value:
        for legacy in ("SmsSid", "SmsMessageSid"):
            del params[legacy]
    with tenant.client() as client:
        before = snapshot(client)
        answer = signed_post(server, INBOUND, params)
        assert (answer.status_code, error_of(answer)) == (400, code)
        assert field in answer.json()["error"]
        assert snapshot(client) == before


def message_status(server: LiveServer, sid: str) -> tuple[str, int | None]:
    with server.uow as uow:
        message = uow.messages.by_provider_sid(sid)
    assert message is not None
    return message.status.value, message.error_code


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("MessageStatus", "DELIVERED", "invalid_field"),
        ("MessageStatus", "deliveredErrorCode", "invalid_field"),
        ("MessageStatus", "", "missing_field"),
        ("ErrorCode", "9" * 30, "invalid_field"),
        ("ErrorCode", "2147483648", "invalid_field"),
        ("ErrorCode", "-1", "invalid_field"),
        ("ErrorCode", "\u00b2", "invalid_field"),
        ("ErrorCode", "\u0663\u0660", "invalid_field"),
        ("ErrorCode", "30008MessageSid", "invalid_field"),
        ("MessageSid", "{sid}x", "invalid_field"),
        ("MessageSid", "{sid}ErrorCode21610", "invalid_field"),
    ],
)
def test_a_status_field_of_the_wrong_shape_is_400_and_changes_nothing(
    server: LiveServer, shop: tuple[Tenant, str], field: str, value: str, code: str
) -> None:
    """An unknown status, an ErrorCode out of range (past int32: PostgreSQL's column) or not
    an ASCII integer, a sid with more after it: 400, and the message keeps its status."""
    tenant, _ = shop
    with tenant.client() as client:
        sent = post_action(client, "send_review_request", to=CUSTOMER, customerName="Jane")
        sid = sent.json()["messageSid"]
        params = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "21610"}
        params[field] = value.format(sid=sid)
        before = snapshot(client)
        answer = signed_post(server, STATUS, params)
        assert (answer.status_code, error_of(answer)) == (400, code)
        assert snapshot(client) == before
    assert message_status(server, sid) == ("queued", None)


@pytest.mark.parametrize("code", ["2147483648", "9223372036854775808", "9" * 400])
def test_an_error_code_past_every_columns_range_is_400_on_every_backend(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock, code: str
) -> None:
    """Past int32 (PostgreSQL's column) and int64 (SQLite's) a callback answered 500."""
    verifier = TwilioSignatureVerifier(SANDBOX_AUTH_TOKEN, "http://testserver")
    services = Services(uow, telephony, clock, Policy(), webhooks=verifier)
    business = uc.create_business("Aster Grove Fitness", "growth", uow=uow, clock=clock)
    uc.provision_number(business.id, "+15125550123", uow=uow, telephony=telephony, clock=clock)
    uc.record_consent(business.id, CUSTOMER, "point_of_sale", uow=uow, clock=clock)
    sent = uc.send_review_request(
        business.id, CUSTOMER, "Jane", uow=uow, telephony=telephony, clock=clock
    )
    assert sent.message_sid is not None
    params = {"MessageSid": sent.message_sid, "MessageStatus": "failed", "ErrorCode": code}
    signature = RequestValidator(SANDBOX_AUTH_TOKEN).compute_signature(
        "http://testserver" + STATUS, params
    )
    status, _, body = handle(
        "POST",
        STATUS,
        "",
        {"X-Twilio-Signature": signature},
        urlencode(params).encode(),
        None,
        services=services,
    )
    assert (status, json.loads(body)["code"]) == (400, "invalid_field")
    with uow:
        message = uow.messages.by_provider_sid(sent.message_sid)
    assert message is not None
    assert (message.status.value, message.error_code) == ("queued", None)


@pytest.mark.parametrize(
    "query",
    ["messageId={id}x", "messageId={id}&messageId={id}", "messageId=%0A{id}", "messageId=../x"],
)
def test_a_status_callback_whose_message_id_is_not_ours_is_400_and_changes_nothing(
    server: LiveServer, shop: tuple[Tenant, str], query: str
) -> None:
    """The message id in the callback URL is acted on as well: it must be one of ours
    (32 hex digits, given once)."""
    tenant, _ = shop
    with tenant.client() as client:
        sent = post_action(client, "send_review_request", to=CUSTOMER, customerName="Jane")
        sid = sent.json()["messageSid"]
    with server.uow as uow:
        message = uow.messages.by_provider_sid(sid)
    assert message is not None
    raw_query = query.format(id=message.id)
    params = {"MessageSid": sid, "MessageStatus": "delivered"}
    url = f"{server.base_url}{STATUS}?{raw_query}"
    signature = RequestValidator(SANDBOX_AUTH_TOKEN).compute_signature(url, params)
    answer = httpx.post(
        url,
        content=urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )
    assert (answer.status_code, error_of(answer)) == (400, "invalid_field")
    assert "messageId" in answer.json()["error"]
    assert message_status(server, sid) == ("queued", None)
