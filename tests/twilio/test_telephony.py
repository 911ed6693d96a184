"""TwilioTelephony against the loopback Twilio: requests, answers and every error code."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import pytest
from twilio.rest import Client

from neariq_sms.adapters.twilio import INBOUND_PATH, STATUS_PATH, RetryPolicy, TwilioTelephony
from neariq_sms.adapters.twilio.border import int_or_none as _int_or_none
from neariq_sms.adapters.twilio.border import retry_after as _retry_after
from neariq_sms.domain.business import AvailableNumber
from neariq_sms.domain.errors import (
    InvalidPhone,
    NumberUnavailable,
    ProviderError,
    RecipientOptedOut,
    SmsNotConfigured,
)
from neariq_sms.domain.messages import MessageStatus
from neariq_sms.domain.phone import PhoneNumber
from tests.twilio.conftest import FAST_RETRY, PUBLIC_URL, TIMEOUT
from tests.twilio.fake_twilio import FakeTwilio, LoopbackHttpClient, unused_port_url

AUSTIN = PhoneNumber("+15125550123")
CUSTOMER = PhoneNumber("+15557654321")
#: Long enough that the adapter's timeout (0.3 s) always fires first.
SLOW = 2.0


def adapter_for(fake: FakeTwilio, sleeps: list[float], **kwargs: object) -> TwilioTelephony:
    options: dict[str, object] = {
        "public_url": PUBLIC_URL,
        "timeout": TIMEOUT,
        "retry": FAST_RETRY,
        "sleep": sleeps.append,
    }
    options.update(kwargs)
    client = options.pop("client", None) or fake.client()
    return TwilioTelephony(client, **options)  # type: ignore[arg-type]


def owned_number(twilio: TwilioTelephony) -> PhoneNumber:
    return twilio.purchase(AUSTIN).number


# --- search -----------------------------------------------------------------------


def test_search_asks_for_sms_capable_numbers_in_the_area_code(
    fake: FakeTwilio, twilio: TwilioTelephony
) -> None:
    """The query carries AreaCode, SmsEnabled=true and a page size no larger than the limit."""
    twilio.search_available("512", 5)
    [request] = fake.requests_for("search")
    assert request.method == "GET"
    assert (
        request.path
        == f"/2010-04-01/Accounts/{fake.account_sid}/AvailablePhoneNumbers/US/Local.json"
    )
    assert dict(request.query) == {"AreaCode": "512", "SmsEnabled": "true", "PageSize": "5"}
    assert request.headers["Accept"] == "application/json"


def test_search_maps_number_friendly_name_locality_and_region(twilio: TwilioTelephony) -> None:
    """The first Austin result is the spec's example, with every field mapped."""
    found = twilio.search_available("512", 3)
    assert len(found) == 3
    assert found[0] == AvailableNumber(AUSTIN, "(512) 555-0123", "Austin", "TX")


def test_search_without_a_known_locality_maps_it_to_none(twilio: TwilioTelephony) -> None:
    """Twilio's null locality and region stay None, not the string 'None'."""
    [first] = twilio.search_available("303", 1)
    assert (first.locality, first.region) == (None, None)


@pytest.mark.parametrize("lowercase", [False, True], ids=["SMS", "sms"])
def test_search_reads_capabilities_case_insensitively(lowercase: bool, sleeps: list[float]) -> None:
    """An offer whose capabilities say no SMS is dropped, whichever case the keys come in."""
    with FakeTwilio(available_caps_lowercase=lowercase, honour_sms_enabled=False) as fake:
        fake.voice_only.add(AUSTIN.e164)
        found = adapter_for(fake, sleeps).search_available("512", 3)
    assert [n.number.e164 for n in found] == ["+15125550124", "+15125550125"]


def test_search_retries_a_429_after_the_retry_after_twilio_asked_for(
    fake: FakeTwilio, twilio: TwilioTelephony, sleeps: list[float]
) -> None:
    """Retry-After replaces the computed backoff (429 / 20429 is never processed)."""
    fake.inject("search", status=429, retry_after="1")
    assert twilio.search_available("512", 1)
    assert sleeps == [1.0]
    assert len(fake.requests_for("search")) == 2


