"""Checks and helpers shared by the use cases."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from neariq_sms.domain.business import Business
from neariq_sms.domain.consent import ConsentEvent, ConsentEventKind, ConsentRecord
from neariq_sms.domain.errors import (
    BusinessNotFound,
    InvalidField,
    MissingField,
    PlanRequired,
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


def active_business(uow: UnitOfWork, business_id: str) -> Business:
    """Inside an open unit of work: the business, or ``BusinessNotFound``."""
    business = uow.businesses.get(business_id) if isinstance(business_id, str) else None
    if business is None or not business.active:
        raise BusinessNotFound(business_id=str(business_id))
    return business


def load_business(uow: UnitOfWork, business_id: str) -> Business:
    with uow:
        return active_business(uow, business_id)


def require_configured(telephony: TelephonyProvider) -> None:
    if not telephony.configured:
        raise SmsNotConfigured()


def require_sms_plan(business: Business) -> None:
    if not business.plan.includes_sms:
        raise PlanRequired(plan=business.plan.value)


def require_present(raw: object, field: str) -> None:
    """``MissingField`` when the value is absent or blank."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise MissingField(field)


def require_text(raw: object, field: str) -> str:
    require_present(raw, field)
    if not isinstance(raw, str):
        raise InvalidField(field, "must be a string")
    return raw


def parse_phone(raw: object, *, field: str, region: str) -> PhoneNumber:
    return PhoneNumber.parse(require_text(raw, field), region=region, field=field)


def check_aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidField(field, "must carry a time zone")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise InvalidField(field, "is out of range") from None


def encode_cursor(at: datetime, key: str) -> str:
    raw = json.dumps([at.isoformat(), key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None or cursor == "":
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at_text, key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(key, str) or not key.isprintable() or not at_text.isprintable():
            raise ValueError(cursor)
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None:
            raise ValueError(cursor)
        # In UTC, as stored: a date whose offset moves it out of range fails here,
        # not in the database. A cursor this API returned is a stored time.
        at = at.astimezone(UTC)
        if not _STORABLE_FROM <= at <= _STORABLE_UNTIL:
            raise ValueError(cursor)
    except (ValueError, TypeError, AttributeError, OverflowError, binascii.Error, UnicodeError):
        raise InvalidField("cursor", "not a cursor this API returned") from None
    return at, key


#: The times a cursor can hold: every engine stores these (PostgreSQL from 4713 BC, SQLite as text).
_STORABLE_FROM = datetime(1, 1, 2, tzinfo=UTC)
_STORABLE_UNTIL = datetime(9999, 12, 30, tzinfo=UTC)


#: A limit is a few digits; int() refuses more than 4,300 (and would work hard before).
_MAX_LIMIT_DIGITS = 9


def check_limit(raw: object, *, default: int, maximum: int, field: str = "limit") -> int:
    if raw is None:
        return default
    if isinstance(raw, str):
        text = raw.strip()
        if text.isascii() and text.isdigit() and len(text) <= _MAX_LIMIT_DIGITS:
            raw = int(text)
    if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= maximum:
        raise InvalidField(field, f"must be a whole number from 1 to {maximum}")
    return raw


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
    first: ConsentRecord,
    change: Callable[[ConsentRecord], ConsentRecord | None],
    kind: ConsentEventKind,
    source: str,
) -> ConsentRecord:
    """Inside an open unit of work: store ``first`` for a phone without a record,
    or lock the stored record and apply ``change`` to it (``None``: nothing to do).

    Never fails on a concurrent write of the same phone: it waits for it and
    changes the record after. An event is appended only when something changed.
    """
    stored = uow.consents.add_or_lock([first]).get(first.phone)
    record = first
    if stored is not None:
        # ``change`` reads the clock once the row is locked: event times follow commit order.
        changed = change(stored)
        if changed is None:
            return stored
        record = changed
        uow.consents.update_many([record])
    uow.consents.append_events(
        [ConsentEvent(first.business_id, first.phone, kind, source, record.updated_at)]
    )
    return record


def store_opt_out(
    uow: UnitOfWork, business_id: str, phone: PhoneNumber, *, source: str, clock: Clock
) -> ConsentRecord:
    """Inside an open unit of work: record an opt-out, creating the record if needed.

    A phone that opts out without ever consenting gets a record all the same,
    so no later import or consent write can message it.
    """
    first = ConsentRecord.first_opt_out(business_id, phone, source=source, now=clock.now())
    record = write_consent(
        uow,
        first,
        lambda stored: stored.opt_out(source=source, now=clock.now()),
        ConsentEventKind.OPTED_OUT,
        source,
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

    Who may lift an opt-out is :meth:`ConsentRecord.opt_in`'s rule (raises
    ``OptOutLocked``, or ``MissingField`` / ``InvalidField`` for ``consentedAt``).
    """
    now = clock.now()
    first = ConsentRecord.first_consent(
        business_id, phone, source=source, at=consented_at or now, now=now
    )
    return write_consent(
        uow,
        first,
        lambda stored: stored.opt_in(source=source, now=clock.now(), consented_at=consented_at),
        ConsentEventKind.OPTED_IN,
        source,
    )


__all__ = [
    "active_business",
    "check_aware",
    "check_limit",
    "decode_cursor",
    "encode_cursor",
    "end_unsent",
    "load_business",
    "log",
    "mask",
    "parse_phone",
    "require_configured",
    "require_present",
    "require_sms_plan",
    "require_text",
    "store_opt_in",
    "store_opt_out",
    "write_consent",
]
