"""The one outbound pipeline every message kind goes through.

A send runs in three steps: a transaction checks every rule
(:func:`~neariq_sms.domain.sendable.check_sendable`), reserves the allowance
and writes the message as ``submitting`` (or ``scheduled`` in quiet hours),
and commits; the provider is called outside any transaction; a second
transaction records the sid, or marks the message ``failed`` and gives its
units back if the provider refused it. A crash between the steps leaves it
``submitting``: never sent again automatically, listed for reconciliation.
What a kind adds is its body (and its own rules in the domain decision).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NoReturn

import attrs

from neariq_sms.domain.allowance import period_of
from neariq_sms.domain.business import Business, SmsNumber
from neariq_sms.domain.conversations import within_reply_window
from neariq_sms.domain.errors import (
    AllowanceExhausted,
    IdempotencyConflict,
    InvalidField,
    InvalidPhone,
    ProviderError,
    RecipientOptedOut,
    ReminderConflict,
    SmsError,
    SmsNotConfigured,
)
from neariq_sms.domain.messages import (
    MessageKind,
    MessageStatus,
    OutboundMessage,
    SendAnswer,
    SentMessage,
)
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import Policy
from neariq_sms.domain.registration import SenderRegistration
from neariq_sms.domain.reminders import Appointment, validity_period
from neariq_sms.domain.segments import segments_of
from neariq_sms.domain.sendable import check_sendable, deferred_until, has_cooldown
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.ports.telephony import TelephonyProvider
from neariq_sms.usecases._common import (
    active_business,
    business_with_number,
    end_unsent,
    log,
    mask,
    store_opt_out,
)


@attrs.frozen
class SendResult:
    """What a send answers: the provider's sid and status, or when it is scheduled."""

    message_id: str
    message_sid: str | None
    status: MessageStatus
    segments: int
    send_at: datetime | None = None

    @classmethod
    def of(cls, message: OutboundMessage) -> SendResult:
        return cls(
            message_id=message.id,
            message_sid=message.provider_sid,
            status=message.status,
            segments=message.segments,
            send_at=message.send_at if message.status is MessageStatus.SCHEDULED else None,
        )


@attrs.frozen
class Outgoing:
    """A message a use case asks the pipeline to send.

    ``body`` renders the text for the business once every rule held (the
    business is read in the pipeline's own transaction, not before); it
    raises ``InvalidField`` for a text that cannot be sent.
    """

    kind: MessageKind
    to: PhoneNumber
    body: Callable[[Business], str]
    idempotency_key: str | None = None
    #: A reminder's appointment: when it goes out, and until when it may be delivered.
    appointment: Appointment | None = None
    #: A kind's own step inside the reservation, once the rules held and before
    #: the allowance is taken: it may answer instead (a repeat) or make room
    #: (a reminder's reschedule cancels and refunds the one it replaces).
    prepare: Callable[[UnitOfWork, Business, datetime], SendResult | None] | None = None


def send_outbound(
    business_id: str,
    outgoing: Outgoing,
    *,
    uow: UnitOfWork,
    telephony: TelephonyProvider,
    clock: Clock,
    policy: Policy,
) -> SendResult:
    """Send ``outgoing`` for the business: the three steps, quiet hours, idempotency.

    Idempotent per ``outgoing.idempotency_key``: a repeat for the same
    business answers what the first request answered and makes no provider call.

    Raises:
        BusinessNotFound, InvalidField, SmsNotConfigured, PlanRequired,
        NoSmsNumber, RecipientOptedOut, ConsentRequired, Cooldown,
        AllowanceExhausted, InvalidPhone, ProviderError.
    """
    try:
        try:
            message, service = _reserve(
                business_id, outgoing, uow=uow, telephony=telephony, clock=clock, policy=policy
            )
        except ReminderConflict:
            # A concurrent request scheduled the same reference first: once more,
            # now seeing it (answered as a repeat, or replaced).
            message, service = _reserve(
                business_id, outgoing, uow=uow, telephony=telephony, clock=clock, policy=policy
            )
    except IdempotencyConflict:
        # A concurrent request with the same key won the insert; answer as it did.
        with uow:
            winner = uow.messages.by_idempotency_key(business_id, outgoing.idempotency_key or "")
        if winner is None:  # pragma: no cover - the key cannot vanish: rows are never deleted
            raise
        return replay(winner, outgoing.to)
    if isinstance(message, SendResult):
        return message
    if message.status is MessageStatus.SCHEDULED:
        log.info(
            "%s scheduled business=%s to=%s send_at=%s",
            message.kind.value,
            message.business_id,
            mask(message.to),
            message.send_at.isoformat() if message.send_at else None,
        )
        return SendResult.of(message)
    return SendResult.of(
        submit(message, uow=uow, telephony=telephony, clock=clock, messaging_service_sid=service)
    )