def test_search_gives_up_when_retry_after_exceeds_the_bound(
    fake: FakeTwilio, twilio: TwilioTelephony, sleeps: list[float]
) -> None:
    """Asking again before Twilio's Retry-After is pointless; longer than max_delay fails now."""
    fake.inject("search", status=429, retry_after="30")
    with pytest.raises(ProviderError) as caught:
        twilio.search_available("512", 1)
    assert (caught.value.provider_code, caught.value.ambiguous) == (20429, False)
    assert sleeps == []
    assert len(fake.requests_for("search")) == 1


def test_search_backs_off_exponentially_on_5xx(
    fake: FakeTwilio, twilio: TwilioTelephony, sleeps: list[float]
) -> None:
    """Two 500s then success: waits base, then twice base."""
    fake.inject("search", status=500, times=2)
    assert twilio.search_available("512", 1)
    assert sleeps == [0.01, 0.02]


def test_search_fails_after_the_bounded_number_of_attempts(
    fake: FakeTwilio, twilio: TwilioTelephony
) -> None:
    """A persistent 5xx ends in provider_error after exactly ``attempts`` requests."""
    fake.inject("search", status=500, times=5)
    with pytest.raises(ProviderError) as caught:
        twilio.search_available("512", 1)
    assert caught.value.provider_code == 20500
    assert caught.value.status == 502
    assert len(fake.requests_for("search")) == FAST_RETRY.attempts


def test_search_retries_after_a_timeout(
    fake: FakeTwilio, twilio: TwilioTelephony, sleeps: list[float]
) -> None:
    """A slow answer times out at the adapter's timeout, and the search is asked again."""
    fake.inject("search", delay=SLOW)
    assert twilio.search_available("512", 1)
    assert len(fake.requests_for("search")) == 2
    assert sleeps == [0.01]


def test_search_with_refused_credentials_is_not_configured(
    fake: FakeTwilio, sleeps: list[float]
) -> None:
    """401 / 20003 from list() (a plain TwilioException) means sms_not_configured, no retry."""
    twilio = adapter_for(fake, sleeps, client=fake.client(auth_token="wrong-token"))
    with pytest.raises(SmsNotConfigured):
        twilio.search_available("512", 1)
    assert [r.authorized for r in fake.requests] == [False]


def test_search_does_not_retry_a_client_error(fake: FakeTwilio, twilio: TwilioTelephony) -> None:
    """A 4xx other than 429 is final: provider_error with Twilio's code."""
    fake.inject("search", status=400, code=21451)
    with pytest.raises(ProviderError) as caught:
        twilio.search_available("512", 1)
    assert caught.value.provider_code == 21451
    assert len(fake.requests_for("search")) == 1


# --- purchase ---------------------------------------------------------------------


def test_purchase_points_the_number_at_the_inbound_webhook(
    fake: FakeTwilio, twilio: TwilioTelephony
) -> None:
    """PhoneNumber, SmsUrl (public URL + inbound path) and SmsMethod=POST are sent."""
    bought = twilio.purchase(AUSTIN)
    [request] = fake.requests_for("purchase")
    assert request.path == f"/2010-04-01/Accounts/{fake.account_sid}/IncomingPhoneNumbers.json"
    assert dict(request.form) == {
        "PhoneNumber": AUSTIN.e164,
        "SmsUrl": PUBLIC_URL + INBOUND_PATH,
        "SmsMethod": "POST",
    }
    assert re.fullmatch(r"PN[0-9a-f]{32}", bought.provider_sid)
    assert (bought.number, bought.friendly_name) == (AUSTIN, "(512) 555-0123")
    assert fake.owned[bought.provider_sid]["sms_url"] == PUBLIC_URL + INBOUND_PATH


def test_purchase_without_a_public_url_sets_no_webhook(
    fake: FakeTwilio, sleeps: list[float]
) -> None:
    """No NEARIQ_SMS_PUBLIC_URL: the number is bought with its webhooks untouched."""
    adapter_for(fake, sleeps, public_url=None).purchase(AUSTIN)
    [request] = fake.requests_for("purchase")
    assert dict(request.form) == {"PhoneNumber": AUSTIN.e164}


def test_purchase_of_a_number_no_longer_for_sale_is_number_unavailable(
    fake: FakeTwilio, twilio: TwilioTelephony
) -> None:
    """21422 from the server's own inventory rules."""
    fake.unavailable.add(AUSTIN.e164)
    with pytest.raises(NumberUnavailable) as caught:
        twilio.purchase(AUSTIN)
    assert caught.value.number == AUSTIN.e164


