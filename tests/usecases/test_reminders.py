"""Appointment reminders and replies: the rules of messaging.md §1 through the shared
pipeline — timing, reschedule, cancel, the month the allowance is taken from, the
reply window — on every storage backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock, SimulatedTelephony
from neariq_sms.domain import (
    ConsentRequired,
    Cooldown,
    InvalidField,
    MessageStatus,
    PhoneNumber,
    Policy,
    RecipientOptedOut,
)
from neariq_sms.domain.errors import ReminderAlreadySent, ReminderNotFound
from neariq_sms.domain.reminders import Appointment, ReminderState
from neariq_sms.ports import UnitOfWork
from tests.usecases.support import AUSTIN_NUMBER, CUSTOMER, ready_business, snapshot

TO = PhoneNumber(CUSTOMER)
STRANGER = PhoneNumber("+15557650000")


def schedule(
    uow: UnitOfWork,
    telephony: SimulatedTelephony,
    clock: ManualClock,
    business_id: str,
    starts_at: datetime,
    reference: str = "visit-1",
    lead: timedelta = timedelta(days=1),
    **kwargs: object,
) -> uc.ReminderResult:
    return uc.schedule_reminder(
        business_id, TO, "Jane Doe", Appointment(reference, starts_at, lead),
        uow=uow, telephony=telephony, clock=clock, **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def used(uow: UnitOfWork, business_id: str, period: str) -> int:
    with uow:
        return uow.allowances.used(business_id, period)


def test_a_reminder_is_scheduled_its_lead_before_and_sent_by_the_dispatcher(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    business = ready_business(uow, telephony, clock)
    starts = clock.now() + timedelta(days=3)
    result = schedule(uow, telephony, clock, business.id, starts)

    assert result.sent.status is MessageStatus.SCHEDULED
    assert result.sent.send_at == starts - timedelta(days=1)
    assert telephony.sent == []
    clock.advance(timedelta(days=2))
    assert uc.dispatch_due(uow=uow, telephony=telephony, clock=clock).submitted == 1
    [sms] = telephony.sent
    assert sms.body.startswith("Hi Jane, this is a reminder of your appointment at Aster Grove")
    assert sms.body.endswith("Reply STOP to opt out.")
    # Twilio drops it rather than deliver it after the start (at most 10 hours' validity).
    assert telephony.validity_periods[sms.sid] == 36_000


def test_a_reminder_whose_planned_time_passed_goes_out_now(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    business = ready_business(uow, telephony, clock)
    starts = clock.now() + timedelta(hours=2)
    result = schedule(uow, telephony, clock, business.id, starts)
    assert result.sent.status is MessageStatus.QUEUED
    assert telephony.validity_periods[telephony.sent[0].sid] == 7_200


def test_the_allowance_is_taken_from_the_month_of_the_send_time(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """A reminder for next month reserves next month's units now."""
    business = ready_business(uow, telephony, clock)
    schedule(uow, telephony, clock, business.id, datetime(2026, 4, 15, 17, tzinfo=UTC))
    assert (used(uow, business.id, "2026-03"), used(uow, business.id, "2026-04")) == (0, 1)


