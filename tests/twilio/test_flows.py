"""The use cases over Twilio-over-loopback and signed webhooks, and the auth token's secrecy."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode, urlsplit

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.http import Response, handle
from neariq_sms.adapters.memory import InMemoryUnitOfWork, ManualClock
from neariq_sms.adapters.twilio import (
    INBOUND_PATH,
    STATUS_MESSAGE_PARAM,
    STATUS_PATH,
    TwilioSignatureVerifier,
    TwilioTelephony,
    inbound_from_form,
    parse_form,
    status_from_form,
    status_report,
    twiml_reply,
)
from neariq_sms.config import Services
from neariq_sms.domain import Business, Policy
from neariq_sms.domain.errors import (
    ProviderError,
    RecipientOptedOut,
    SmsError,
    SmsNotConfigured,
)
from neariq_sms.domain.messages import MessageStatus
from neariq_sms.domain.phone import PhoneNumber
from tests.twilio.conftest import FAST_RETRY, PUBLIC_URL, TIMEOUT
from tests.twilio.fake_twilio import FakeTwilio
from tests.twilio.test_webhooks import twilio_signature

CUSTOMER = "+15557654321"


def open_shop(
    uow: InMemoryUnitOfWork, twilio: TwilioTelephony, clock: ManualClock
) -> tuple[Business, str]:
    shop = uc.create_business(
        "Aster Grove Fitness", "growth", uow=uow, clock=clock, review_url="https://g.page/r/a"
    )
    [first, *_] = uc.search_numbers(shop.id, "512", uow=uow, telephony=twilio)
    uc.provision_number(shop.id, first.number.e164, uow=uow, telephony=twilio, clock=clock)
    uc.record_consent(shop.id, CUSTOMER, "point_of_sale", uow=uow, clock=clock)
    return shop, first.number.e164


def webhook(
    fake: FakeTwilio, path: str, params: list[tuple[str, str]]
) -> tuple[list[tuple[str, str]], str]:
    """The body Twilio would post and its X-Twilio-Signature, as the HTTP layer receives them."""
    body = urlencode(params).encode()
    return parse_form(body), twilio_signature(fake.auth_token, PUBLIC_URL + path, params)


def test_review_request_status_and_stop_over_twilio(
    fake: FakeTwilio, twilio: TwilioTelephony, clock: ManualClock
) -> None:
    """Provision, send, a signed delivery callback, a signed STOP: all through the use cases."""
    uow = InMemoryUnitOfWork()
    verifier = TwilioSignatureVerifier(fake.auth_token, PUBLIC_URL)
    shop, number = open_shop(uow, twilio, clock)

    sent = uc.send_review_request(shop.id, CUSTOMER, "Jane", uow=uow, telephony=twilio, clock=clock)
    assert sent.status is MessageStatus.QUEUED
    assert fake.messages[0]["sid"] == sent.message_sid
    assert fake.messages[0]["status_callback"] == (
        f"{PUBLIC_URL}{STATUS_PATH}?{STATUS_MESSAGE_PARAM}={sent.message_id}"
    )

    params, signature = webhook(
        fake,
        STATUS_PATH,
        [("MessageSid", sent.message_sid or ""), ("MessageStatus", "delivered"), ("To", CUSTOMER)],
    )
    assert verifier.verify(STATUS_PATH, params, signature)
    sid, status, error_code = status_from_form(params)
    assert uc.handle_status_callback(status_report(sid, status, error_code), uow=uow, clock=clock)

    params, signature = webhook(
        fake,
        INBOUND_PATH,
        [
            ("To", number),
            ("From", CUSTOMER),
            ("Body", "Stop."),
            ("MessageSid", "SM" + "b" * 32),
            ("FromCity", ""),
            ("ToZip", ""),
        ],
    )
    assert verifier.verify(INBOUND_PATH, params, signature)
    stop = inbound_from_form(params)
    result = uc.handle_inbound_message(
        stop.to, stop.from_, stop.body, stop.message_sid, uow=uow, clock=clock
    )
    assert "unsubscribed" in twiml_reply(result.reply)
    consent = uc.get_consent(shop.id, CUSTOMER, uow=uow)
    assert consent is not None
    assert consent.opt_out_source == "keyword"


def test_twilio_21610_on_send_records_the_opt_out(
    fake: FakeTwilio, twilio: TwilioTelephony, clock: ManualClock
) -> None:
    """The carrier-level STOP surfaces as recipient_opted_out and the use case records it."""
    uow = InMemoryUnitOfWork()
    shop, _ = open_shop(uow, twilio, clock)
    fake.opted_out.add(CUSTOMER)
    with pytest.raises(RecipientOptedOut):
        uc.send_review_request(shop.id, CUSTOMER, "Jane", uow=uow, telephony=twilio, clock=clock)
    consent = uc.get_consent(shop.id, CUSTOMER, uow=uow)
    assert consent is not None
    assert (consent.opted_out, consent.opt_out_source) == (True, "provider")


def test_a_send_that_timed_out_stays_submitting_for_reconciliation(
    fake: FakeTwilio, twilio: TwilioTelephony, clock: ManualClock
) -> None:
    """Ambiguous: Twilio may have sent it, so the message is neither failed nor refunded."""
    uow = InMemoryUnitOfWork()
    shop, _ = open_shop(uow, twilio, clock)
    fake.inject("send", delay=2.0)
    with pytest.raises(ProviderError) as caught:
        uc.send_review_request(shop.id, CUSTOMER, "Jane", uow=uow, telephony=twilio, clock=clock)
    assert caught.value.ambiguous
    with uow:
        [message] = uow.messages.for_business(shop.id)
    assert message.status is MessageStatus.SUBMITTING


def test_the_auth_token_never_appears_in_logs_reprs_or_errors(
    fake: FakeTwilio, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A whole flow with errors, logged at DEBUG (SDK and urllib3 included), never shows it."""
    caplog.set_level(logging.DEBUG)
    # The adapter quiets the SDK's request log unless the host sets its level: set it.
    caplog.set_level(logging.DEBUG, logger="twilio.http_client")
    wrong_token = "wrong-token-5e1c7e7"
    environ = {
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "NEARIQ_SMS_PUBLIC_URL": PUBLIC_URL,
    }
    twilio = TwilioTelephony(
        fake.client(), public_url=PUBLIC_URL, timeout=TIMEOUT, retry=FAST_RETRY
    )
    refused = TwilioTelephony(fake.client(auth_token=wrong_token), public_url=PUBLIC_URL)
    verifier = TwilioSignatureVerifier.from_env(environ)
    assert verifier is not None
    errors: list[SmsError] = []

    uow = InMemoryUnitOfWork()
    shop, number = open_shop(uow, twilio, clock)
    uc.send_review_request(shop.id, CUSTOMER, "Jane", uow=uow, telephony=twilio, clock=clock)
    fake.inject("search", status=500)
    twilio.search_available("512", 2)
    fake.inject("send", status=500)
    fake.opted_out.add("+15557654322")
    fake.inject("release", status=429, retry_after="0")
    attempts = [
        lambda: twilio.send(from_=PhoneNumber(number), to=PhoneNumber(CUSTOMER), body="x"),
        lambda: twilio.send(from_=PhoneNumber(number), to=PhoneNumber("+15557654322"), body="x"),
        lambda: refused.search_available("512", 1),
        lambda: refused.send(from_=PhoneNumber(number), to=PhoneNumber(CUSTOMER), body="x"),
        lambda: refused.purchase(PhoneNumber("+15125550150")),
    ]
    for attempt in attempts:
        with pytest.raises(SmsError) as caught:
            attempt()
        errors.append(caught.value)
    assert {type(e) for e in errors} == {ProviderError, RecipientOptedOut, SmsNotConfigured}
    verifier.verify(INBOUND_PATH, [("Body", "hi")], "forged")
    uc.release_number(shop.id, uow=uow, telephony=twilio, clock=clock)

    loggers = {r.name.split(".")[0] for r in caplog.records}
    assert {"neariq_sms", "twilio", "urllib3"} <= loggers, "the whole stack logged"
    shown = [
        caplog.text,
        *(r.getMessage() for r in caplog.records),
        repr(twilio),
        repr(refused),
        repr(verifier),
        repr(TwilioTelephony.from_env(environ)),
        *(str(e) for e in errors),
        *(repr(e) for e in errors),
    ]
    for secret in (fake.auth_token, wrong_token):
        assert not [text for text in shown if secret in text]


