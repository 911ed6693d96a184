"""Review requests: the three-step send, scheduling and dispatch, status callbacks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NoReturn

import attrs

from neariq_sms.domain.allowance import period_of
from neariq_sms.domain.business import NumberStatus
from neariq_sms.domain.errors import (
    AllowanceExhausted,
    ConsentRequired,
    Cooldown,
    IdempotencyConflict,
    InvalidField,
    InvalidPhone,
    NoSmsNumber,
    ProviderError,
    RecipientOptedOut,
    SmsError,
    SmsNotConfigured,
)
from neariq_sms.domain.messages import MessageKind, MessageStatus, OutboundMessage, SendAnswer
from neariq_sms.domain.parsing import (
    parse_customer_name,
    parse_idempotency_key,
    parse_phone,
    parse_present,
)
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import DEFAULT_POLICY, Policy
from neariq_sms.domain.review import render_review_request
from neariq_sms.domain.segments import MAX_BODY_CHARS, count_segments
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.ports.telephony import TelephonyProvider
from neariq_sms.usecases._common import (
    active_business,
    end_unsent,
    load_business,
    log,
    mask,
    require_configured,
    require_sms_plan,
    store_opt_out,
)

OPTED_OUT_ERROR = 21610


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
class DispatchReport:
    submitted: int = 0
    failed: int = 0
    canceled: int = 0


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


def _replay(existing: OutboundMessage, recipient: PhoneNumber) -> SendResult:
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


def send_review_request(
    business_id: str,
    to: object,
    customer_name: object,
    *,
    uow: UnitOfWork,
    telephony: TelephonyProvider,
    clock: Clock,
    policy: Policy = DEFAULT_POLICY,
    idempotency_key: str | None = None,
) -> SendResult:
    """Ask a consenting customer for a review.

    Checks, in the spec's order: the business, the input, the provider's
    configuration, the plan, the business's number, consent and opt-out, the
    cooldown, the allowance. In quiet hours the message is stored as
    ``scheduled`` (its allowance reserved) for :func:`dispatch_due`.

    The send runs in three steps: a transaction reserves the allowance and
    writes the message as ``submitting``; the provider is called outside any
    transaction; a second transaction records the sid, or marks the message
    ``failed`` and gives its units back if the provider refused it. A crash
    between the steps leaves it ``submitting``: never sent again automatically.

    Idempotent per ``idempotency_key``: a repeat for the same business returns
    the first result and makes no provider call.

    Raises:
        BusinessNotFound, MissingField, InvalidField, InvalidPhone,
        SmsNotConfigured, PlanRequired, NoSmsNumber, ConsentRequired,
        RecipientOptedOut, Cooldown, AllowanceExhausted, ProviderError.
    """
    now = clock.now()
    try:
        # The spec's order of shape errors: missing_field, then invalid_field, then invalid_phone.
        parse_present(to, "to")
        parse_present(customer_name, "customerName")
        name = parse_customer_name(customer_name)
        key = parse_idempotency_key(idempotency_key)
        recipient = parse_phone(to, field="to", region=policy.default_region)
    except SmsError:
        load_business(uow, business_id)  # an unknown business answers before a shape error
        raise

    # Every rule is read and the allowance reserved in one transaction: the
    # business too, so a send costs two transactions in all (this and step 3).
    try:
        with uow:
            business = active_business(uow, business_id)
            if key is not None:
                # A repeat answers as the first request did, even if the plan or
                # the provider configuration changed since: job runners retry late.
                existing = uow.messages.by_idempotency_key(business.id, key)
                if existing is not None:
                    return _replay(existing, recipient)
            require_configured(telephony)
            require_sms_plan(business)
            number = uow.numbers.holding(business.id)
            if number is None or number.status is not NumberStatus.ACTIVE:
                raise NoSmsNumber()
            consent = uow.consents.get(business.id, recipient, for_update=True)
            if key is not None:
                # A request with the same key may have committed while this one
                # waited for the consent row's lock (PostgreSQL, READ COMMITTED):
                # answer as it did instead of reporting a cooldown it caused.
                existing = uow.messages.by_idempotency_key(business.id, key)
                if existing is not None:
                    return _replay(existing, recipient)
            if consent is not None and consent.opted_out:
                raise RecipientOptedOut()
            if consent is None or not consent.allows_sending:
                raise ConsentRequired()
            latest = uow.messages.latest_review_request_at(business.id, recipient)
            allowed_from = policy.review_allowed_from(latest, now)
            if allowed_from is not None:
                raise Cooldown(until=allowed_from)
            body = render_review_request(
                template=business.review_template,
                customer_name=name,
                business_name=business.name,
                review_link=business.review_url,
            )
            if len(body) > MAX_BODY_CHARS:
                raise InvalidField("review_template", f"renders past {MAX_BODY_CHARS} characters")
            segments = count_segments(body).segments
            period = period_of(now)
            limit = policy.allowance_for(business.plan)
            if not uow.allowances.try_consume(business.id, period, segments, limit):
                raise AllowanceExhausted(
                    limit=limit, used=uow.allowances.used(business.id, period), requested=segments
                )
            send_at = None
            if policy.quiet_hours:
                zones = recipient.time_zones() or (business.timezone,)
                send_at = policy.quiet_hours.next_allowed(now, zones)
            message = OutboundMessage(
                id=uuid.uuid4().hex,
                business_id=business.id,
                to=recipient,
                from_=number.number,
                body=body,
                segments=segments,
                units=segments,
                period=period,
                status=MessageStatus.SCHEDULED if send_at else MessageStatus.SUBMITTING,
                created_at=now,
                updated_at=now,
                kind=MessageKind.REVIEW_REQUEST,
                idempotency_key=key,
                send_at=send_at,
                answer=SendAnswer(status=MessageStatus.SCHEDULED) if send_at else None,
            )
            uow.messages.add(message)
            uow.commit()
    except IdempotencyConflict:
        # A concurrent request with the same key won the insert; answer as it did.
        with uow:
            winner = uow.messages.by_idempotency_key(business_id, key or "")
        if winner is None:  # pragma: no cover - the key cannot vanish: rows are never deleted
            raise
        return _replay(winner, recipient)

    if send_at is not None:
        log.info(
            "review request scheduled business=%s to=%s send_at=%s",
            business.id,
            mask(recipient),
            send_at.isoformat(),
        )
        return SendResult.of(message)
    return SendResult.of(_submit(message, uow=uow, telephony=telephony, clock=clock))


def _submit(
    message: OutboundMessage, *, uow: UnitOfWork, telephony: TelephonyProvider, clock: Clock
) -> OutboundMessage:
    """Steps two and three of a send, for a message already ``submitting``.

    What this answers is kept on the message for idempotent repeats, unless the
    message already has an answer (a scheduled one: ``scheduled``).
    """
    try:
        sent = telephony.send(
            from_=message.from_, to=message.to, body=message.body, message_id=message.id
        )
    except ProviderError as exc:
        if exc.ambiguous:
            log.warning(
                "send outcome unknown, left submitting for reconciliation message=%s: %s",
                message.id,
                exc.reason,
            )
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
        _fail(message, exc, uow=uow, clock=clock, error_code=OPTED_OUT_ERROR, opted_out=True)
        raise
    except SmsError as exc:
        _fail(message, exc, uow=uow, clock=clock, error_code=None)
        raise
    with uow:
        updated = uow.messages.transition(
            message.id,
            allowed_from={MessageStatus.SUBMITTING},
            to=sent.status,
            now=clock.now(),
            provider_sid=sent.provider_sid,
        )
        uow.messages.record_answer(message.id, SendAnswer(status=sent.status))
        uow.commit()
    log.info("review request submitted message=%s sid=%s", message.id, sent.provider_sid)
    # A status callback may have moved it on already: the answer is what the provider said.
    return attrs.evolve(updated or message, status=sent.status, provider_sid=sent.provider_sid)


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
        if free_key:
            uow.messages.forget_idempotency_key(message.id)
        else:
            uow.messages.record_answer(message.id, _refusal(exc))
        uow.commit()
    log.info("review request refused by the provider message=%s code=%s", message.id, error_code)


def _cancel(message: OutboundMessage, *, uow: UnitOfWork, now: datetime) -> bool:
    """Inside an open unit of work: cancel a scheduled message and give its units back."""
    return end_unsent(uow, message, to=MessageStatus.CANCELED, now=now) is not None


def dispatch_due(
    *,
    uow: UnitOfWork,
    telephony: TelephonyProvider,
    clock: Clock,
    limit: int = 100,
) -> DispatchReport:
    """Send the scheduled messages whose time has come (for cron or a job runner).

    Each message is claimed by one conditional update, so several dispatchers
    may run at once without sending anything twice. A message whose recipient
    opted out meanwhile, or whose business lost its plan or number, is
    canceled and its units given back. Safe to call at any time, repeatedly.

    Raises:
        SmsNotConfigured: when there is no provider.
    """
    if not telephony.configured:
        raise SmsNotConfigured()
    now = clock.now()
    with uow:
        due = list(uow.messages.due(now, limit))
    submitted = failed = canceled = 0
    for message in due:
        with uow:
            business = uow.businesses.get(message.business_id)
            consent = uow.consents.get(message.business_id, message.to, for_update=True)
            number = uow.numbers.holding(message.business_id)
            still_allowed = (
                business is not None
                and business.active
                and business.plan.includes_sms
                and consent is not None
                and consent.allows_sending
                and number is not None
                and number.status is NumberStatus.ACTIVE
            )
            if not still_allowed:
                canceled += _cancel(message, uow=uow, now=now)
                uow.commit()
                continue
            claimed = uow.messages.transition(
                message.id,
                allowed_from={MessageStatus.SCHEDULED},
                to=MessageStatus.SUBMITTING,
                now=now,
            )
            uow.commit()
        if claimed is None:
            continue  # another dispatcher has it
        try:
            _submit(claimed, uow=uow, telephony=telephony, clock=clock)
            submitted += 1
        except SmsError as exc:
            failed += 1
            log.warning("scheduled message not sent message=%s: %s", message.id, exc.code)
    return DispatchReport(submitted=submitted, failed=failed, canceled=canceled)


def handle_status_callback(
    provider_sid: str,
    status: str,
    error_code: int | None = None,
    *,
    message_id: str | None = None,
    uow: UnitOfWork,
    clock: Clock,
) -> bool:
    """Apply a provider delivery-status callback; True when the status moved.

    The message is found by ``message_id`` (our id, which the callback URL
    carries), else by the provider sid (callback URLs given before ids were
    carried). A callback may arrive before the send's own answer stored the
    sid: it is applied all the same and records the sid, and the send's late
    answer then moves nothing back.

    Forward only: callbacks arrive out of order and a late ``sent`` never
    overwrites ``delivered``. Unknown messages and untracked statuses are
    ignored. Error 21610 (the recipient unsubscribed at the carrier) records
    an opt-out with source ``provider``. Idempotent.
    """
    new = MessageStatus.from_provider(status)
    now = clock.now()
    with uow:
        message = uow.messages.get(message_id) if message_id else None
        if message is None:
            message = uow.messages.by_provider_sid(provider_sid)
        if message is None:
            log.info(
                "status callback for an unknown message id=%s sid=%s", message_id, provider_sid
            )
            return False
        if message.provider_sid not in (None, provider_sid):
            log.warning(
                "status callback sid differs from the stored one message=%s stored=%s got=%s",
                message.id,
                message.provider_sid,
                provider_sid,
            )
        if error_code == OPTED_OUT_ERROR:
            # The consent row before the message row: the one lock order (see ports.storage).
            store_opt_out(uow, message.business_id, message.to, source="provider", clock=clock)
        moved = None
        if new is not None:
            moved = uow.messages.transition(
                message.id,
                allowed_from=new.earlier(),
                to=new,
                now=now,
                error_code=error_code,
                provider_sid=provider_sid if message.provider_sid is None else None,
            )
        uow.commit()
    return moved is not None


__all__ = [
    "DispatchReport",
    "SendResult",
    "dispatch_due",
    "handle_status_callback",
    "send_review_request",
]
