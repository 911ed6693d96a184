"""The provider misbehaves (timeouts, 429, 500, slow success) under the Twilio adapter.

Twilio is the loopback fake of ``tests/twilio/fake_twilio.py`` reached through
the real SDK over HTTP; its clock is the use cases' manual clock, so message
dates and reconciliation windows agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import InMemoryUnitOfWork, ManualClock
from neariq_sms.adapters.twilio import TwilioTelephony
from neariq_sms.domain import MessageStatus, NumberStatus, PhoneNumber, ProviderError, SmsError
from neariq_sms.ports import UnitOfWork
from tests.conftest import NOON_IN_AUSTIN
from tests.faults.support import FaultyUnitOfWork, ProviderView, violations
from tests.twilio.conftest import sleeps, twilio
from tests.twilio.fake_twilio import FakeTwilio

__all__ = ["sleeps", "twilio"]  # the Twilio tests' fixtures, shared
CUSTOMER = "+15557654321"
NUMBER = "+15125550123"
LATER = timedelta(minutes=16)
#: Longer than the client's timeout: the fake acts, then answers too late.
SLOW = 1.0


@pytest.fixture
def fake(clock: ManualClock) -> Iterator[FakeTwilio]:
    """The fake on the use cases' clock (the ``twilio`` fixture talks to this one)."""
    with FakeTwilio(now=clock.now) as server:
        yield server


@pytest.fixture
def uow() -> InMemoryUnitOfWork:
    return InMemoryUnitOfWork()


def _shop(uow: InMemoryUnitOfWork, twilio: TwilioTelephony, clock: ManualClock) -> str:
    shop = uc.create_business(
        "Shop", "growth", uow=uow, clock=clock, review_url="https://r.example"
    )
    uc.provision_number(shop.id, NUMBER, uow=uow, telephony=twilio, clock=clock)
    uc.record_consent(shop.id, CUSTOMER, "point_of_sale", uow=uow, clock=clock)
    return shop.id


def _send(uow: UnitOfWork, twilio: TwilioTelephony, clock: ManualClock, shop: str) -> None:
    uc.send_review_request(
        shop, CUSTOMER, "Jane", uow=uow, telephony=twilio, clock=clock, idempotency_key="job-1"
    )


def _status(uow: InMemoryUnitOfWork, shop: str) -> list[tuple[MessageStatus, int]]:
    with uow:
        return [(m.status, m.units) for m in uow.messages.for_business(shop)]


# --- the lookups -----------------------------------------------------------------------


def test_find_messages_reads_twilio_by_to_from_and_date_sent(
    fake: FakeTwilio, twilio: TwilioTelephony, clock: ManualClock
) -> None:
    """The query carries To, From and DateSent>; the window is cut to the second here."""
    fake.owned["PN1"] = {"sid": "PN1", "phone_number": NUMBER, "sms_url": None}
    sent = twilio.send(from_=PhoneNumber(NUMBER), to=PhoneNumber(CUSTOMER), body="Hello")
    clock.advance(timedelta(minutes=5))
    found = twilio.find_messages(
        from_=PhoneNumber(NUMBER),
        to=PhoneNumber(CUSTOMER),
        sent_after=NOON_IN_AUSTIN - timedelta(minutes=1),
        sent_before=clock.now(),
    )
    assert [(m.provider_sid, m.body, m.sent_at) for m in found] == [
        (sent.provider_sid, "Hello", NOON_IN_AUSTIN)
    ]
    [request] = fake.requests_for("find_messages")
    assert (request.param("To"), request.param("From")) == (CUSTOMER, NUMBER)
    assert request.param("DateSent>") == "2026-03-10T00:00:00Z"
    later = twilio.find_messages(
        from_=PhoneNumber(NUMBER),
        to=PhoneNumber(CUSTOMER),
        sent_after=NOON_IN_AUSTIN + timedelta(seconds=1),
        sent_before=clock.now(),
    )
    assert later == []