def test_the_same_reference_again_answers_as_the_first_time(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    business = ready_business(uow, telephony, clock)
    starts = clock.now() + timedelta(days=3)
    first = schedule(uow, telephony, clock, business.id, starts)
    again = schedule(uow, telephony, clock, business.id, starts)
    assert again == first
    assert used(uow, business.id, "2026-03") == 1


def test_another_time_reschedules_in_one_step_and_the_old_one_never_sends(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    business = ready_business(uow, telephony, clock)
    first = schedule(uow, telephony, clock, business.id, clock.now() + timedelta(days=3))
    moved = schedule(uow, telephony, clock, business.id, clock.now() + timedelta(days=5))

    assert moved.sent.message_id != first.sent.message_id
    assert used(uow, business.id, "2026-03") == 1
    page = uc.list_reminders(business.id, uow=uow)
    assert [(r.id, r.status) for r in page.items] == [
        (first.sent.message_id, "canceled"),
        (moved.sent.message_id, "scheduled"),
    ]
    clock.advance(timedelta(days=4, hours=1))  # both send times have passed
    uc.dispatch_due(uow=uow, telephony=telephony, clock=clock)
    assert [m.message_id for m in telephony.sent] == [moved.sent.message_id]


def test_a_reminder_already_sent_cannot_be_rescheduled(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    business = ready_business(uow, telephony, clock)
    schedule(uow, telephony, clock, business.id, clock.now() + timedelta(hours=2))
    before = snapshot(uow, phones=[CUSTOMER])
    with pytest.raises(ReminderAlreadySent):
        schedule(uow, telephony, clock, business.id, clock.now() + timedelta(hours=3))
    assert snapshot(uow, phones=[CUSTOMER]) == before


def test_cancel_gives_the_units_back_once(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    business = ready_business(uow, telephony, clock)
    schedule(uow, telephony, clock, business.id, clock.now() + timedelta(days=3))
    assert uc.cancel_reminder(business.id, "visit-1", uow=uow, clock=clock) is True
    assert uc.cancel_reminder(business.id, "visit-1", uow=uow, clock=clock) is False
    assert used(uow, business.id, "2026-03") == 0
    with pytest.raises(ReminderNotFound):
        uc.cancel_reminder(business.id, "nope", uow=uow, clock=clock)
    other = ready_business(uow, telephony, clock, name="Other", number="+15125550124")
    with pytest.raises(ReminderNotFound):
        uc.cancel_reminder(other.id, "visit-1", uow=uow, clock=clock)


def test_a_reminder_in_quiet_hours_goes_out_the_minute_before_they_begin(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """09:00 appointment with a 2-hour lead: 07:00 is quiet, so 20:59 the evening before."""
    business = ready_business(uow, telephony, clock)
    starts = datetime(2026, 3, 12, 14, 0, tzinfo=UTC)  # 09:00 in Austin (CDT)
    result = schedule(uow, telephony, clock, business.id, starts, lead=timedelta(hours=2))
    assert result.sent.send_at == datetime(2026, 3, 12, 1, 59, tzinfo=UTC)


def test_a_reminder_that_could_only_go_out_after_the_start_is_refused(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    business = ready_business(uow, telephony, clock)
    clock.set(datetime(2026, 3, 11, 3, 0, tzinfo=UTC))  # 22:00 in Austin
    before = snapshot(uow, phones=[CUSTOMER])
    with pytest.raises(InvalidField):
        schedule(uow, telephony, clock, business.id, datetime(2026, 3, 11, 12, 30, tzinfo=UTC))
    assert snapshot(uow, phones=[CUSTOMER]) == before


def test_a_reminder_to_a_phone_that_opted_out_meanwhile_is_canceled_and_refunded(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    business = ready_business(uow, telephony, clock)
    schedule(uow, telephony, clock, business.id, clock.now() + timedelta(days=3))
    uc.handle_inbound_message(AUSTIN_NUMBER, CUSTOMER, "STOP", uow=uow, clock=clock)
    clock.advance(timedelta(days=2))
    assert uc.dispatch_due(uow=uow, telephony=telephony, clock=clock).canceled == 1
    assert telephony.sent == []
    assert used(uow, business.id, "2026-03") == 0
    [reminder] = uc.list_reminders(business.id, ReminderState.CANCELED, uow=uow).items
    assert reminder.reference == "visit-1"


def test_reminders_and_replies_have_no_cooldown(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    business = ready_business(uow, telephony, clock)
    rules = Policy(review_cooldown=timedelta(days=30), quiet_hours=None)
    uc.send_review_request(business.id, TO, "Jane", uow=uow, telephony=telephony, clock=clock)
    with pytest.raises(Cooldown):
        uc.send_review_request(
            business.id, TO, "Jane", uow=uow, telephony=telephony, clock=clock, policy=rules
        )
    uc.send_reply(business.id, TO, "See you soon!", uow=uow, telephony=telephony, clock=clock)
    schedule(uow, telephony, clock, business.id, clock.now() + timedelta(hours=1), policy=rules)
    assert len(telephony.sent) == 3


def test_a_reply_needs_consent_or_the_customers_24_hours(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    business = ready_business(uow, telephony, clock)
    with pytest.raises(ConsentRequired):
        uc.send_reply(business.id, STRANGER, "Hi", uow=uow, telephony=telephony, clock=clock)
    uc.handle_inbound_message(AUSTIN_NUMBER, STRANGER.e164, "Open today?", uow=uow, clock=clock)
    sent = uc.send_reply(
        business.id, STRANGER, "Until 8pm!", uow=uow, telephony=telephony, clock=clock
    )
    assert sent.status is MessageStatus.QUEUED
    clock.advance(timedelta(hours=24))
    with pytest.raises(ConsentRequired):
        uc.send_reply(business.id, STRANGER, "Hi", uow=uow, telephony=telephony, clock=clock)


def test_a_reply_inside_the_window_is_not_held_for_quiet_hours_and_stop_ends_it(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    business = ready_business(uow, telephony, clock)
    clock.set(datetime(2026, 3, 11, 3, 0, tzinfo=UTC))  # 22:00 in Austin
    uc.handle_inbound_message(AUSTIN_NUMBER, CUSTOMER, "Are you open?", uow=uow, clock=clock)
    now = uc.send_reply(business.id, TO, "Yes!", uow=uow, telephony=telephony, clock=clock)
    assert now.status is MessageStatus.QUEUED
    uc.handle_inbound_message(AUSTIN_NUMBER, CUSTOMER, "STOP", uow=uow, clock=clock)
    with pytest.raises(RecipientOptedOut):
        uc.send_reply(business.id, TO, "Bye", uow=uow, telephony=telephony, clock=clock)


def test_the_keyword_answers_join_the_thread_without_using_the_allowance(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    business = ready_business(uow, telephony, clock)
    result = uc.handle_inbound_message(AUSTIN_NUMBER, CUSTOMER, "HELP", uow=uow, clock=clock)
    page = uc.conversation_messages(business.id, TO, uow=uow)
    assert [(m.direction.value, m.kind, m.body) for m in page.items] == [
        ("outbound", "reply", result.reply),
        ("inbound", "inbound", "HELP"),
    ]
    assert used(uow, business.id, "2026-03") == 0