def _reserve(
    business_id: str,
    outgoing: Outgoing,
    *,
    uow: UnitOfWork,
    telephony: TelephonyProvider,
    clock: Clock,
    policy: Policy,
) -> tuple[OutboundMessage | SendResult, str | None]:
    """Step one: check every rule, reserve the allowance, store the message (or
    answer a repeat); with it, the Messaging Service the business sends through
    when registration is required. One transaction, the business and its number
    read in it too (one statement), so a send costs two transactions in all
    (this and step three)."""
    now = clock.now()
    recipient = outgoing.to
    with uow:
        business, number = business_with_number(uow, business_id)
        # A repeat answers as the first request did, even if the plan, the
        # provider configuration or the business's activity changed since: job
        # runners retry late.
        if (repeat := _repeat(uow, business.id, outgoing)) is not None:
            return repeat, None
        business = active_business(uow, business_id, business)
        consent = uow.consents.get(business.id, recipient, for_update=True)
        # A request with the same key may have committed while this one waited
        # for the consent row's lock (PostgreSQL, READ COMMITTED): answer as it
        # did instead of reporting a cooldown it caused.
        if (repeat := _repeat(uow, business.id, outgoing)) is not None:
            return repeat, None
        last = (
            uow.messages.latest_review_request_at(business.id, recipient)
            if has_cooldown(outgoing.kind)
            else None
        )
        in_window = outgoing.kind is MessageKind.REPLY and texted_in(
            uow, business.id, recipient, now
        )
        registration = registration_of(uow, business.id, policy)
        number = check_sendable(
            business, number, consent, kind=outgoing.kind, policy=policy, now=now,
            configured=telephony.configured, last_counted=last, in_reply_window=in_window,
            registration=registration,
        )  # fmt: skip
        if outgoing.prepare is not None:
            answer = outgoing.prepare(uow, business, now)
            if answer is not None:
                return answer, None
        message = _reserved(uow, business, number, outgoing, policy, now, in_window)
        uow.messages.add(message)
        uow.commit()
    return message, registration.messaging_service_sid if registration else None


def registration_of(uow: UnitOfWork, business_id: str, policy: Policy) -> SenderRegistration | None:
    """Inside an open unit of work: the business's registration when sending needs
    one (not read otherwise: a send without registration pays no query)."""
    return uow.registrations.current(business_id) if policy.registration_required else None


def _reserved(
    uow: UnitOfWork,
    business: Business,
    number: SmsNumber,
    outgoing: Outgoing,
    policy: Policy,
    now: datetime,
    in_window: bool,
) -> OutboundMessage:
    """Inside the reservation, once every rule held: the body, the send time, the
    allowance of the month the message goes out in, and the message to store."""
    recipient = outgoing.to
    body = outgoing.body(business)
    segments = segments_of(body)
    # The recipient's zones matter only to quiet hours (a reminder's too).
    needs_zones = policy.quiet_hours is not None
    zones = (recipient.time_zones() or (business.timezone,)) if needs_zones else ()
    send_at = deferred_until(
        outgoing.kind, policy=policy, now=now, zones=zones,
        appointment=outgoing.appointment, in_reply_window=in_window,
    )  # fmt: skip
    period = period_of(send_at or now)
    limit = policy.allowance_for(business.plan)
    if not uow.allowances.try_consume(business.id, period, segments, limit):
        used = uow.allowances.used(business.id, period)
        raise AllowanceExhausted(limit=limit, used=used, requested=segments)
    appointment = outgoing.appointment
    return OutboundMessage.reserved(
        id=uuid.uuid4().hex,
        business_id=business.id,
        kind=outgoing.kind,
        to=recipient,
        from_=number.number,
        body=body,
        segments=segments,
        period=period,
        now=now,
        send_at=send_at,
        idempotency_key=outgoing.idempotency_key,
        reference=appointment.reference if appointment else None,
        appointment_at=appointment.starts_at if appointment else None,
    )


def texted_in(uow: UnitOfWork, business_id: str, phone: PhoneNumber, now: datetime) -> bool:
    """Inside an open unit of work: the customer texted the business in the last 24 hours."""
    thread = uow.conversations.get(business_id, phone)
    return within_reply_window(thread.last_inbound_at if thread else None, now)