def test_find_messages_also_finds_a_message_still_queued_without_a_date_sent(
    fake: FakeTwilio, twilio: TwilioTelephony, clock: ManualClock
) -> None:
    """DateSent may skip it: the adapter then reads the pair's newest records unfiltered."""
    fake.owned["PN1"] = {"sid": "PN1", "phone_number": NUMBER, "sms_url": None}
    fake.hold_in_queue = True
    sent = twilio.send(from_=PhoneNumber(NUMBER), to=PhoneNumber(CUSTOMER), body="Hello")
    found = twilio.find_messages(
        from_=PhoneNumber(NUMBER),
        to=PhoneNumber(CUSTOMER),
        sent_after=NOON_IN_AUSTIN - timedelta(minutes=1),
        sent_before=clock.now(),
    )
    assert [m.provider_sid for m in found] == [sent.provider_sid]
    assert [r.param("DateSent>") for r in fake.requests_for("find_messages")] == [
        "2026-03-10T00:00:00Z",
        None,
    ]


def test_owned_numbers_are_those_pointing_at_our_public_url(
    fake: FakeTwilio, twilio: TwilioTelephony
) -> None:
    """A number of another application on the same account is not ours to release."""
    bought = twilio.purchase(PhoneNumber(NUMBER))
    fake.owned["PNother"] = {
        "sid": "PNother",
        "phone_number": "+15125550199",
        "sms_url": "https://other-app.example.com/sms",
        "friendly_name": "(512) 555-0199",
    }
    assert [(n.number.e164, n.provider_sid) for n in twilio.owned_numbers()] == [
        (NUMBER, bought.provider_sid)
    ]


@pytest.mark.parametrize("operation", ["find_messages", "owned_numbers"])
def test_the_lookups_are_retried_on_429_and_500_honouring_retry_after(
    fake: FakeTwilio, twilio: TwilioTelephony, sleeps: list[float], operation: str
) -> None:
    """Idempotent reads: retried with backoff; Retry-After replaces the computed wait."""
    fake.inject(operation, status=429, retry_after="1")  # type: ignore[arg-type]
    fake.inject(operation, status=500)  # type: ignore[arg-type]
    if operation == "owned_numbers":
        assert twilio.owned_numbers() == []
    else:
        assert (
            twilio.find_messages(
                from_=PhoneNumber(NUMBER),
                to=PhoneNumber(CUSTOMER),
                sent_after=NOON_IN_AUSTIN,
                sent_before=NOON_IN_AUSTIN,
            )
            == []
        )
    assert sleeps[:2] == [1.0, 0.02]


def test_a_lookup_that_keeps_failing_gives_up_after_the_bounded_attempts(
    fake: FakeTwilio, twilio: TwilioTelephony, sleeps: list[float]
) -> None:
    fake.inject("owned_numbers", status=503, times=3)
    with pytest.raises(ProviderError) as caught:
        twilio.owned_numbers()
    assert not caught.value.ambiguous
    assert len(fake.requests_for("owned_numbers")) == 3
    assert len(sleeps) == 2


# --- use cases over a misbehaving Twilio -----------------------------------------------


def test_a_slow_successful_send_is_found_by_reconcile(
    fake: FakeTwilio, twilio: TwilioTelephony, clock: ManualClock, uow: InMemoryUnitOfWork
) -> None:
    """Twilio sent it, the answer came too late: reconcile records its sid; units kept."""
    shop = _shop(uow, twilio, clock)
    fake.inject("send", delay=SLOW)
    with pytest.raises(ProviderError):
        _send(uow, twilio, clock, shop)
    clock.advance(LATER)
    report = uc.reconcile(uow=uow, telephony=twilio, clock=clock)
    assert [r.outcome for r in report.resolutions] == ["sent"]
    with uow:
        [message] = uow.messages.for_business(shop)
    assert message.provider_sid == fake.messages[0]["sid"]
    assert violations(uow, ProviderView.of_fake(fake)) == []