@pytest.mark.parametrize("code", [21421, 21422, 21452])
def test_purchase_error_codes_that_mean_number_unavailable(
    code: int, fake: FakeTwilio, twilio: TwilioTelephony
) -> None:
    """Each of Twilio's 'cannot buy this number' codes maps to number_unavailable."""
    fake.inject("purchase", status=400, code=code)
    with pytest.raises(NumberUnavailable):
        twilio.purchase(AUSTIN)


@pytest.mark.parametrize("status", [500, 503])
def test_purchase_5xx_is_ambiguous_and_never_retried(
    status: int, fake: FakeTwilio, twilio: TwilioTelephony, sleeps: list[float]
) -> None:
    """Twilio may have bought it: ambiguous provider_error, one request only."""
    fake.inject("purchase", status=status, times=3)
    with pytest.raises(ProviderError) as caught:
        twilio.purchase(AUSTIN)
    assert caught.value.ambiguous is True
    assert len(fake.requests_for("purchase")) == 1
    assert sleeps == []


def test_purchase_429_is_not_ambiguous_and_not_retried(
    fake: FakeTwilio, twilio: TwilioTelephony
) -> None:
    """A 429 was never processed: a plain provider_error, still never retried blindly."""
    fake.inject("purchase", status=429, retry_after="1")
    with pytest.raises(ProviderError) as caught:
        twilio.purchase(AUSTIN)
    assert (caught.value.ambiguous, caught.value.provider_code) == (False, 20429)
    assert len(fake.requests_for("purchase")) == 1


def test_purchase_timeout_is_ambiguous_because_twilio_may_have_bought_it(
    fake: FakeTwilio, twilio: TwilioTelephony
) -> None:
    """The read timed out after Twilio acted: the number is owned although we got no answer."""
    injection = fake.inject("purchase", delay=SLOW)
    with pytest.raises(ProviderError) as caught:
        twilio.purchase(AUSTIN)
    assert caught.value.ambiguous is True
    assert injection.acted.wait(5)
    assert [n["phone_number"] for n in fake.owned.values()] == [AUSTIN.e164]
    assert len(fake.requests_for("purchase")) == 1


def test_purchase_with_refused_credentials_is_not_configured(
    fake: FakeTwilio, sleeps: list[float]
) -> None:
    """401 / 20003 on a create (TwilioRestException) means sms_not_configured."""
    twilio = adapter_for(fake, sleeps, client=fake.client(auth_token="wrong-token"))
    with pytest.raises(SmsNotConfigured):
        twilio.purchase(AUSTIN)
    assert fake.owned == {}


# --- release ----------------------------------------------------------------------


def test_release_deletes_the_number(fake: FakeTwilio, twilio: TwilioTelephony) -> None:
    """DELETE on the number's sid; the account no longer owns it."""
    sid = twilio.purchase(AUSTIN).provider_sid
    twilio.release(sid)
    [request] = fake.requests_for("release")
    assert (request.method, request.path) == (
        "DELETE",
        f"/2010-04-01/Accounts/{fake.account_sid}/IncomingPhoneNumbers/{sid}.json",
    )
    assert fake.owned == {}


def test_release_of_a_number_already_gone_succeeds(
    fake: FakeTwilio, twilio: TwilioTelephony
) -> None:
    """The second release gets 404 / 20404 from Twilio and still succeeds."""
    sid = twilio.purchase(AUSTIN).provider_sid
    twilio.release(sid)
    twilio.release(sid)
    twilio.release("PN" + "f" * 32)
    assert len(fake.requests_for("release")) == 3


def test_release_retries_a_429_after_retry_after(
    fake: FakeTwilio, twilio: TwilioTelephony, sleeps: list[float]
) -> None:
    """Retry-After is read from the delete's answer although the SDK's exception lacks headers."""
    sid = twilio.purchase(AUSTIN).provider_sid
    fake.inject("release", status=429, retry_after="2")
    twilio.release(sid)
    assert sleeps == [2.0]
    assert fake.owned == {}


