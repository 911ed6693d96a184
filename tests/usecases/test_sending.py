"""Review requests: every rule in the spec's order, idempotency, cooldown,
allowance by segments, quiet hours and dispatch, provider rejections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock, SimulatedTelephony
from neariq_sms.adapters.twilio import status_report
from neariq_sms.domain import (
    AllowanceExhausted,
    BusinessNotFound,
    ConsentEventKind,
    ConsentRequired,
    Cooldown,
    InvalidField,
    InvalidPhone,
    MessageStatus,
    MissingField,
    NoSmsNumber,
    PhoneNumber,
    PlanRequired,
    Policy,
    ProviderError,
    RecipientOptedOut,
    SmsError,
    SmsNotConfigured,
)
from neariq_sms.ports import UnitOfWork
from tests.usecases.support import (
    CUSTOMER,
    OTHER_CUSTOMER,
    policy,
    provider_state,
    ready_business,
    snapshot,
    used,
)

#: 21:30 in Austin on 2026-03-10 (CDT): inside quiet hours.
NIGHT_IN_AUSTIN = datetime(2026, 3, 11, 2, 30, tzinfo=UTC)
#: 08:00 in Austin the next morning.
MORNING_IN_AUSTIN = datetime(2026, 3, 11, 13, 0, tzinfo=UTC)
#: A template that renders to two GSM-7 segments.
LONG_TEMPLATE = (
    "Hi {first_name}! " + "Thanks for the visit to {business_name}. " * 5 + "{review_link}"
)


def send(
    uow: UnitOfWork,
    telephony: SimulatedTelephony,
    clock: ManualClock,
    business_id: str,
    to: object = CUSTOMER,
    name: object = "Jane Doe",
    **kwargs: object,
) -> uc.SendResult:
    return uc.send_review_request(
        business_id,
        to,
        name,
        uow=uow,
        telephony=telephony,
        clock=clock,
        **kwargs,  # type: ignore[arg-type]
    )


def messages(uow: UnitOfWork, business_id: str) -> list[object]:
    with uow:
        return list(uow.messages.for_business(business_id))


def test_a_consenting_customer_gets_one_review_request(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Consent, a number and sending hours: one message, queued, one segment used."""
    business = ready_business(uow, telephony, clock)

    result = send(uow, telephony, clock, business.id)

    assert result.status is MessageStatus.QUEUED
    assert result.message_sid == telephony.sent[0].sid
    assert [(m.from_.e164, m.to.e164) for m in telephony.sent] == [("+15125550123", CUSTOMER)]
    assert telephony.sent[0].body.startswith("Hi Jane, thanks for choosing Aster Grove Fitness!")
    assert telephony.sent[0].body.endswith("Reply STOP to opt out.")
    assert used(uow, business.id, clock) == result.segments == 1


