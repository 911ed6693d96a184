"""Consent records: write, opt out, opt in, bulk import, read."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import TypeVar

from neariq_sms.domain.consent import ConsentChange, ConsentEvent, ConsentRecord
from neariq_sms.domain.errors import SmsError
from neariq_sms.domain.parsing import (
    parse_limit,
    parse_past_timestamp,
    parse_phone,
    parse_present,
    parse_source,
)
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import DEFAULT_POLICY, Policy
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.usecases._common import (
    active_business,
    load_business,
    store_opt_in,
    store_opt_out,
    write_consent,
)
from neariq_sms.usecases.paging import DEFAULT_PAGE, MAX_PAGE, Page, encode_cursor, parse_cursor

T = TypeVar("T")


def record_consent(
    business_id: str,
    phone: object,
    source: object,
    consented_at: object = None,
    *,
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy = DEFAULT_POLICY,
) -> ConsentRecord:
    """Record that a customer agreed to receive messages.

    ``consented_at`` defaults to now and may not lie in the future. Writing
    an older consent than the stored one changes nothing (idempotent). An
    opt-out is never lifted here (``RecipientOptedOut``): only :func:`opt_in`
    or the customer's START keyword does that. The sources ``keyword``,
    ``provider`` and ``import`` are the library's own and refused.

    Raises:
        BusinessNotFound, MissingField, InvalidPhone, InvalidField, RecipientOptedOut.
    """
    now = clock.now()
    business = load_business(uow, business_id)
    # The spec's order of shape errors: missing_field, then invalid_field, then invalid_phone.
    parse_present(phone, "phone")
    slug = parse_source(source)
    given = parse_past_timestamp(consented_at, now=now)
    number = parse_phone(phone, field="phone", region=policy.default_region)
    return _tx(uow, lambda: _store_consent(uow, business.id, number, slug, clock=clock, at=given))


def _store_consent(
    uow: UnitOfWork,
    business_id: str,
    number: PhoneNumber,
    source: str,
    *,
    clock: Clock,
    at: datetime | None,
) -> ConsentRecord:
    """Inside an open unit of work: the consent write of :func:`record_consent`."""
    now = clock.now()
    first = ConsentRecord.first_consent(business_id, number, source=source, at=at or now, now=now)

    def renew(stored: ConsentRecord) -> ConsentChange | None:
        now = clock.now()  # once the row is locked
        return stored.renewed(source=source, at=at or now, now=now)

    return write_consent(uow, first, renew)


def opt_out(
    business_id: str,
    phone: object,
    source: object = "api",
    *,
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy = DEFAULT_POLICY,
) -> ConsentRecord:
    """Record an opt-out the business made; it takes effect for every later send at once.

    Idempotent: opting out twice keeps the first opt-out. A phone without a
    record gets one, opted out, so no later consent write can message it.
    The business may lift it later through :func:`opt_in` with a newer
    ``consented_at``.
    """
    business = load_business(uow, business_id)
    # The spec's order of shape errors: missing_field, invalid_field, invalid_phone.
    parse_present(phone, "phone")
    slug = "api" if source is None or source == "" else parse_source(source)
    number = parse_phone(phone, field="phone", region=policy.default_region)
    return _tx(uow, lambda: store_opt_out(uow, business.id, number, source=slug, clock=clock))


def opt_in(
    business_id: str,
    phone: object,
    source: object,
    consented_at: object = None,
    *,
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy = DEFAULT_POLICY,
) -> ConsentRecord:
    """An explicit re-subscribe by the business, with consent given at ``consented_at``.

    Who may lift which opt-out (:meth:`ConsentRecord.opt_in`): an opt-out by
    the customer's text or by the carrier only the customer's START lifts
    (``OptOutLocked``); an opt-out the business recorded is lifted only with
    a ``consented_at`` given and newer than it (``MissingField`` /
    ``InvalidField`` otherwise). Without an opt-out, consent is renewed
    (``consented_at`` defaults to now, never in the future).

    Raises:
        BusinessNotFound, MissingField, InvalidPhone, InvalidField, OptOutLocked.
    """
    now = clock.now()
    business = load_business(uow, business_id)
    parse_present(phone, "phone")
    slug = parse_source(source)
    given = parse_past_timestamp(consented_at, now=now)
    number = parse_phone(phone, field="phone", region=policy.default_region)
    return _tx(
        uow,
        lambda: store_opt_in(
            uow, business.id, number, source=slug, clock=clock, consented_at=given
        ),
    )


def _tx(uow: UnitOfWork, work: Callable[[], T]) -> T:
    with uow:
        result = work()
        uow.commit()
        return result


def get_consent(
    business_id: str, phone: object, *, uow: UnitOfWork, policy: Policy = DEFAULT_POLICY
) -> ConsentRecord | None:
    """The record for one phone, or ``None``."""
    business = load_business(uow, business_id)
    number = parse_phone(phone, field="phone", region=policy.default_region)
    with uow:
        return uow.consents.get(business.id, number)


def consent_history(
    business_id: str, phone: object, *, uow: UnitOfWork, policy: Policy = DEFAULT_POLICY
) -> Sequence[ConsentEvent]:
    """The audit trail of one phone, oldest first."""
    business = load_business(uow, business_id)
    number = parse_phone(phone, field="phone", region=policy.default_region)
    with uow:
        return list(uow.consents.events(business.id, number))


def list_consents(
    business_id: str, cursor: str | None = None, limit: object = None, *, uow: UnitOfWork
) -> Page[ConsentRecord]:
    """Records of the business, most recently changed first, a page at a time."""
    try:
        after = parse_cursor(cursor)
        count = parse_limit(limit, default=DEFAULT_PAGE, maximum=MAX_PAGE)
    except SmsError:
        load_business(uow, business_id)  # an unknown business answers before a shape error
        raise
    with uow:
        active_business(uow, business_id)
        rows = list(uow.consents.page(business_id, after=after, limit=count + 1))
    more = len(rows) > count
    rows = rows[:count]
    next_cursor = encode_cursor(rows[-1].updated_at, rows[-1].phone.e164) if more else None
    return Page(rows, next_cursor)


EXPORT_CHUNK = 1000


def export_consents(business_id: str, *, uow: UnitOfWork) -> Iterator[ConsentRecord]:
    """Every record of the business, streamed in phone order.

    Read in short transactions of ``EXPORT_CHUNK`` records, so a long export
    never holds storage (SQLite's write lock) while its reader works. A record
    changed meanwhile is exported as it is when its chunk is read.
    """
    load_business(uow, business_id)
    after: str | None = None
    while True:
        with uow:
            chunk = list(uow.consents.in_phone_order(business_id, after=after, limit=EXPORT_CHUNK))
        yield from chunk
        if len(chunk) < EXPORT_CHUNK:
            return
        after = chunk[-1].phone.e164


__all__ = [
    "Page",
    "consent_history",
    "export_consents",
    "get_consent",
    "list_consents",
    "opt_in",
    "opt_out",
    "record_consent",
]