def _repeat(uow: UnitOfWork, business_id: str, outgoing: Outgoing) -> SendResult | None:
    """Inside an open unit of work: the answer of an earlier send with the same key."""
    if outgoing.idempotency_key is None:
        return None
    existing = uow.messages.by_idempotency_key(business_id, outgoing.idempotency_key)
    return None if existing is None else replay(existing, outgoing.to)


def submit(
    message: OutboundMessage,
    *,
    uow: UnitOfWork,
    telephony: TelephonyProvider,
    clock: Clock,
    messaging_service_sid: str | None = None,
) -> OutboundMessage:
    """Steps two and three of a send, for a message already ``submitting``; through
    the business's Messaging Service when given (a registered sender).

    What this answers is kept on the message for idempotent repeats, unless the
    message already has an answer (a scheduled one: ``scheduled``).

    Raises:
        RecipientOptedOut, InvalidPhone, SmsNotConfigured, ProviderError: the
        provider's refusal, after the message was failed and refunded (or,
        when the outcome is unknown, left ``submitting`` for reconciliation).
    """
    sent = call_provider(
        message,
        uow=uow,
        telephony=telephony,
        clock=clock,
        messaging_service_sid=messaging_service_sid,
    )
    with uow:
        # Unless a status callback moved it on already; either way the answer is what
        # the provider said, so the row is not read back.
        now = clock.now()
        uow.messages.record_sent([(message.id, sent)], now=now)
        _keep_answer(uow, message, SendAnswer(status=sent.status))
        uow.commit()
    log.info("%s submitted message=%s sid=%s", message.kind.value, message.id, sent.provider_sid)
    return attrs.evolve(message, status=sent.status, provider_sid=sent.provider_sid, updated_at=now)


def call_provider(
    message: OutboundMessage,
    *,
    uow: UnitOfWork,
    telephony: TelephonyProvider,
    clock: Clock,
    messaging_service_sid: str | None = None,
) -> SentMessage:
    """Step two of a send: the provider's answer for a ``submitting`` message,
    which :func:`record_sent` then records. A refusal is recorded here (the
    message failed and refunded; or, when the outcome is unknown, left
    ``submitting`` for reconciliation) and raised, as :func:`submit` raises it."""
    try:
        return _provider_send(message, telephony, clock, messaging_service_sid)
    except ProviderError as exc:
        if exc.ambiguous:
            log.warning(
                "send outcome unknown, left submitting for reconciliation message=%s: %s",
                message.id,
                exc.reason,
            )
            if message.idempotency_key is not None:  # else no repeat can read it
                with uow:
                    uow.messages.record_answer(message.id, _refusal(exc))
                    uow.commit()
            raise
        # Never reached the provider for a transient reason: a repeat of the first
        # request with the same key is a new try, so the key is freed.
        retry = exc.transient and message.answer is None
        _fail(message, exc, uow=uow, clock=clock, error_code=exc.provider_code, free_key=retry)
        raise
    except RecipientOptedOut as exc:
        _fail(message, exc, uow=uow, clock=clock, error_code=exc.provider_code, opted_out=True)
        raise
    except SmsError as exc:
        _fail(message, exc, uow=uow, clock=clock, error_code=None)
        raise


def record_sent(
    sends: Sequence[tuple[OutboundMessage, SentMessage]], *, uow: UnitOfWork, clock: Clock
) -> None:
    """Step three of many sends the provider accepted, in one transaction: each
    message's sid and status, and its answer unless it has one.

    Until this commits the messages stay ``submitting``: a crash before leaves
    them to reconciliation, which finds them at the provider (and so does
    their first status callback)."""
    if not sends:
        return
    with uow:
        uow.messages.record_sent([(m.id, sent) for m, sent in sends], now=clock.now())
        for message, sent in sends:
            if message.answer is None:  # a scheduled message's answer is "scheduled"
                _keep_answer(uow, message, SendAnswer(status=sent.status))
        uow.commit()
    for message, sent in sends:
        log.info(
            "%s submitted message=%s sid=%s", message.kind.value, message.id, sent.provider_sid
        )


def _provider_send(
    message: OutboundMessage, telephony: TelephonyProvider, clock: Clock, service: str | None
) -> SentMessage:
    extra: dict[str, Any] = {}
    if message.appointment_at is not None:
        # Dropped by the provider rather than delivered after the appointment began.
        extra["validity_period"] = validity_period(message.appointment_at, clock.now())
    if service is not None:
        extra["messaging_service_sid"] = service
    return telephony.send(
        from_=message.from_, to=message.to, body=message.body, message_id=message.id, **extra
    )