def _contract_over(
    fake: FakeTwilio, clock: ManualClock
) -> tuple[Services, TwilioTelephony, list[Response]]:
    """The HTTP contract over Twilio-over-loopback, memory storage and signed webhooks,
    and the answers to the status callbacks the fake posts to it."""
    twilio = TwilioTelephony(fake.client(), public_url=PUBLIC_URL, timeout=5.0, retry=FAST_RETRY)
    services = Services(
        uow=InMemoryUnitOfWork(),
        telephony=twilio,
        clock=clock,
        policy=Policy(quiet_hours=None),
        webhooks=TwilioSignatureVerifier(fake.auth_token, PUBLIC_URL),
    )
    answers: list[Response] = []

    def deliver(url: str, params: list[tuple[str, str]]) -> None:
        """Twilio posting to the StatusCallback it was given, signed over that very URL."""
        assert url.startswith(PUBLIC_URL)
        parts = urlsplit(url)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": twilio_signature(fake.auth_token, url, params),
        }
        body = urlencode(params).encode()
        answers.append(
            handle("POST", parts.path, parts.query, headers, body, None, services=services)
        )

    fake.deliver_callback = deliver
    return services, twilio, answers


def _send_over_http(services: Services, business_id: str, key: str) -> Response:
    body = json.dumps({"action": "send_review_request", "to": CUSTOMER, "customerName": "Jane"})
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    return handle("POST", "/api/sms", "", headers, body.encode(), business_id, services=services)


