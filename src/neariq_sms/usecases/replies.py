"""Replies: a business answers a customer in the thread."""

from __future__ import annotations

from neariq_sms.domain.messages import MessageKind
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import DEFAULT_POLICY, Policy
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.ports.telephony import TelephonyProvider
from neariq_sms.usecases.outbound import Outgoing, SendResult, send_outbound


def send_reply(
    business_id: str,
    to: PhoneNumber,
    body: str,
    *,
    uow: UnitOfWork,
    telephony: TelephonyProvider,
    clock: Clock,
    policy: Policy = DEFAULT_POLICY,
    idempotency_key: str | None = None,
) -> SendResult:
    """Answer a customer in the thread: ``body`` as given (parse it with
    :func:`~neariq_sms.domain.conversations.parse_reply_body`).

    Allowed with a consent record, or inside the 24 hours after the customer's
    last message to the business; never after an opt-out. No cooldown; quiet
    hours defer it only outside the customer's 24-hour window.

    Raises:
        BusinessNotFound, SmsNotConfigured, PlanRequired, NoSmsNumber,
        RecipientOptedOut, ConsentRequired, AllowanceExhausted, ProviderError.
    """
    outgoing = Outgoing(MessageKind.REPLY, to, lambda _business: body, idempotency_key)
    return send_outbound(
        business_id, outgoing, uow=uow, telephony=telephony, clock=clock, policy=policy
    )


__all__ = ["send_reply"]