def test_retry_after_as_an_http_date_in_the_past_means_now(
    fake: FakeTwilio, twilio: TwilioTelephony, sleeps: list[float]
) -> None:
    """Retry-After may be an HTTP date; one already passed asks for no wait at all."""
    fake.inject("release", status=429, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")
    twilio.release("PN" + "0" * 32)
    assert sleeps == [0.0]


def test_release_retries_5xx_and_then_fails_ambiguously(
    fake: FakeTwilio, twilio: TwilioTelephony, sleeps: list[float]
) -> None:
    """Persistent 5xx: bounded retries, then provider_error (Twilio may have released it)."""
    sid = twilio.purchase(AUSTIN).provider_sid
    fake.inject("release", status=500, times=3)
    with pytest.raises(ProviderError) as caught:
        twilio.release(sid)
    assert caught.value.ambiguous is True
    assert len(fake.requests_for("release")) == 3
    assert sleeps == [0.01, 0.02]


def test_release_with_refused_credentials_is_not_configured(
    fake: FakeTwilio, sleeps: list[float]
) -> None:
    """401 / 20003 on a delete means sms_not_configured, and is not retried."""
    twilio = adapter_for(fake, sleeps, client=fake.client(auth_token="wrong-token"))
    with pytest.raises(SmsNotConfigured):
        twilio.release("PN" + "0" * 32)
    assert len(fake.requests) == 1


# --- send -------------------------------------------------------------------------


def test_send_carries_the_status_callback(fake: FakeTwilio, twilio: TwilioTelephony) -> None:
    """To, From, Body and the per-message StatusCallback; the answer is Twilio's sid and status."""
    sender = owned_number(twilio)
    sent = twilio.send(from_=sender, to=CUSTOMER, body="Hi Jane")
    [request] = fake.requests_for("send")
    assert request.path == f"/2010-04-01/Accounts/{fake.account_sid}/Messages.json"
    assert dict(request.form) == {
        "To": CUSTOMER.e164,
        "From": sender.e164,
        "Body": "Hi Jane",
        "StatusCallback": PUBLIC_URL + STATUS_PATH,
    }
    assert re.fullmatch(r"SM[0-9a-f]{32}", sent.provider_sid)
    assert sent.status is MessageStatus.QUEUED
    assert fake.messages[0]["sid"] == sent.provider_sid


def test_send_through_a_messaging_service_carries_its_sid_and_the_sender(
    fake: FakeTwilio, twilio: TwilioTelephony
) -> None:
    """MessagingServiceSid and From (a number of its pool): Twilio answers accepted."""
    sender = owned_number(twilio)
    client = fake.client()
    service = client.messaging.v1.services.create(friendly_name="shop")
    client.messaging.v1.services(service.sid).phone_numbers.create(
        phone_number_sid=next(iter(fake.owned))
    )
    sent = twilio.send(from_=sender, to=CUSTOMER, body="Hi", messaging_service_sid=service.sid)
    [request] = fake.requests_for("send")
    assert (request.param("MessagingServiceSid"), request.param("From")) == (
        service.sid,
        sender.e164,
    )
    assert sent.status is MessageStatus.ACCEPTED
    assert fake.messages[0]["messaging_service_sid"] == service.sid


def test_send_without_a_public_url_carries_no_status_callback(
    fake: FakeTwilio, sleeps: list[float]
) -> None:
    """Without a public URL there is nowhere for Twilio to report to."""
    twilio = adapter_for(fake, sleeps, public_url=None)
    twilio.send(from_=owned_number(twilio), to=CUSTOMER, body="Hi")
    [request] = fake.requests_for("send")
    assert "StatusCallback" not in dict(request.form)


def test_send_to_an_unsubscribed_recipient_is_recipient_opted_out(
    fake: FakeTwilio, twilio: TwilioTelephony
) -> None:
    """21610 (the customer texted STOP at the carrier) maps to recipient_opted_out."""
    sender = owned_number(twilio)
    fake.opted_out.add(CUSTOMER.e164)
    with pytest.raises(RecipientOptedOut):
        twilio.send(from_=sender, to=CUSTOMER, body="Hi")


def test_send_to_a_landline_is_invalid_phone(fake: FakeTwilio, twilio: TwilioTelephony) -> None:
    """21614 ('To' is not a mobile number) maps to invalid_phone on the 'to' field."""
    sender = owned_number(twilio)
    fake.landlines.add(CUSTOMER.e164)
    with pytest.raises(InvalidPhone) as caught:
        twilio.send(from_=sender, to=CUSTOMER, body="Hi")
    assert caught.value.field == "to"


def test_send_to_a_number_twilio_rejects_is_invalid_phone(twilio: TwilioTelephony) -> None:
    """21211 (invalid 'To') for a number our parser allowed but Twilio does not."""
    sender = owned_number(twilio)
    with pytest.raises(InvalidPhone) as caught:
        twilio.send(from_=sender, to=PhoneNumber("+1234567"), body="Hi")
    assert caught.value.field == "to"


def test_send_from_a_number_not_in_the_account_is_a_provider_error(
    twilio: TwilioTelephony,
) -> None:
    """21606 is not one of ours to interpret: provider_error carrying the code."""
    with pytest.raises(ProviderError) as caught:
        twilio.send(from_=AUSTIN, to=CUSTOMER, body="Hi")
    assert (caught.value.provider_code, caught.value.ambiguous) == (21606, False)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_send_5xx_is_ambiguous_and_never_retried(
    status: int, fake: FakeTwilio, twilio: TwilioTelephony, sleeps: list[float]
) -> None:
    """The message may have gone out: ambiguous, one request, no backoff."""
    sender = owned_number(twilio)
    fake.inject("send", status=status, times=3)
    with pytest.raises(ProviderError) as caught:
        twilio.send(from_=sender, to=CUSTOMER, body="Hi")
    assert caught.value.ambiguous is True
    assert len(fake.requests_for("send")) == 1
    assert sleeps == []


def test_send_429_is_a_provider_error_that_was_not_processed(
    fake: FakeTwilio, twilio: TwilioTelephony
) -> None:
    """20429: nothing was sent, so not ambiguous (the use case refunds) and transient (a
    repeat under the idempotency key tries again); not retried by the adapter either."""
    sender = owned_number(twilio)
    fake.inject("send", status=429, retry_after="1")
    with pytest.raises(ProviderError) as caught:
        twilio.send(from_=sender, to=CUSTOMER, body="Hi")
    assert (caught.value.ambiguous, caught.value.provider_code) == (False, 20429)
    assert caught.value.transient is True
    assert len(fake.requests_for("send")) == 1
    assert fake.messages == []


def test_send_timeout_is_ambiguous_because_the_message_may_be_out(
    fake: FakeTwilio, twilio: TwilioTelephony
) -> None:
    """A read timeout after Twilio accepted the message: ambiguous, and indeed it was sent."""
    sender = owned_number(twilio)
    injection = fake.inject("send", delay=SLOW)
    with pytest.raises(ProviderError) as caught:
        twilio.send(from_=sender, to=CUSTOMER, body="Hi")
    assert (caught.value.ambiguous, caught.value.transient) == (True, False)
    assert injection.acted.wait(5)
    assert len(fake.messages) == 1
    assert len(fake.requests_for("send")) == 1


def test_send_when_the_connection_is_refused_is_not_ambiguous(sleeps: list[float]) -> None:
    """Nothing reached Twilio: a transient provider_error, the use case may refund."""
    client = Client("AC" + "0" * 32, "token", http_client=LoopbackHttpClient(unused_port_url()))
    twilio = TwilioTelephony(client, public_url=PUBLIC_URL, timeout=TIMEOUT, sleep=sleeps.append)
    with pytest.raises(ProviderError) as caught:
        twilio.send(from_=AUSTIN, to=CUSTOMER, body="Hi")
    assert (caught.value.ambiguous, caught.value.transient) == (False, True)
    assert caught.value.reason == "could not connect to Twilio"


def test_send_with_refused_credentials_is_not_configured(
    fake: FakeTwilio, sleeps: list[float]
) -> None:
    """401 / 20003 on a send means sms_not_configured; nothing is sent."""
    twilio = adapter_for(fake, sleeps, client=fake.client(auth_token="wrong-token"))
    with pytest.raises(SmsNotConfigured):
        twilio.send(from_=AUSTIN, to=CUSTOMER, body="Hi")
    assert fake.messages == []


# --- configuration ----------------------------------------------------------------


def test_without_a_client_the_adapter_is_not_configured() -> None:
    """Every operation answers sms_not_configured, without touching the network."""
    twilio = TwilioTelephony(None, public_url=PUBLIC_URL)
    assert twilio.configured is False
    with pytest.raises(SmsNotConfigured):
        twilio.search_available("512", 1)
    with pytest.raises(SmsNotConfigured):
        twilio.purchase(AUSTIN)
    with pytest.raises(SmsNotConfigured):
        twilio.release("PN" + "0" * 32)
    with pytest.raises(SmsNotConfigured):
        twilio.send(from_=AUSTIN, to=CUSTOMER, body="Hi")


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32},
        {"TWILIO_AUTH_TOKEN": "t", "TWILIO_ACCOUNT_SID": " "},
    ],
)
def test_from_env_needs_both_credentials(environ: dict[str, str]) -> None:
    """Without an account sid and an auth token the adapter is not configured."""
    assert TwilioTelephony.from_env(environ).configured is False


