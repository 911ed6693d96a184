"""Review requests, the dispatcher of scheduled messages, status callbacks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import attrs

from neariq_sms.domain.business import Business
from neariq_sms.domain.errors import InvalidField, SmsError, SmsNotConfigured
from neariq_sms.domain.messages import MessageKind, MessageStatus, OutboundMessage, StatusReport
from neariq_sms.domain.parsing import (
    parse_customer_name,
    parse_idempotency_key,
    parse_phone,
    parse_present,
)
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import DEFAULT_POLICY, Policy
from neariq_sms.domain.registration import BLOCKED_SEND_CODES
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
    cancel_scheduled,
    registration_of,
    send_outbound,
    submit,
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
    """Send the scheduled messages whose time has come (for cron or a job runner).

    Each message is claimed by one conditional update, so several dispatchers
    may run at once without sending anything twice. The send rules are checked
    again (:func:`~neariq_sms.domain.sendable.check_sendable`): a message whose
    recipient opted out meanwhile, or whose business lost its plan or number,
    is canceled and its units given back. Safe to call at any time, repeatedly.

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
            try:
                service = _recheck(uow, message, policy=policy, now=now)
            except SmsError as exc:
                canceled += cancel_scheduled(uow, message, now=now)
                uow.commit()
                log.info("scheduled message canceled message=%s: %s", message.id, exc.code)
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
            submit(
                claimed, uow=uow, telephony=telephony, clock=clock, messaging_service_sid=service
            )
            submitted += 1
        except SmsError as exc:
            failed += 1
            log.warning("scheduled message not sent message=%s: %s", message.id, exc.code)
    return DispatchReport(submitted=submitted, failed=failed, canceled=canceled)


def _recheck(
    uow: UnitOfWork, message: OutboundMessage, *, policy: Policy, now: datetime
) -> str | None:
    """Inside an open unit of work: the send rules again for a scheduled message at
    its send time (the consent row locked); raises the first one it now breaks.
    Returns the Messaging Service it goes through (registration required)."""
    business = uow.businesses.get(message.business_id)
    consent = uow.consents.get(message.business_id, message.to, for_update=True)
    number = uow.numbers.holding(message.business_id)
    replying = message.kind is MessageKind.REPLY
    in_window = replying and texted_in(uow, message.business_id, message.to, now)
    registration = registration_of(uow, message.business_id, policy)
    check_sendable(
        business, number, consent, kind=message.kind, policy=policy, now=now,
        in_reply_window=in_window, registration=registration,
    )  # fmt: skip
    if not still_due(message, now):
        raise InvalidField("appointmentAt", "has begun: the reminder is too late")
    return registration.messaging_service_sid if registration else None


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
