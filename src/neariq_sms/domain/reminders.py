"""Appointment reminders: when one goes out, what it says, how long it stays deliverable."""

from __future__ import annotations

import enum
import string
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import attrs

from neariq_sms.domain.errors import InvalidField
from neariq_sms.domain.messages import MessageStatus
from neariq_sms.domain.parsing import parse_text
from neariq_sms.domain.quiet_hours import QuietHours
from neariq_sms.domain.review import OPT_OUT_FOOTER

MIN_LEAD = timedelta(minutes=5)
MAX_LEAD = timedelta(minutes=10_080)  # a week
DEFAULT_LEAD = timedelta(minutes=1_440)  # a day
MAX_REFERENCE = 200

#: Twilio keeps an undelivered message this long at most (``ValidityPeriod``, 1-36,000 s).
MAX_VALIDITY = timedelta(seconds=36_000)

DEFAULT_REMINDER_TEMPLATE = (
    "Hi {first_name}, this is a reminder of your appointment at {business_name}"
    " on {date} at {time}."
)
_PLACEHOLDERS = {"first_name", "business_name", "date", "time"}


class ReminderState(enum.Enum):
    """What the reminder list filters on; each covers a set of message statuses."""

    SCHEDULED = "scheduled"
    #: Handed to the provider: any status from ``queued`` on, ``undelivered`` included.
    SENT = "sent"
    CANCELED = "canceled"
    #: Never sent: the provider refused it.
    FAILED = "failed"

    @property
    def statuses(self) -> frozenset[MessageStatus]:
        return _STATES[self]


_STATES = {
    ReminderState.SCHEDULED: frozenset({MessageStatus.SCHEDULED}),
    ReminderState.SENT: frozenset(s for s in MessageStatus if s.rank >= MessageStatus.QUEUED.rank)
    - {MessageStatus.FAILED, MessageStatus.CANCELED},
    ReminderState.CANCELED: frozenset({MessageStatus.CANCELED}),
    ReminderState.FAILED: frozenset({MessageStatus.FAILED}),
}


@attrs.frozen
class Appointment:
    """What a reminder is about: the host's appointment id and when it begins."""

    reference: str
    starts_at: datetime
    lead: timedelta = DEFAULT_LEAD

    @property
    def planned_send_at(self) -> datetime:
        return self.starts_at - self.lead


def parse_reference(raw: object, *, field: str = "reference") -> str:
    """The host's appointment id: 1-200 printable characters (kept as given)."""
    text = parse_text(raw, field)
    if len(text) > MAX_REFERENCE or not text.isprintable():
        raise InvalidField(field, f"must be 1 to {MAX_REFERENCE} printable characters")
    return text


def parse_starts_at(raw: object, *, now: datetime, field: str = "appointmentAt") -> datetime:
    """ISO-8601 with an offset or ``Z``, in the future."""
    text = parse_text(raw, field).strip()
    try:
        value = datetime.fromisoformat(text) if text.isprintable() else None
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidField(field, "must be an ISO-8601 time with an offset or Z")
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise InvalidField(field, "is out of range") from None
    if value <= now:
        raise InvalidField(field, "must be in the future")
    return value


def parse_lead(raw: object, *, field: str = "leadMinutes") -> timedelta:
    """Whole minutes from 5 to 10,080 (a week); absent: a day."""
    if raw is None:
        return DEFAULT_LEAD
    low, high = int(MIN_LEAD.total_seconds()) // 60, int(MAX_LEAD.total_seconds()) // 60
    if not isinstance(raw, int) or isinstance(raw, bool) or not low <= raw <= high:
        raise InvalidField(field, f"must be a whole number of minutes from {low} to {high:,}")
    return timedelta(minutes=raw)


def parse_appointment(
    reference: object, starts_at: object, lead_minutes: object, *, now: datetime
) -> Appointment:
    """An appointment from raw input (the fields of ``schedule_reminder``)."""
    return Appointment(
        parse_reference(reference), parse_starts_at(starts_at, now=now), parse_lead(lead_minutes)
    )


def parse_reminder_template(template: str) -> str:
    """A template may use only ``{first_name}``, ``{business_name}``, ``{date}``, ``{time}``."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise InvalidField("reminder_template", str(exc)) from None
    unknown = fields - _PLACEHOLDERS
    if unknown:
        raise InvalidField("reminder_template", f"unknown placeholders {sorted(unknown)}")
    return template


def render_reminder(
    *,
    template: str | None,
    customer_name: str,
    business_name: str,
    starts_at: datetime,
    timezone: str,
) -> str:
    """The reminder's text: the appointment's date and time on the business's clock
    (``Tue, Mar 10`` at ``2:30 PM``), always ending with the opt-out footer."""
    local = starts_at.astimezone(ZoneInfo(timezone))
    hour = local.hour % 12 or 12
    text = (template or DEFAULT_REMINDER_TEMPLATE).format(
        first_name=customer_name.split()[0],
        business_name=business_name,
        date=f"{local:%a, %b} {local.day}",
        time=f"{hour}:{local:%M %p}",
    )
    text = " ".join(text.split())
    if not text.endswith(OPT_OUT_FOOTER):
        text = f"{text} {OPT_OUT_FOOTER}"
    return text


def reminder_send_at(
    appointment: Appointment,
    *,
    now: datetime,
    quiet_hours: QuietHours | None,
    zones: Sequence[str],
) -> datetime | None:
    """When the reminder goes out; ``None`` when it cannot go out before the appointment.

    At its planned time (``lead`` before the start), or, when that falls in the
    recipient's quiet hours, at the last allowed moment before it. A planned
    time already past sends now (if now is allowed) as long as the appointment
    has not begun. Never at or after the start.
    """
    if appointment.starts_at <= now:
        return None
    planned = max(appointment.planned_send_at, now)
    if quiet_hours is not None:
        planned = quiet_hours.last_allowed_at_or_before(planned, zones)
        if planned < now:
            # The last allowed moment has gone by: the next one, if it still comes in time.
            planned = quiet_hours.next_allowed(now, zones) or now
    return planned if planned < appointment.starts_at else None


def validity_period(starts_at: datetime, now: datetime) -> int:
    """Seconds the provider may keep trying to deliver: until the appointment
    begins, at most Twilio's 36,000 (a reminder after the start is no reminder)."""
    left = min(starts_at - now, MAX_VALIDITY)
    return max(1, int(left.total_seconds()))


__all__ = [
    "DEFAULT_LEAD",
    "DEFAULT_REMINDER_TEMPLATE",
    "MAX_LEAD",
    "MAX_REFERENCE",
    "MAX_VALIDITY",
    "MIN_LEAD",
    "Appointment",
    "ReminderState",
    "parse_appointment",
    "parse_lead",
    "parse_reference",
    "parse_reminder_template",
    "parse_starts_at",
    "reminder_send_at",
    "render_reminder",
    "validity_period",
]