def test_every_send_rule_answers_in_the_specs_order_and_changes_nothing(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """With every rule broken, fixing them one by one reveals them in the spec's order:
    shape (missing, invalid field, invalid phone), 404, 503, plan, number, opt-out,
    cooldown, allowance. No rejection writes a row, uses allowance or calls the provider."""
    rules = Policy(
        monthly_allowance=policy(growth=1).monthly_allowance, review_cooldown=timedelta(days=1)
    )
    business = ready_business(uow, telephony, clock)
    send(uow, telephony, clock, business.id, policy=rules)  # the limit is now used up
    uc.opt_out(business.id, CUSTOMER, uow=uow, clock=clock)
    uc.release_number(business.id, uow=uow, telephony=telephony, clock=clock)
    uc.change_plan(business.id, "starter", uow=uow)
    unconfigured = SimulatedTelephony(configured=False)

    def rejected(
        error: type[SmsError],
        business_id: str = business.id,
        to: object = CUSTOMER,
        name: object = "Jane",
        provider: SimulatedTelephony = telephony,
    ) -> None:
        before = snapshot(uow, phones=[CUSTOMER], periods=["2026-03"])
        calls = provider_state(telephony)
        with pytest.raises(error):
            send(uow, provider, clock, business_id, to, name, policy=rules)
        assert snapshot(uow, phones=[CUSTOMER], periods=["2026-03"]) == before
        assert provider_state(telephony) == calls

    # The input comes first here; "404 before a shape error" is the HTTP adapter's rule
    # (tests/http/test_contract.py::test_an_inactive_business_is_404_before_any_shape_error).
    rejected(MissingField, "no-such-business", "garbage", None, unconfigured)
    rejected(InvalidField, "no-such-business", "garbage", "Ja\x00ne", unconfigured)
    rejected(InvalidPhone, "no-such-business", "garbage", provider=unconfigured)
    rejected(BusinessNotFound, "no-such-business", provider=unconfigured)
    rejected(SmsNotConfigured, provider=unconfigured)
    rejected(PlanRequired)
    uc.change_plan(business.id, "growth", uow=uow)
    rejected(NoSmsNumber)
    uc.provision_number(business.id, "+15125550124", uow=uow, telephony=telephony, clock=clock)
    rejected(RecipientOptedOut)
    clock.advance(timedelta(minutes=1))
    uc.opt_in(business.id, CUSTOMER, "web_form", clock.now(), uow=uow, clock=clock)
    rejected(Cooldown)
    clock.advance(timedelta(days=1))
    rejected(AllowanceExhausted)

    result = send(
        uow, telephony, clock, business.id, policy=Policy(review_cooldown=timedelta(days=1))
    )
    assert result.status is MessageStatus.QUEUED


def test_a_recipient_without_a_consent_record_needs_consent(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """No record for the phone: ``consent_required``, nothing stored, nothing sent."""
    business = ready_business(uow, telephony, clock, consent=())
    before = snapshot(uow, phones=[CUSTOMER])
    with pytest.raises(ConsentRequired):
        send(uow, telephony, clock, business.id)
    assert snapshot(uow, phones=[CUSTOMER]) == before
    assert telephony.calls["send"] == 0


def test_a_missing_recipient_is_a_missing_field(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """``to`` absent or blank names the field."""
    business = ready_business(uow, telephony, clock)
    for to in (None, "", "  "):
        with pytest.raises(MissingField) as caught:
            send(uow, telephony, clock, business.id, to=to)
        assert caught.value.field == "to"


# --- idempotency ------------------------------------------------------------------


def test_a_repeated_idempotency_key_returns_the_first_answer_and_sends_once(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """The second call with the key answers as the first; no second message, no second unit."""
    business = ready_business(uow, telephony, clock)
    first = send(uow, telephony, clock, business.id, idempotency_key="visit-8812")
    clock.advance(timedelta(minutes=5))

    again = send(uow, telephony, clock, business.id, idempotency_key="visit-8812")

    assert again == first
    assert telephony.calls["send"] == 1
    assert len(messages(uow, business.id)) == 1
    assert used(uow, business.id, clock) == 1


def test_a_repeat_after_a_downgrade_still_answers_as_the_first_request(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """A job runner retrying late gets the first answer, not plan_required, and sends nothing."""
    business = ready_business(uow, telephony, clock)
    first = send(uow, telephony, clock, business.id, idempotency_key="visit-8812")
    uc.change_plan(business.id, "starter", uow=uow)

    again = send(uow, telephony, clock, business.id, idempotency_key="visit-8812")

    assert again == first
    assert telephony.calls["send"] == 1


def test_a_repeat_after_deactivation_still_answers_as_the_first_request(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """A job runner retrying after the business closed gets the first answer, not
    business_not_found, and sends nothing; a new key is refused."""
    business = ready_business(uow, telephony, clock)
    first = send(uow, telephony, clock, business.id, idempotency_key="visit-8813")
    uc.deactivate_business(business.id, uow=uow, clock=clock, telephony=telephony)

    again = send(uow, telephony, clock, business.id, idempotency_key="visit-8813")

    assert again == first
    assert telephony.calls["send"] == 1
    with pytest.raises(BusinessNotFound):
        send(uow, telephony, clock, business.id, idempotency_key="visit-8814")


def test_an_idempotency_key_reused_for_another_recipient_is_rejected(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """A key names one request: the same key for a different phone changes nothing."""
    business = ready_business(uow, telephony, clock, consent=(CUSTOMER, OTHER_CUSTOMER))
    send(uow, telephony, clock, business.id, idempotency_key="k1")
    before = snapshot(uow)
    with pytest.raises(InvalidField):
        send(uow, telephony, clock, business.id, to=OTHER_CUSTOMER, idempotency_key="k1")
    assert snapshot(uow) == before
    assert telephony.calls["send"] == 1


def test_idempotency_keys_belong_to_one_business(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Two businesses may use the same key; each gets its own message."""
    first = ready_business(uow, telephony, clock)
    second = ready_business(uow, telephony, clock, name="Second", number="+15125550124")
    a = send(uow, telephony, clock, first.id, idempotency_key="same")
    b = send(uow, telephony, clock, second.id, idempotency_key="same")
    assert a.message_id != b.message_id
    assert telephony.calls["send"] == 2


def test_a_key_whose_first_call_was_rejected_can_be_used_again(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """A rejected call stores nothing, so the retry with its key is a fresh request."""
    business = ready_business(uow, telephony, clock, consent=())
    with pytest.raises(ConsentRequired):
        send(uow, telephony, clock, business.id, idempotency_key="job-1")
    uc.record_consent(business.id, CUSTOMER, "web_form", uow=uow, clock=clock)
    assert send(uow, telephony, clock, business.id, idempotency_key="job-1").message_sid


def test_a_key_replays_a_provider_failure_without_calling_again(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """A message the provider refused is the first answer: the retry raises it again."""
    business = ready_business(uow, telephony, clock)
    refusal = ProviderError(reason="rejected", provider_code=30007)
    telephony.fail_next("send", refusal)
    with pytest.raises(ProviderError):
        send(uow, telephony, clock, business.id, idempotency_key="job-2")
    with pytest.raises(ProviderError) as again:
        send(uow, telephony, clock, business.id, idempotency_key="job-2")
    assert (again.value.reason, again.value.provider_code) == (refusal.reason, 30007)
    assert telephony.calls["send"] == 1


def test_an_ambiguous_provider_error_leaves_the_message_submitting_and_never_resends(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """A timeout after the request left: at most once, units kept, listed as submitting."""
    business = ready_business(uow, telephony, clock)
    telephony.fail_next("send", ProviderError(reason="timeout", ambiguous=True), after_effect=True)
    with pytest.raises(ProviderError):
        send(uow, telephony, clock, business.id, idempotency_key="job-3")
    with pytest.raises(ProviderError) as again:
        send(uow, telephony, clock, business.id, idempotency_key="job-3")
    uc.dispatch_due(uow=uow, telephony=telephony, clock=clock)

    assert again.value.ambiguous is True
    with uow:
        [message] = uow.messages.for_business(business.id)
    assert message.status is MessageStatus.SUBMITTING
    assert len(telephony.sent) == 1
    assert telephony.calls["send"] == 1
    assert used(uow, business.id, clock) == 1


# --- cooldown ----------------------------------------------------------------------


def test_one_review_request_per_recipient_per_thirty_days(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Inside 30 days: ``cooldown`` until the first request plus 30 days; at 30 days: allowed."""
    business = ready_business(uow, telephony, clock)
    send(uow, telephony, clock, business.id)
    first_at = clock.now()
    clock.advance(timedelta(days=30) - timedelta(minutes=1))
    with pytest.raises(Cooldown) as caught:
        send(uow, telephony, clock, business.id)
    assert caught.value.until == first_at + timedelta(days=30)
    assert caught.value.status == 429
    clock.advance(timedelta(minutes=1))
    assert send(uow, telephony, clock, business.id).status is MessageStatus.QUEUED


def test_a_cooldown_of_zero_holds_no_send_back_even_from_a_clock_behind(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Cooldown 0 means none: a send whose clock reads earlier than a request stored
    meanwhile (it read the time before waiting for the recipient's row, or another
    server's clock runs ahead) is not answered ``cooldown``."""
    business = ready_business(uow, telephony, clock)
    no_cooldown = Policy(review_cooldown=timedelta(0), quiet_hours=None)
    ahead = ManualClock(clock.now() + timedelta(milliseconds=40))
    send(uow, telephony, ahead, business.id, policy=no_cooldown)
    again = send(uow, telephony, clock, business.id, policy=no_cooldown)
    assert again.status is MessageStatus.QUEUED
    assert len(telephony.sent) == 2


def test_the_cooldown_is_per_recipient(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Another customer of the same business is not held back."""
    business = ready_business(uow, telephony, clock, consent=(CUSTOMER, OTHER_CUSTOMER))
    send(uow, telephony, clock, business.id)
    assert send(uow, telephony, clock, business.id, to=OTHER_CUSTOMER).message_sid


@pytest.mark.parametrize("code", [30007, None])
def test_a_request_the_provider_rejected_does_not_count_for_the_cooldown(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock, code: int | None
) -> None:
    """The customer never got it, so a new request may go out at once."""
    business = ready_business(uow, telephony, clock)
    telephony.fail_next("send", ProviderError(reason="rejected", provider_code=code))
    with pytest.raises(ProviderError):
        send(uow, telephony, clock, business.id)
    assert send(uow, telephony, clock, business.id).status is MessageStatus.QUEUED


def test_a_request_found_never_delivered_does_not_count_for_the_cooldown(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """A ``failed`` status callback frees the recipient for a new request."""
    business = ready_business(uow, telephony, clock)
    first = send(uow, telephony, clock, business.id)
    assert first.message_sid is not None
    uc.handle_status_callback(
        status_report(first.message_sid, "failed", 30003), uow=uow, clock=clock
    )
    assert send(uow, telephony, clock, business.id).status is MessageStatus.QUEUED


def test_a_delivered_or_undelivered_request_still_counts(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Only failed and canceled requests are forgotten by the cooldown."""
    business = ready_business(uow, telephony, clock)
    first = send(uow, telephony, clock, business.id)
    assert first.message_sid is not None
    uc.handle_status_callback(
        status_report(first.message_sid, "undelivered", 30005), uow=uow, clock=clock
    )
    with pytest.raises(Cooldown):
        send(uow, telephony, clock, business.id)


# --- allowance ---------------------------------------------------------------------


def test_the_allowance_is_counted_in_segments(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """A two-segment body uses two units; the next one that does not fit is refused."""
    rules = policy(growth=3)
    business = ready_business(
        uow, telephony, clock, consent=(CUSTOMER, OTHER_CUSTOMER), review_template=LONG_TEMPLATE
    )
    result = send(uow, telephony, clock, business.id, policy=rules)
    assert result.segments == 2
    assert used(uow, business.id, clock) == 2

    before = snapshot(uow, periods=["2026-03"])
    with pytest.raises(AllowanceExhausted) as caught:
        send(uow, telephony, clock, business.id, to=OTHER_CUSTOMER, policy=rules)
    assert (caught.value.limit, caught.value.used, caught.value.requested) == (3, 2, 2)
    assert snapshot(uow, periods=["2026-03"]) == before
    assert telephony.calls["send"] == 1


def test_a_new_month_starts_at_zero(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """No job resets anything: the period is the calendar month (UTC) of the clock."""
    rules = policy(growth=1)
    business = ready_business(uow, telephony, clock, consent=(CUSTOMER, OTHER_CUSTOMER))
    send(uow, telephony, clock, business.id, policy=rules)
    with pytest.raises(AllowanceExhausted):
        send(uow, telephony, clock, business.id, to=OTHER_CUSTOMER, policy=rules)

    clock.set(datetime(2026, 4, 1, 17, 0, tzinfo=UTC))
    status = uc.get_status(business.id, uow=uow, telephony=telephony, clock=clock, policy=rules)
    assert (status.allowance.period, status.allowance.used, status.allowance.remaining) == (
        "2026-04",
        0,
        1,
    )
    assert send(uow, telephony, clock, business.id, to=OTHER_CUSTOMER, policy=rules).message_sid


def test_a_provider_rejection_gives_the_units_back(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """The message is kept as failed with no units; the month's use is back to zero."""
    business = ready_business(uow, telephony, clock)
    telephony.fail_next("send", ProviderError(reason="rejected", provider_code=21211))
    with pytest.raises(ProviderError):
        send(uow, telephony, clock, business.id)
    [message] = messages(uow, business.id)
    assert (message.status, message.units, message.error_code) == (MessageStatus.FAILED, 0, 21211)
    assert used(uow, business.id, clock) == 0
    assert telephony.sent == []


# --- quiet hours and dispatch -----------------------------------------------------


def test_a_request_in_quiet_hours_is_scheduled_for_eight_the_next_morning(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """21:30 in Austin: stored as scheduled, allowance reserved, nothing sent yet."""
    business = ready_business(uow, telephony, clock)
    clock.set(NIGHT_IN_AUSTIN)

    result = send(uow, telephony, clock, business.id)

    assert (result.status, result.send_at, result.message_sid) == (
        MessageStatus.SCHEDULED,
        MORNING_IN_AUSTIN,
        None,
    )
    assert telephony.calls["send"] == 0
    assert used(uow, business.id, clock) == 1


def test_the_recipients_zone_decides_quiet_hours(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """An Oregon number at 19:30 Pacific is in sending hours though it is 21:30 in Austin."""
    oregon = "+15415550100"
    business = ready_business(uow, telephony, clock, consent=(oregon,))
    clock.set(NIGHT_IN_AUSTIN)
    assert send(uow, telephony, clock, business.id, to=oregon).status is MessageStatus.QUEUED


def test_quiet_hours_off_sends_at_night(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """With quiet hours off the request goes out at once, whatever the hour."""
    business = ready_business(uow, telephony, clock)
    clock.set(NIGHT_IN_AUSTIN)
    result = send(uow, telephony, clock, business.id, policy=Policy(quiet_hours=None))
    assert result.status is MessageStatus.QUEUED


def test_dispatch_due_sends_a_scheduled_message_once_when_its_time_comes(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Not a minute early; then once, however often dispatch runs."""
    business = ready_business(uow, telephony, clock)
    clock.set(NIGHT_IN_AUSTIN)
    scheduled = send(uow, telephony, clock, business.id)

    clock.set(MORNING_IN_AUSTIN - timedelta(minutes=1))
    assert uc.dispatch_due(uow=uow, telephony=telephony, clock=clock) == uc.DispatchReport()
    clock.set(MORNING_IN_AUSTIN)
    report = uc.dispatch_due(uow=uow, telephony=telephony, clock=clock)
    uc.dispatch_due(uow=uow, telephony=telephony, clock=clock)

    assert report == uc.DispatchReport(submitted=1)
    assert [m.to.e164 for m in telephony.sent] == [CUSTOMER]
    [message] = messages(uow, business.id)
    assert (message.id, message.status, message.provider_sid) == (
        scheduled.message_id,
        MessageStatus.QUEUED,
        telephony.sent[0].sid,
    )
    assert used(uow, business.id, clock) == 1


def test_dispatch_cancels_and_refunds_when_the_recipient_opted_out_meanwhile(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """An opt-out takes effect at once, also for messages already scheduled."""
    business = ready_business(uow, telephony, clock)
    clock.set(NIGHT_IN_AUSTIN)
    send(uow, telephony, clock, business.id)
    uc.opt_out(business.id, CUSTOMER, uow=uow, clock=clock)

    clock.set(MORNING_IN_AUSTIN)
    report = uc.dispatch_due(uow=uow, telephony=telephony, clock=clock)

    assert report == uc.DispatchReport(canceled=1)
    assert telephony.calls["send"] == 0
    [message] = messages(uow, business.id)
    assert (message.status, message.units) == (MessageStatus.CANCELED, 0)
    assert used(uow, business.id, clock) == 0


def test_dispatch_cancels_when_the_business_lost_its_plan(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """A downgrade below Growth stops scheduled messages and gives their units back."""
    business = ready_business(uow, telephony, clock)
    clock.set(NIGHT_IN_AUSTIN)
    send(uow, telephony, clock, business.id)
    uc.change_plan(business.id, "starter", uow=uow)
    clock.set(MORNING_IN_AUSTIN)
    assert uc.dispatch_due(uow=uow, telephony=telephony, clock=clock).canceled == 1
    assert telephony.calls["send"] == 0
    assert used(uow, business.id, clock) == 0


def test_a_scheduled_message_the_provider_rejects_is_failed_and_refunded(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Dispatch reports the failure and gives the units back; it does not raise."""
    business = ready_business(uow, telephony, clock)
    clock.set(NIGHT_IN_AUSTIN)
    send(uow, telephony, clock, business.id)
    telephony.fail_next("send", ProviderError(reason="rejected", provider_code=30007))
    clock.set(MORNING_IN_AUSTIN)
    assert uc.dispatch_due(uow=uow, telephony=telephony, clock=clock).failed == 1
    assert used(uow, business.id, clock) == 0


class _StoppedAtSend:
    """The provider, until its ``at``-th send: there the dispatcher is stopped
    (Ctrl-C arrives) before the provider answered."""

    configured = True

    def __init__(self, inner: SimulatedTelephony, at: int) -> None:
        self.inner, self.at, self.sends = inner, at, 0

    def send(self, **kwargs: Any) -> Any:
        self.sends += 1
        if self.sends == self.at:
            raise KeyboardInterrupt
        return self.inner.send(**kwargs)


def test_a_dispatch_stopped_midway_records_what_it_sent_and_gives_the_rest_back(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Stopped at the second of three claimed messages: the first is recorded sent, the
    second (its outcome unknown) stays submitting for reconcile, the third is due again."""
    recipients = (CUSTOMER, OTHER_CUSTOMER, "+15557654323")
    business = ready_business(uow, telephony, clock, consent=recipients)
    clock.set(NIGHT_IN_AUSTIN)
    for to in recipients:
        send(uow, telephony, clock, business.id, to=to)
    clock.set(MORNING_IN_AUSTIN)

    with pytest.raises(KeyboardInterrupt):
        uc.dispatch_due(uow=uow, telephony=_StoppedAtSend(telephony, 2), clock=clock)  # type: ignore[arg-type]

    statuses = sorted(m.status.value for m in messages(uow, business.id))
    assert statuses == ["queued", "scheduled", "submitting"]
    assert uc.dispatch_due(uow=uow, telephony=telephony, clock=clock).submitted == 1
    assert len(telephony.sent) == 2
    assert used(uow, business.id, clock) == 3


def test_the_allowance_of_a_scheduled_message_is_the_month_it_goes_out_in(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Asked late on March 31 (UTC), deferred past midnight to April 1: April's
    allowance pays, reserved at once (messaging.md: the month of the send time)."""
    # Periods are UTC months; a London business has its quiet night across UTC midnight.
    business = ready_business(uow, telephony, clock, timezone="Europe/London")
    clock.set(datetime(2026, 3, 31, 22, 0, tzinfo=UTC))  # 23:00 in London
    assert send(uow, telephony, clock, business.id).status is MessageStatus.SCHEDULED
    with uow:
        assert uow.allowances.used(business.id, "2026-03") == 0
        assert uow.allowances.used(business.id, "2026-04") == 1
    clock.set(datetime(2026, 4, 1, 7, 0, tzinfo=UTC))
    assert uc.dispatch_due(uow=uow, telephony=telephony, clock=clock).submitted == 1
    with uow:
        assert uow.allowances.used(business.id, "2026-03") == 0
        assert uow.allowances.used(business.id, "2026-04") == 1


# --- 21610: the recipient unsubscribed at the carrier ------------------------------


def test_a_synchronous_21610_fails_refunds_and_records_a_provider_opt_out(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """The provider says the recipient unsubscribed: failed, refunded, opted out (``provider``)."""
    business = ready_business(uow, telephony, clock)
    telephony.carrier_opted_out.add(PhoneNumber(CUSTOMER))

    with pytest.raises(RecipientOptedOut):
        send(uow, telephony, clock, business.id)

    [message] = messages(uow, business.id)
    assert (message.status, message.units, message.error_code) == (MessageStatus.FAILED, 0, 21610)
    assert used(uow, business.id, clock) == 0
    record = uc.get_consent(business.id, CUSTOMER, uow=uow)
    assert record is not None
    assert (record.opted_out, record.opt_out_source) == (True, "provider")
    history = uc.consent_history(business.id, CUSTOMER, uow=uow)
    assert (history[-1].kind, history[-1].source) == (ConsentEventKind.OPTED_OUT, "provider")
    telephony.carrier_opted_out.clear()
    with pytest.raises(RecipientOptedOut):
        send(uow, telephony, clock, business.id)
    assert telephony.calls["send"] == 1


def test_an_asynchronous_21610_records_a_provider_opt_out(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """A status callback carrying 21610 opts the recipient out, source ``provider``."""
    business = ready_business(uow, telephony, clock)
    result = send(uow, telephony, clock, business.id)
    assert result.message_sid is not None

    assert uc.handle_status_callback(
        status_report(result.message_sid, "failed", 21610), uow=uow, clock=clock
    )

    record = uc.get_consent(business.id, CUSTOMER, uow=uow)
    assert record is not None
    assert (record.opted_out, record.opt_out_source) == (True, "provider")
    [message] = messages(uow, business.id)
    assert (message.status, message.error_code) == (MessageStatus.FAILED, 21610)