@pytest.mark.parametrize(("status", "refunded_at_once"), [(500, False), (503, False), (429, True)])
def test_a_send_twilio_answered_with_an_error_is_never_left_billed(
    fake: FakeTwilio,
    twilio: TwilioTelephony,
    clock: ManualClock,
    uow: InMemoryUnitOfWork,
    status: int,
    refunded_at_once: bool,
) -> None:
    """429 is never processed: failed and refunded at once. 5xx may have been: left
    submitting, and reconcile, finding nothing, fails it and gives the units back."""
    shop = _shop(uow, twilio, clock)
    fake.inject("send", status=status)
    with pytest.raises(ProviderError):
        _send(uow, twilio, clock, shop)
    [(state, _)] = _status(uow, shop)
    assert (state is MessageStatus.FAILED) is refunded_at_once
    clock.advance(LATER)
    uc.reconcile(uow=uow, telephony=twilio, clock=clock)
    assert _status(uow, shop) == [(MessageStatus.FAILED, 0)]
    assert len(fake.requests_for("send")) == 1
    assert violations(uow, ProviderView.of_fake(fake)) == []


@pytest.mark.parametrize(("kind", "outcome"), [("slow", "activated"), ("500", "dropped")])
def test_a_purchase_with_an_unknown_outcome_is_settled_by_reconcile(
    fake: FakeTwilio,
    twilio: TwilioTelephony,
    clock: ManualClock,
    uow: InMemoryUnitOfWork,
    kind: str,
    outcome: str,
) -> None:
    """Slow success: the claim becomes the active number. 500: never bought, claim dropped."""
    shop = uc.create_business("Shop", "growth", uow=uow, clock=clock)
    if kind == "slow":
        fake.inject("purchase", delay=SLOW)
    else:
        fake.inject("purchase", status=500)
    with pytest.raises(ProviderError) as caught:
        uc.provision_number(shop.id, NUMBER, uow=uow, telephony=twilio, clock=clock)
    assert caught.value.ambiguous
    assert len(fake.requests_for("purchase")) == 1  # never retried
    clock.advance(LATER)
    report = uc.reconcile(uow=uow, telephony=twilio, clock=clock)
    assert [r.outcome for r in report.resolutions] == [outcome]
    assert violations(uow, ProviderView.of_fake(fake)) == []
    assert uc.reconcile(uow=uow, telephony=twilio, clock=clock).resolutions == ()


def test_a_release_through_429_500_and_a_slow_answer_completes(
    fake: FakeTwilio,
    twilio: TwilioTelephony,
    clock: ManualClock,
    uow: InMemoryUnitOfWork,
    sleeps: list[float],
) -> None:
    """The adapter retries release (idempotent); the slow first try already released it."""
    shop = _shop(uow, twilio, clock)
    fake.inject("release", delay=SLOW)
    fake.inject("release", status=429, retry_after="0")
    released = uc.release_number(shop, uow=uow, telephony=twilio, clock=clock)
    assert released.status is NumberStatus.RELEASED
    assert fake.owned == {}
    assert len(fake.requests_for("release")) == 3
    assert violations(uow, ProviderView.of_fake(fake)) == []


# --- the job runner's retry --------------------------------------------------------------

FAILURES = ["slow success", "timeout before acting", "500", "429", "storage at step 3"]


@pytest.mark.parametrize("failure", FAILURES)
def test_a_send_retried_with_its_key_after_any_failure_never_calls_twilio_twice(
    fake: FakeTwilio,
    twilio: TwilioTelephony,
    clock: ManualClock,
    uow: InMemoryUnitOfWork,
    failure: str,
) -> None:
    """What a job runner with at-least-once delivery does: retry the same key until it
    stops failing. Twilio accepts at most one send and gets at most one request, except
    after a 429 (never processed: the repeat tries again); after reconcile every
    invariant holds."""
    shop = _shop(uow, twilio, clock)
    store: UnitOfWork = uow
    if failure == "slow success":
        fake.inject("send", delay=SLOW)
    elif failure == "timeout before acting":
        fake.inject("send", status=504, delay=SLOW)
    elif failure in ("500", "429"):
        fake.inject("send", status=int(failure))
    else:
        store = FaultyUnitOfWork(uow, fail_at=2, where="commit")
    with pytest.raises((SmsError, ConnectionError)):
        _send(store, twilio, clock, shop)
    for _ in range(3):
        try:
            _send(uow, twilio, clock, shop)
        except SmsError:
            continue
        break
    assert len(fake.messages) <= 1
    assert len(fake.requests_for("send")) <= (2 if failure == "429" else 1)
    clock.advance(LATER)
    uc.reconcile(uow=uow, telephony=twilio, clock=clock)
    assert violations(uow, ProviderView.of_fake(fake)) == []
