"""Whether a message may go out: the send rules every message kind shares.

One decision for the first request of a send and for the dispatcher that
sends a scheduled message later, so no caller spells a rule again. What
differs per kind (the cooldown, when a deferred message goes out) is looked
up here too; the allowance stays a storage operation (it must hold across
concurrent workers).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from neariq_sms.domain.business import Business, SmsNumber
from neariq_sms.domain.consent import ConsentRecord
from neariq_sms.domain.errors import (
    BusinessNotFound,
    ConsentRequired,
    Cooldown,
    InvalidField,
    NoSmsNumber,
    RecipientOptedOut,
    SmsNotConfigured,
)
from neariq_sms.domain.messages import MessageKind, OutboundMessage
from neariq_sms.domain.plans import Policy
from neariq_sms.domain.registration import SenderRegistration, require_registered
from neariq_sms.domain.reminders import Appointment, reminder_send_at

#: The kinds a per-recipient cooldown applies to (docs/http-contract.md: "three kinds").
COOLDOWN_KINDS = frozenset({MessageKind.REVIEW_REQUEST})


def has_cooldown(kind: MessageKind) -> bool:
    """True when a message of ``kind`` waits for the recipient's cooldown."""
    return kind in COOLDOWN_KINDS


def check_sendable(
    business: Business | None,
    number: SmsNumber | None,
    consent: ConsentRecord | None,
    *,
    kind: MessageKind,
    policy: Policy,
    now: datetime,
    configured: bool = True,
    last_counted: datetime | None = None,
    in_reply_window: bool = False,
    registration: SenderRegistration | None = None,
) -> SmsNumber:
    """The number a message of ``kind`` goes out from, or the first rule it
    breaks, raised in the spec's order.

    Args:
        business: the sender; ``None`` when unknown.
        number: the number the business holds (any status), ``None`` if none.
        consent: the recipient's record with the business, ``None`` if none.
        kind: what is sent.
        policy: the deployment's rules (the cooldown).
        now: the time of the check.
        configured: whether the provider has credentials.
        last_counted: the recipient's latest message of ``kind`` that counts
            for the cooldown; ``None`` when there is none, and at dispatch
            (the message being dispatched is the latest one).
        in_reply_window: the recipient texted the business in the last 24
            hours: a reply needs no consent record then (never after an opt-out).
        registration: the business's sender registration, ``None`` if none;
            it must be approved when ``policy.registration_required``.

    Raises:
        BusinessNotFound, SmsNotConfigured, PlanRequired, RegistrationRequired,
        RegistrationPending, NoSmsNumber,
        RecipientOptedOut, ConsentRequired, Cooldown.
    """
    if business is None or not business.active:
        raise BusinessNotFound(business_id=business.id if business else "")
    if not configured:
        raise SmsNotConfigured()
    business.plan.require_sms()
    if policy.registration_required:
        require_registered(registration)
    if number is None or not number.active:
        raise NoSmsNumber()
    if consent is not None and consent.opted_out:
        raise RecipientOptedOut()
    consented = consent is not None and consent.allows_sending
    if not consented and not (kind is MessageKind.REPLY and in_reply_window):
        raise ConsentRequired()
    if has_cooldown(kind):
        allowed_from = policy.review_allowed_from(last_counted, now)
        if allowed_from is not None:
            raise Cooldown(until=allowed_from)
    return number


def deferred_until(
    kind: MessageKind,
    *,
    policy: Policy,
    now: datetime,
    zones: Sequence[str],
    appointment: Appointment | None = None,
    in_reply_window: bool = False,
) -> datetime | None:
    """When a message of ``kind`` asked for at ``now`` goes out, if not now;
    ``None``: send it now.

    A review request, or a reply outside the customer's 24 hours, waits for
    the end of the recipient's quiet hours; a reply inside them never waits; a
    reminder goes out at its planned time, moved before quiet hours
    (:func:`~neariq_sms.domain.reminders.reminder_send_at`).

    Raises:
        InvalidField: a reminder with no moment left to go out before its appointment.
    """
    if kind is MessageKind.REMINDER and appointment is not None:
        if appointment.starts_at <= now:
            raise InvalidField("appointmentAt", "must be in the future")
        at = reminder_send_at(appointment, now=now, quiet_hours=policy.quiet_hours, zones=zones)
        if at is None:
            raise InvalidField(
                "appointmentAt", "leaves no time outside the recipient's quiet hours for a reminder"
            )
        return at
    if policy.quiet_hours is None or (kind is MessageKind.REPLY and in_reply_window):
        return None
    return policy.quiet_hours.next_allowed(now, zones)


def still_due(message: OutboundMessage, now: datetime) -> bool:
    """A scheduled message may still go out: a reminder never once its appointment began."""
    return message.appointment_at is None or now < message.appointment_at


__all__ = ["COOLDOWN_KINDS", "check_sendable", "deferred_until", "has_cooldown", "still_due"]
