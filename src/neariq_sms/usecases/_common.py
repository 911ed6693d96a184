"""Checks and helpers shared by the use cases."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from neariq_sms.domain.business import Business, SmsNumber
from neariq_sms.domain.consent import ConsentChange, ConsentRecord
from neariq_sms.domain.errors import (
    BusinessNotFound,
    SmsNotConfigured,
)
from neariq_sms.domain.messages import MessageStatus, OutboundMessage
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.ports.telephony import TelephonyProvider

log = logging.getLogger("neariq_sms")


def mask(phone: PhoneNumber | str) -> str:
    """A phone number fit for logs: country code and last two digits."""
    text = str(phone)
    return text[:2] + "*" * max(len(text) - 4, 0) + text[-2:]


def any_business(uow: UnitOfWork, business_id: str) -> Business:
    """Inside an open unit of work: the business, active or not, or ``BusinessNotFound``."""
    business = uow.businesses.get(business_id) if isinstance(business_id, str) else None
    if business is None:
        raise BusinessNotFound(business_id=str(business_id))
    return business


def business_with_number(uow: UnitOfWork, business_id: str) -> tuple[Business, SmsNumber | None]:
    """Inside an open unit of work: the business, active or not, with the number it
    holds (one read), or ``BusinessNotFound``."""
    found = uow.businesses.with_number(business_id) if isinstance(business_id, str) else None
    if found is None:
        raise BusinessNotFound(business_id=str(business_id))
    return found


def active_business(uow: UnitOfWork, business_id: str, loaded: Business | None = None) -> Business:
    """Inside an open unit of work: the active business, or ``BusinessNotFound``
    (``loaded``: the business already read in this unit of work)."""
    business = loaded if loaded is not None else any_business(uow, business_id)
    if not business.active:
        raise BusinessNotFound(business_id=str(business_id))
    return business


def load_business(uow: UnitOfWork, business_id: str) -> Business:
    with uow.reading():
        return active_business(uow, business_id)


def require_configured(telephony: TelephonyProvider) -> None:
    if not telephony.configured:
        raise SmsNotConfigured()


def require_sms_plan(business: Business) -> None:
    business.plan.require_sms()


def end_unsent(
    uow: UnitOfWork,
    message: OutboundMessage,
    *,
    to: MessageStatus,
    now: datetime,
    error_code: int | None = None,
) -> OutboundMessage | None:
    """Inside an open unit of work: a message the provider never sent (still
    ``scheduled`` or ``submitting``) ends as ``to`` and gives its units back.

    ``None`` when it had already moved on (another worker resolved it).
    """
    ended = uow.messages.transition(
        message.id,
        allowed_from={message.status},
        to=to,
        now=now,
        error_code=error_code,
        units=0,
    )
    if ended is not None and message.units:
        uow.allowances.give_back(message.business_id, message.period, message.units)
    return ended


def write_consent(
    uow: UnitOfWork,
    first: ConsentChange,
    change: Callable[[ConsentRecord], ConsentChange | None],
) -> ConsentRecord:
    """Inside an open unit of work: store the ``first`` record of a phone without
    one, or lock the stored record and store what ``change`` makes of it
    (``None``: nothing to do), each with its event.

    Never fails on a concurrent write of the same phone: it waits for it and
    changes the record after.
    """
    record, event = first
    stored = uow.consents.add_or_lock([record]).get(record.phone)
    if stored is not None:
        # ``change`` reads the clock once the row is locked: event times follow commit order.
        changed = change(stored)
        if changed is None:
            return stored
        record, event = changed
        uow.consents.update_many([record])
    uow.consents.append_events([event])
    return record


def store_opt_out(
    uow: UnitOfWork, business_id: str, phone: PhoneNumber, *, source: str, clock: Clock
) -> ConsentRecord:
    """Inside an open unit of work: record an opt-out, creating the record if needed.

    A phone that opts out without ever consenting gets a record all the same,
    so no later import or consent write can message it.
    """
    record = write_consent(
        uow,
        ConsentRecord.first_opt_out(business_id, phone, source=source, now=clock.now()),
        lambda stored: stored.withdrawn(source=source, now=clock.now()),
    )
    log.info("opt-out recorded business=%s phone=%s source=%s", business_id, mask(phone), source)
    return record


def store_opt_in(
    uow: UnitOfWork,
    business_id: str,
    phone: PhoneNumber,
    *,
    source: str,
    clock: Clock,
    consented_at: datetime | None = None,
) -> ConsentRecord:
    """Inside an open unit of work: an explicit (re-)subscribe, creating the record if needed.

    Who may lift an opt-out is :meth:`ConsentRecord.opted_in`'s rule (raises
    ``OptOutLocked``, or ``MissingField`` / ``InvalidField`` for ``consentedAt``).
    """
    now = clock.now()
    return write_consent(
        uow,
        ConsentRecord.first_opt_in(
            business_id, phone, source=source, at=consented_at or now, now=now
        ),
        lambda stored: stored.opted_in(source=source, now=clock.now(), consented_at=consented_at),
    )


__all__ = [
    "active_business",
    "end_unsent",
    "load_business",
    "log",
    "mask",
    "require_configured",
    "require_sms_plan",
    "store_opt_in",
    "store_opt_out",
    "write_consent",
]