def _fail(
    message: OutboundMessage,
    exc: SmsError,
    *,
    uow: UnitOfWork,
    clock: Clock,
    error_code: int | None,
    opted_out: bool = False,
    free_key: bool = False,
) -> None:
    """The provider refused the message: mark it failed and give its units back,
    keep the refusal as its answer (or free its key for a new try)."""
    now = clock.now()
    with uow:
        if opted_out:
            # The consent row before the message and the allowance: the one lock order
            # (see ports.storage). The other way round, a concurrent send holding the
            # consent row and waiting for the allowance deadlocks with this.
            store_opt_out(uow, message.business_id, message.to, source="provider", clock=clock)
        end_unsent(uow, message, to=MessageStatus.FAILED, now=now, error_code=error_code)
        if message.idempotency_key is not None:  # else no repeat can read either
            if free_key:
                uow.messages.forget_idempotency_key(message.id)
            else:
                uow.messages.record_answer(message.id, _refusal(exc))
        uow.commit()
    log.info(
        "%s refused by the provider message=%s code=%s", message.kind.value, message.id, error_code
    )


def _keep_answer(uow: UnitOfWork, message: OutboundMessage, answer: SendAnswer) -> None:
    """Inside an open unit of work: keep what the send answered, for its repeats.
    A send without an idempotency key can have no repeat (the answer is read only
    through the key), so it keeps none: one statement less per send."""
    if message.idempotency_key is not None:
        uow.messages.record_answer(message.id, answer)


def cancel_scheduled(uow: UnitOfWork, message: OutboundMessage, *, now: datetime) -> bool:
    """Inside an open unit of work: cancel a scheduled message and give its units back.

    False when it had moved on meanwhile (another worker sent or canceled it).
    """
    return end_unsent(uow, message, to=MessageStatus.CANCELED, now=now) is not None


def cancel_all_scheduled(uow: UnitOfWork, business_id: str, *, now: datetime) -> int:
    """Inside an open unit of work: cancel and refund every scheduled message of the
    business (every kind); how many were canceled."""
    return sum(cancel_scheduled(uow, m, now=now) for m in uow.messages.scheduled_for(business_id))


# --- idempotent repeats ----------------------------------------------------------


def _refusal(exc: SmsError) -> SendAnswer:
    """The answer a send gave when it raised ``exc``, as kept for its repeats."""
    if isinstance(exc, ProviderError):
        return SendAnswer(
            error=exc.code,
            reason=exc.reason,
            provider_code=exc.provider_code,
            ambiguous=exc.ambiguous,
        )
    if isinstance(exc, InvalidPhone):
        return SendAnswer(error=exc.code, reason=exc.field)
    return SendAnswer(error=exc.code)


def _raise_again(answer: SendAnswer) -> NoReturn:
    """Raise the error a first request raised, from what was kept of it."""
    if answer.error == RecipientOptedOut.code:
        raise RecipientOptedOut()
    if answer.error == InvalidPhone.code:
        raise InvalidPhone(field=answer.reason or "to")
    if answer.error == SmsNotConfigured.code:
        raise SmsNotConfigured()
    raise ProviderError(
        reason=answer.reason or ProviderError().reason,
        provider_code=answer.provider_code,
        ambiguous=answer.ambiguous,
    )


def replay(existing: OutboundMessage, recipient: PhoneNumber) -> SendResult:
    """A repeat's answer: exactly the first request's, once that one answered."""
    if existing.to != recipient:
        raise InvalidField("Idempotency-Key", "was already used for a different recipient")
    answer = existing.answer
    if answer is None:  # the first request is still under way (or died before answering)
        return SendResult.of(existing)
    if answer.error is not None:
        _raise_again(answer)
    status = answer.status or existing.status
    scheduled = status is MessageStatus.SCHEDULED
    return SendResult(
        message_id=existing.id,
        message_sid=None if scheduled else existing.provider_sid,
        status=status,
        segments=existing.segments,
        send_at=existing.send_at if scheduled else None,
    )


__all__ = [
    "Outgoing",
    "SendResult",
    "call_provider",
    "cancel_all_scheduled",
    "cancel_scheduled",
    "record_sent",
    "registration_of",
    "replay",
    "send_outbound",
    "submit",
    "texted_in",
]
