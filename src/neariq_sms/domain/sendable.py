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
    NoSmsNumber,
    RecipientOptedOut,
    SmsNotConfigured,
)
from neariq_sms.domain.messages import MessageKind
from neariq_sms.domain.plans import Policy

#: The kinds a per-recipient cooldown applies to (``spec/messaging.md`` §1).
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

    Raises:
        BusinessNotFound, SmsNotConfigured, PlanRequired, NoSmsNumber,
        RecipientOptedOut, ConsentRequired, Cooldown.
    """
    if business is None or not business.active:
        raise BusinessNotFound(business_id=business.id if business else "")
    if not configured:
        raise SmsNotConfigured()
    business.plan.require_sms()
    if number is None or not number.active:
        raise NoSmsNumber()
    if consent is not None and consent.opted_out:
        raise RecipientOptedOut()
    if consent is None or not consent.allows_sending:
        raise ConsentRequired()
    if has_cooldown(kind):
        allowed_from = policy.review_allowed_from(last_counted, now)
        if allowed_from is not None:
            raise Cooldown(until=allowed_from)
    return number


def deferred_until(
    kind: MessageKind, *, policy: Policy, now: datetime, zones: Sequence[str]
) -> datetime | None:
    """When a message of ``kind`` asked for at ``now`` may go out, if not now
    (quiet hours in every zone of the recipient); ``None``: send it now."""
    if policy.quiet_hours is None:
        return None
    return policy.quiet_hours.next_allowed(now, zones)


__all__ = ["COOLDOWN_KINDS", "check_sendable", "deferred_until", "has_cooldown"]
