"""Review requests, the dispatcher of scheduled messages, status callbacks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import attrs

from neariq_sms.domain.business import Business, SmsNumber
from neariq_sms.domain.consent import ConsentRecord
from neariq_sms.domain.errors import InvalidField, SmsError, SmsNotConfigured
from neariq_sms.domain.messages import (
    MessageKind,
    MessageStatus,
    OutboundMessage,
    SentMessage,
    StatusReport,
)
from neariq_sms.domain.parsing import (
    parse_customer_name,
    parse_idempotency_key,
    parse_phone,
    parse_present,
)
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import DEFAULT_POLICY, Policy
from neariq_sms.domain.registration import BLOCKED_SEND_CODES, SenderRegistration
from neariq_sms.domain.review import render_review_request
from neariq_sms.domain.segments import MAX_BODY_CHARS
from neariq_sms.domain.sendable import check_sendable, still_due
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.ports.telephony import TelephonyProvider
from neariq_sms.usecases._common import log, store_opt_out
from neariq_sms.usecases.outbound import (
    Outgoing,
    SendResult,
    call_provider,
    cancel_scheduled,
    record_sent,
    registration_of,
    send_outbound,
    texted_in,
)


@attrs.frozen
class DispatchReport:
    submitted: int = 0
    failed: int = 0
    canceled: int = 0


def _review_body(customer_name: str) -> Callable[[Business], str]:
    def render(business: Business) -> str:
        body = render_review_request(
            template=business.review_template,
            customer_name=customer_name,
            business_name=business.name,
            review_link=business.review_url,
        )
        if len(body) > MAX_BODY_CHARS:
            raise InvalidField("review_template", f"renders past {MAX_BODY_CHARS} characters")
        return body

    return render


def send_review_request(
    business_id: str,
    to: PhoneNumber | str,
    customer_name: str,
    *,
    uow: UnitOfWork,
    telephony: TelephonyProvider,
    clock: Clock,
    policy: Policy = DEFAULT_POLICY,
    idempotency_key: str | None = None,
) -> SendResult:
    """Ask a consenting customer for a review.

    ``to`` may be text, parsed in the policy's region. Checks, in the spec's
    order: the input, the business, the provider's configuration, the plan,
    the business's number, opt-out and consent, the cooldown, the allowance.
    In quiet hours the message is stored as ``scheduled`` (its allowance
    reserved) for :func:`dispatch_due`. The send is
    :func:`~neariq_sms.usecases.outbound.send_outbound`'s three steps.

    Idempotent per ``idempotency_key``: a repeat for the same business returns
    the first result and makes no provider call.

    Raises:
        MissingField, InvalidField, InvalidPhone, BusinessNotFound,
        SmsNotConfigured, PlanRequired, NoSmsNumber, RecipientOptedOut,
        ConsentRequired, Cooldown, AllowanceExhausted, ProviderError.
    """
    parse_present(to, "to")  # the spec's order: every missing field, then invalid ones
    name = parse_customer_name(customer_name)
    key = parse_idempotency_key(idempotency_key)
    recipient = parse_phone(to, field="to", region=policy.default_region)
    outgoing = Outgoing(MessageKind.REVIEW_REQUEST, recipient, _review_body(name), key)
    return send_outbound(
        business_id, outgoing, uow=uow, telephony=telephony, clock=clock, policy=policy
    )


def dispatch_due(
    *,
    uow: UnitOfWork,
    telephony: TelephonyProvider,
    clock: Clock,
    policy: Policy = DEFAULT_POLICY,
    limit: int = 100,
) -> DispatchReport:
    """Send up to ``limit`` scheduled messages whose time has come (for cron or a
    job runner); a report with fewer than ``limit`` in all means none is left due.

    One transaction claims the batch (each message ``submitting``: several
    dispatchers at once claim disjoint batches without waiting for one another)
    and checks the send rules again for each
    (:func:`~neariq_sms.domain.sendable.check_sendable`): a message whose
    recipient opted out meanwhile, whose business lost its plan or number, or a
    reminder whose appointment began, is canceled and its units given back.
    Then each is sent, and recorded, as every send is. Safe to call at any
    time, repeatedly, from several processes.

    Raises:
        SmsNotConfigured: when there is no provider.
    """
    if not telephony.configured:
        raise SmsNotConfigured()
    now = clock.now()
    with uow:
        claimed = uow.messages.claim_due(now, limit)
        ready = _still_sendable(uow, claimed, policy=policy, now=now)
        uow.commit()
    sent: list[tuple[OutboundMessage, SentMessage]] = []
    failed = 0
    for position, (message, service) in enumerate(ready):
        try:
            answer = call_provider(
                message, uow=uow, telephony=telephony, clock=clock, messaging_service_sid=service
            )
            sent.append((message, answer))
        except SmsError as exc:
            failed += 1
            log.warning("scheduled message not sent message=%s: %s", message.id, exc.code)
        except BaseException:
            # Stopped (a signal, storage gone): what was sent is recorded, and the
            # ones not tried yet are due again (best effort: else reconciliation).
            _settle(uow, sent, [m for m, _ in ready[position + 1 :]], clock=clock)
            raise
    record_sent(sent, uow=uow, clock=clock)
    return DispatchReport(submitted=len(sent), failed=failed, canceled=len(claimed) - len(ready))


#: What the re-check reads once per business of a batch: the business, its number,
#: its sender registration (when required), its recipients' consents.
_Sender = tuple[Business | None, SmsNumber | None, SenderRegistration | None]


def _still_sendable(
    uow: UnitOfWork, claimed: Sequence[OutboundMessage], *, policy: Policy, now: datetime
) -> list[tuple[OutboundMessage, str | None]]:
    """Inside the claim's transaction: the claimed messages that may still go out,
    each with the Messaging Service it goes through (registration required); the
    others are canceled and refunded. Each business, its number, registration and
    recipients' consents are read once for the batch.

    Plain reads: the claim holds the message rows (ports.storage's lock order
    puts consent rows before them), so a transaction that cancels them waits
    for this one, and an opt-out committed before is read here."""
    senders: dict[str, _Sender] = {}
    consents: dict[str, Mapping[PhoneNumber, ConsentRecord]] = {}
    for b in dict.fromkeys(m.business_id for m in claimed):
        business, number = uow.businesses.with_number(b) or (None, None)
        senders[b] = (business, number, registration_of(uow, b, policy))
        consents[b] = uow.consents.get_many(b, {m.to for m in claimed if m.business_id == b})
    ready = []
    for message in claimed:
        consent = consents[message.business_id].get(message.to)
        try:
            service = _recheck(
                uow, message, senders[message.business_id], consent, policy=policy, now=now
            )
        except SmsError as exc:
            cancel_scheduled(uow, message, now=now)
            log.info("scheduled message canceled message=%s: %s", message.id, exc.code)
            continue
        ready.append((message, service))
    return ready


def _recheck(
    uow: UnitOfWork,
    message: OutboundMessage,
    sender: _Sender,
    consent: ConsentRecord | None,
    *,
    policy: Policy,
    now: datetime,
) -> str | None:
    """The send rules again for a scheduled message at its send time; raises the
    first one it now breaks. Returns the Messaging Service it goes through."""
    business, number, registration = sender
    replying = message.kind is MessageKind.REPLY
    in_window = replying and texted_in(uow, message.business_id, message.to, now)
    check_sendable(
        business, number, consent, kind=message.kind, policy=policy, now=now,
        in_reply_window=in_window, registration=registration,
    )  # fmt: skip
    if not still_due(message, now):
        raise InvalidField("appointmentAt", "has begun: the reminder is too late")
    return registration.messaging_service_sid if registration else None


def _settle(
    uow: UnitOfWork,
    sent: Sequence[tuple[OutboundMessage, SentMessage]],
    untried: Sequence[OutboundMessage],
    *,
    clock: Clock,
) -> None:
    """A dispatch stopped midway: record what the provider accepted, and give the
    claimed messages never handed to it back to the dispatchers. Best effort: if
    storage is gone too, reconciliation settles them (they stay ``submitting``)."""
    try:
        record_sent(sent, uow=uow, clock=clock)
        if not untried:
            return
        now = clock.now()
        with uow:
            for message in untried:
                uow.messages.transition(
                    message.id,
                    allowed_from={MessageStatus.SUBMITTING},
                    to=MessageStatus.SCHEDULED,
                    now=now,
                )
            uow.commit()
    except Exception as exc:  # the error that stopped the dispatch is the one to raise
        log.warning("dispatch stopped, %d claimed messages left submitting: %s", len(untried), exc)


def handle_status_callback(report: StatusReport, *, uow: UnitOfWork, clock: Clock) -> bool:
    """Apply a provider's delivery-status report; True when the status moved.

    The message is found by ``report.message_id`` (our id, which the callback
    URL carries), else by the provider sid (callback URLs given before ids
    were carried). A report may arrive before the send's own answer stored the
    sid: it is applied all the same and records the sid, and the send's late
    answer then moves nothing back.

    Forward only: callbacks arrive out of order and a late ``sent`` never
    overwrites ``delivered``. Unknown messages and untracked statuses are
    ignored. A report that the recipient opted out at the carrier records an
    opt-out with source ``provider``. Idempotent.
    """
    now = clock.now()
    sid = report.provider_sid
    with uow:
        message = uow.messages.get(report.message_id) if report.message_id else None
        if message is None:
            message = uow.messages.by_provider_sid(sid)
        if message is None:
            log.info("status callback for an unknown message id=%s sid=%s", report.message_id, sid)
            return False
        if message.provider_sid not in (None, sid):
            log.warning(
                "status callback sid differs from the stored one message=%s stored=%s got=%s",
                message.id,
                message.provider_sid,
                sid,
            )
        if report.recipient_opted_out:
            # The consent row before the message row: the one lock order (see ports.storage).
            store_opt_out(uow, message.business_id, message.to, source="provider", clock=clock)
        moved = None
        if report.status is not None:
            moved = uow.messages.transition(
                message.id,
                allowed_from=report.status.earlier(),
                to=report.status,
                now=now,
                error_code=report.error_code,
                provider_sid=sid if message.provider_sid is None else None,
            )
        if moved is not None and report.error_code in BLOCKED_SEND_CODES:
            _count_blocked(uow, message.business_id, report.error_code, now)
        uow.commit()
    return moved is not None


def _count_blocked(uow: UnitOfWork, business_id: str, code: int, now: datetime) -> None:
    """Inside an open unit of work: a send the carriers blocked counts on the
    business's registration (once per message: only a callback that moved it)."""
    registration = uow.registrations.current(business_id, for_update=True)
    if registration is not None:
        uow.registrations.update(registration.count_blocked_send(code, now))
        log.warning("send blocked by the carriers business=%s code=%s", business_id, code)


__all__ = [
    "DispatchReport",
    "SendResult",
    "dispatch_due",
    "handle_status_callback",
    "send_review_request",
]
