"""Reminder timing (lead, quiet hours, never after the start), text, validity; reply rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neariq_sms.domain import InvalidField, MissingField, QuietHours
from neariq_sms.domain.conversations import parse_reply_body, within_reply_window
from neariq_sms.domain.reminders import (
    MAX_LEAD,
    MIN_LEAD,
    Appointment,
    parse_reminder_template,
    reminder_send_at,
    render_reminder,
    validity_period,
)
from tests.strategies import moments

CHICAGO = ZoneInfo("America/Chicago")
QUIET = QuietHours()
ZONES = ["America/Chicago"]


def local(*args: int, zone: ZoneInfo = CHICAGO) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)  # type: ignore[misc]


def send_at(starts_at: datetime, lead: timedelta, now: datetime) -> datetime | None:
    appointment = Appointment("visit-1", starts_at, lead)
    return reminder_send_at(appointment, now=now, quiet_hours=QUIET, zones=ZONES)


def test_a_reminder_goes_out_its_lead_before_the_appointment() -> None:
    """14:30 appointment, a day's lead: 14:30 the day before."""
    start = local(2026, 3, 11, 14, 30)
    assert send_at(start, timedelta(days=1), local(2026, 3, 1, 9)) == local(2026, 3, 10, 14, 30)


def test_a_planned_time_in_quiet_hours_moves_to_the_last_minute_before_them() -> None:
    """09:00 appointment, 2 h lead -> 07:00 is quiet: 20:59 the evening before."""
    start = local(2026, 3, 11, 9, 0)
    assert send_at(start, timedelta(hours=2), local(2026, 3, 1, 9)) == local(2026, 3, 10, 20, 59)


def test_a_planned_time_already_past_sends_now_while_the_appointment_has_not_begun() -> None:
    now = local(2026, 3, 11, 10, 0)
    assert send_at(local(2026, 3, 11, 11, 0), timedelta(days=1), now) == now


def test_past_planned_time_in_quiet_hours_waits_for_the_morning_if_that_is_in_time() -> None:
    """At 22:00 for a 09:00 appointment: 08:00."""
    now = local(2026, 3, 10, 22, 0)
    assert send_at(local(2026, 3, 11, 9, 0), timedelta(days=1), now) == local(2026, 3, 11, 8, 0)


def test_no_allowed_moment_before_the_start_means_no_reminder() -> None:
    """At 22:00 for a 07:30 appointment: the morning comes too late."""
    now = local(2026, 3, 10, 22, 0)
    assert send_at(local(2026, 3, 11, 7, 30), timedelta(hours=1), now) is None


def test_an_appointment_that_began_gets_no_reminder() -> None:
    now = local(2026, 3, 10, 12, 0)
    assert send_at(now, MIN_LEAD, now) is None


@given(
    now=moments,
    ahead=st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=30)),
    lead=st.timedeltas(min_value=MIN_LEAD, max_value=MAX_LEAD),
    zones=st.sampled_from(
        [ZONES, ["America/New_York"], ["America/Indiana/Knox", "America/Chicago"]]
    ),
)
def test_a_reminder_is_never_late_never_early_never_quiet(
    now: datetime, ahead: timedelta, lead: timedelta, zones: list[str]
) -> None:
    """Whatever the times: not before now, before the start, not in quiet hours,
    and never earlier than the planned time unless quiet hours forced it."""
    start = now + ahead
    appointment = Appointment("r", start, lead)
    at = reminder_send_at(appointment, now=now, quiet_hours=QUIET, zones=zones)
    if at is None:
        return
    assert now <= at < start
    assert QUIET.next_allowed(at, zones) is None
    if QUIET.next_allowed(max(appointment.planned_send_at, now), zones) is None:
        assert at == max(appointment.planned_send_at, now)


def test_the_text_names_the_appointment_on_the_business_clock_and_ends_with_the_footer() -> None:
    body = render_reminder(
        template=None,
        customer_name="Jane Doe",
        business_name="Aster Grove Fitness",
        starts_at=datetime(2026, 3, 10, 19, 30, tzinfo=UTC),
        timezone="America/Chicago",
    )
    assert body == (
        "Hi Jane, this is a reminder of your appointment at Aster Grove Fitness"
        " on Tue, Mar 10 at 2:30 PM. Reply STOP to opt out."
    )


def test_a_template_may_use_only_the_reminder_placeholders() -> None:
    assert parse_reminder_template("{first_name}: {date} {time} at {business_name}")
    with pytest.raises(InvalidField):
        parse_reminder_template("{review_link}")


def test_validity_lasts_until_the_start_at_most_ten_hours() -> None:
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert validity_period(now + timedelta(minutes=30), now) == 1_800
    assert validity_period(now + timedelta(days=1), now) == 36_000
    assert validity_period(now, now) == 1


def test_the_reply_window_is_the_24_hours_after_the_customers_last_message() -> None:
    last = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert within_reply_window(last, last + timedelta(hours=23, minutes=59))
    assert not within_reply_window(last, last + timedelta(hours=24))
    assert not within_reply_window(None, last)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (None, MissingField),
        ("  \n ", MissingField),
        (12, InvalidField),
        ("x" * 1601, InvalidField),
        ("a\x00b", InvalidField),
        ("a\rb", InvalidField),
    ],
)
def test_a_reply_body_is_checked(raw: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_reply_body(raw)


def test_a_reply_keeps_line_breaks_and_emoji_sequences() -> None:
    assert parse_reply_body("  See you at 3!\nThe team \U0001f468\u200d\U0001f469  ") == (
        "See you at 3!\nThe team \U0001f468\u200d\U0001f469"
    )