@pytest.mark.parametrize(
    ("callbacks", "final", "error_code"),
    [
        ([("sent", None), ("delivered", None)], MessageStatus.DELIVERED, None),
        ([("undelivered", 30003)], MessageStatus.UNDELIVERED, 30003),
        ([("failed", 21610)], MessageStatus.FAILED, 21610),
    ],
)
def test_a_status_callback_that_beats_the_send_answer_is_applied_not_dropped(
    fake: FakeTwilio,
    clock: ManualClock,
    callbacks: list[tuple[str, int | None]],
    final: MessageStatus,
    error_code: int | None,
) -> None:
    """Twilio posts signed callbacks before it answers the send (step 3 not yet stored):
    each is applied through the HTTP contract, the send's late answer moves nothing back,
    and an asynchronous 21610 records the opt-out."""
    services, twilio, answers = _contract_over(fake, clock)
    fake.callback_statuses = callbacks
    shop, _ = open_shop(services.uow, twilio, clock)  # type: ignore[arg-type]

    sent = _send_over_http(services, shop.id, "visit-1")

    assert sent.status == 200, sent.body
    assert sent.json()["status"] == "queued"  # what Twilio's answer said
    assert [(a.status, a.json()) for a in answers] == [(200, {"ok": True})] * len(callbacks)
    with services.uow:
        [message] = services.uow.messages.for_business(shop.id)
    assert message.status is final
    assert message.provider_sid == sent.json()["messageSid"]
    assert message.error_code == error_code
    consent = uc.get_consent(shop.id, CUSTOMER, uow=services.uow)
    assert consent is not None
    assert consent.opted_out is (error_code == 21610)
    if error_code == 21610:
        assert consent.opt_out_source == "provider"
        refused = _send_over_http(services, shop.id, "visit-2")
        assert (refused.status, refused.json()["code"]) == (400, "recipient_opted_out")
