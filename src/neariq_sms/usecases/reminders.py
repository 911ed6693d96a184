"""Appointment reminders: schedule (and reschedule), cancel, list.

A reminder is an outbound message of kind ``reminder`` keyed by the host's
appointment id (``reference``) per business. It goes through the shared
pipeline (:mod:`neariq_sms.usecases.outbound`): the same rules, the same
three-step send, dispatcher, callbacks, reconciliation and release.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs

from neariq_sms.domain.business import Business
from neariq_sms.domain.conversations import ThreadMessage
from neariq_sms.domain.errors import ReminderAlreadySent, ReminderNotFound
from neariq_sms.domain.messages import NEVER_SENT, MessageKind, MessageStatus, OutboundMessage
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import DEFAULT_POLICY, Policy
from neariq_sms.domain.reminders import Appointment, ReminderState, render_reminder
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.ports.telephony import TelephonyProvider
from neariq_sms.usecases._common import active_business, log
from neariq_sms.usecases.outbound import (
    Outgoing,
    SendResult,
    cancel_scheduled,
    replay,
    send_outbound,
)
from neariq_sms.usecases.paging import Cursor, Page, encode_cursor

DEFAULT_REMINDERS = 50
MAX_REMINDERS = 200


@attrs.frozen
class ReminderResult:
    """What scheduling a reminder answers: the send's answer and the reference."""

    reference: str
    sent: SendResult


def _reminder_body(customer_name: str, starts_at: datetime) -> Callable[[Business], str]:
    def render(business: Business) -> str:
        return render_reminder(
            template=business.reminder_template,
            customer_name=customer_name,
            business_name=business.name,
            starts_at=starts_at,
            timezone=business.timezone,
        )

    return render


def _same_request(existing: OutboundMessage, to: PhoneNumber, appointment: Appointment) -> bool:
    return existing.to == to and existing.appointment_at == appointment.starts_at


def _take_over(
    to: PhoneNumber, appointment: Appointment
) -> Callable[[UnitOfWork, Business, datetime], SendResult | None]:
    """Inside the send's transaction, once the recipient's consent row is locked:
    what becomes of the reference's earlier reminder.

    The same request again answers as the first time; a pending one with
    another time or recipient is canceled (its units given back) so that the
    new one replaces it in the same transaction; one already sent is 409.
    """

    def take_over(uow: UnitOfWork, business: Business, now: datetime) -> SendResult | None:
        existing = uow.messages.latest_reminder(business.id, appointment.reference)
        if existing is None or existing.status in NEVER_SENT:
            return None
        if _same_request(existing, to, appointment):
            return replay(existing, existing.to)
        if existing.status is not MessageStatus.SCHEDULED or not cancel_scheduled(
            uow, existing, now=now
        ):
            raise ReminderAlreadySent()
        log.info("reminder rescheduled business=%s message=%s", business.id, existing.id)
        return None

    return take_over


def schedule_reminder(
    business_id: str,
    to: PhoneNumber,
    customer_name: str,
    appointment: Appointment,
    *,
    uow: UnitOfWork,
    telephony: TelephonyProvider,
    clock: Clock,
    policy: Policy = DEFAULT_POLICY,
    idempotency_key: str | None = None,
) -> ReminderResult:
    """Schedule the reminder of an appointment (or reschedule it, or answer a repeat).

    It goes out ``appointment.lead`` before the start, earlier when that falls
    in the recipient's quiet hours, never after the start; when that time has
    passed already it goes out now. Its allowance is reserved now, in the
    month of its send time. The same reference with the same time and
    recipient answers as the first time; with another one the pending reminder
    is replaced in one transaction.

    Raises:
        BusinessNotFound, InvalidField (``appointmentAt``: begun, or no moment
        outside quiet hours before it), SmsNotConfigured, PlanRequired,
        NoSmsNumber, RecipientOptedOut, ConsentRequired, ReminderAlreadySent,
        AllowanceExhausted, ProviderError.
    """
    outgoing = Outgoing(
        MessageKind.REMINDER,
        to,
        _reminder_body(customer_name, appointment.starts_at),
        idempotency_key,
        appointment=appointment,
        prepare=_take_over(to, appointment),
    )
    sent = send_outbound(
        business_id, outgoing, uow=uow, telephony=telephony, clock=clock, policy=policy
    )
    return ReminderResult(appointment.reference, sent)


def cancel_reminder(business_id: str, reference: str, *, uow: UnitOfWork, clock: Clock) -> bool:
    """Cancel the reference's pending reminder and give its units back; ``False``
    when it was already sent or canceled.

    Raises:
        BusinessNotFound, ReminderNotFound.
    """
    now = clock.now()
    with uow:
        business = active_business(uow, business_id)
        existing = uow.messages.latest_reminder(business.id, reference)
        if existing is None:
            raise ReminderNotFound()
        canceled = existing.status is MessageStatus.SCHEDULED and cancel_scheduled(
            uow, existing, now=now
        )
        uow.commit()
    return canceled


def list_reminders(
    business_id: str,
    state: ReminderState | None = None,
    cursor: Cursor | None = None,
    limit: int = DEFAULT_REMINDERS,
    *,
    uow: UnitOfWork,
) -> Page[ThreadMessage]:
    """The business's reminders, soonest send time first, a page at a time."""
    statuses = state.statuses if state is not None else None
    with uow.reading():
        business = active_business(uow, business_id)
        rows = list(
            uow.messages.reminders(business.id, statuses=statuses, after=cursor, limit=limit + 1)
        )
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    next_cursor = encode_cursor(last.send_at or last.created_at, last.id) if more and last else None
    return Page([ThreadMessage.outbound(m) for m in rows], next_cursor)


__all__ = [
    "ReminderResult",
    "cancel_reminder",
    "list_reminders",
    "schedule_reminder",
]