def test_from_env_derives_the_webhook_urls_from_the_public_url() -> None:
    """Both credentials configure it; the public URL (trailing slash or not) gives the webhooks."""
    twilio = TwilioTelephony.from_env(
        {
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "TWILIO_AUTH_TOKEN": "secret",
            "NEARIQ_SMS_PUBLIC_URL": "https://dash.example.com/",
        }
    )
    assert twilio.configured is True
    assert twilio.sms_url == "https://dash.example.com/api/sms/webhooks/twilio/inbound"
    assert twilio.status_callback == "https://dash.example.com/api/sms/webhooks/twilio/status"
    unset = TwilioTelephony.from_env(
        {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "s"}
    )
    assert (unset.sms_url, unset.status_callback) == (None, None)


def test_the_hosts_client_is_left_untouched(fake: FakeTwilio, sleeps: list[float]) -> None:
    """The adapter's timeout applies to its own calls; the host's client keeps its settings."""
    client = fake.client()
    twilio = adapter_for(fake, sleeps, client=client, retry=RetryPolicy(attempts=1))
    fake.inject("search", delay=SLOW)
    with pytest.raises(ProviderError):
        twilio.search_available("512", 1)
    assert client.http_client.timeout is None


def test_retry_policy_is_bounded() -> None:
    """Exponential, capped at max_delay, and no wait after the last attempt."""
    policy = RetryPolicy(attempts=5, base_delay=1.0, max_delay=3.0)
    assert [policy.delay(n, None) for n in range(1, 6)] == [1.0, 2.0, 3.0, 3.0, None]
    assert policy.delay(1, 2.5) == 2.5
    assert policy.delay(1, 3.5) is None


class _Answer:
    def __init__(self, **headers: str) -> None:
        self.headers = headers


@pytest.mark.parametrize("raw", ["\u00b2", "\u0663", " \u00b2 "])
def test_non_ascii_digits_in_retry_after_and_error_codes_are_ignored(raw: str) -> None:
    """str.isdigit() accepts "²" and friends; they read as absent instead of crashing."""
    assert _retry_after(_Answer(**{"Retry-After": raw})) is None
    assert _int_or_none(raw) is None
    assert _retry_after(_Answer(**{"Retry-After": " 3 "})) == 3.0
    assert _int_or_none(" 20429 ") == 20429


def test_the_sdk_logs_no_phone_number_or_body_at_info(
    fake: FakeTwilio, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SDK logs every request's URL and parameters at INFO (``twilio.http_client``):
    a host logging at INFO would write recipients and bodies. Unless the host chose that
    logger's level itself, the adapter keeps it at WARNING. (Our own lines name the
    business's number, never the customer's.)"""
    sdk = logging.getLogger("twilio.http_client")
    monkeypatch.setattr(sdk, "level", logging.NOTSET)  # as a fresh process has it
    caplog.set_level(logging.INFO)  # the root logger, as a host's basicConfig(level=INFO)
    twilio = TwilioTelephony(fake.client(), public_url=PUBLIC_URL, timeout=TIMEOUT)
    sender = twilio.purchase(AUSTIN).number
    twilio.send(from_=sender, to=CUSTOMER, body="Hi Jane, a private body")
    twilio.find_messages(
        from_=sender,
        to=CUSTOMER,
        sent_after=datetime(2020, 1, 1, tzinfo=UTC),
        sent_before=datetime(2100, 1, 1, tzinfo=UTC),
    )
    logged = caplog.text
    assert not [r for r in caplog.records if r.name.startswith("twilio")]
    for secret in ("5557654321", "private body", fake.auth_token):
        assert secret not in logged


def test_a_level_the_host_chose_for_the_sdk_logger_is_kept(
    fake: FakeTwilio, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host that wants the SDK's request log (DEBUG, say) keeps it."""
    sdk = logging.getLogger("twilio.http_client")
    monkeypatch.setattr(sdk, "level", logging.DEBUG)
    TwilioTelephony(fake.client(), public_url=PUBLIC_URL, timeout=TIMEOUT)
    assert sdk.level == logging.DEBUG
