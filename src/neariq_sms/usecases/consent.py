"""Consent records: write, opt out, opt in, read.

The use cases take typed values. A phone may be given as text (parsed with
the policy's region) and a source as text (normalised to its slug); raw
request values are the adapters' to parse, in their own order of errors.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from neariq_sms.domain.consent import ConsentChange, ConsentEvent, ConsentRecord
from neariq_sms.domain.parsing import parse_limit, parse_past_timestamp, parse_phone, parse_source
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import DEFAULT_POLICY, Policy
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.usecases._common import active_business, store_opt_in, store_opt_out, write_consent
from neariq_sms.usecases.paging import (
    DEFAULT_PAGE,
    MAX_PAGE,
    Cursor,
    Page,
    encode_cursor,
    parse_cursor,
)


def _phone(phone: PhoneNumber | str, policy: Policy) -> PhoneNumber:
    return parse_phone(phone, field="phone", region=policy.default_region)


def record_consent(
    business_id: str,
    phone: PhoneNumber | str,
    source: str,
    consented_at: datetime | None = None,
    *,
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy = DEFAULT_POLICY,
) -> ConsentRecord:
    """Record that a customer agreed to receive messages.

    ``consented_at`` (aware) defaults to now and may not lie in the future.
    Writing an older consent than the stored one changes nothing
    (idempotent). An opt-out is never lifted here (``RecipientOptedOut``):
    only :func:`opt_in` or the customer's START keyword does that. The
    sources ``keyword``, ``provider`` and ``import`` are the library's own
    and refused.

    Raises:
        MissingField, InvalidField, InvalidPhone (for the values given),
        BusinessNotFound, RecipientOptedOut.
    """
    slug = parse_source(source)
    given = parse_past_timestamp(consented_at, now=clock.now())
    number = _phone(phone, policy)
    with uow:
        business = active_business(uow, business_id)
        now = clock.now()

        def renew(stored: ConsentRecord) -> ConsentChange | None:
            now = clock.now()  # once the row is locked
            return stored.renewed(source=slug, at=given or now, now=now)

        first = ConsentRecord.first_consent(
            business.id, number, source=slug, at=given or now, now=now
        )
        record = write_consent(uow, first, renew)
        uow.commit()
    return record


def opt_out(
    business_id: str,
    phone: PhoneNumber | str,
    source: str = "api",
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

    Raises:
        MissingField, InvalidField, InvalidPhone (for the values given), BusinessNotFound.
    """
    slug = parse_source(source)
    number = _phone(phone, policy)
    with uow:
        business = active_business(uow, business_id)
        record = store_opt_out(uow, business.id, number, source=slug, clock=clock)
        uow.commit()
    return record


def opt_in(
    business_id: str,
    phone: PhoneNumber | str,
    source: str,
    consented_at: datetime | None = None,
    *,
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy = DEFAULT_POLICY,
) -> ConsentRecord:
    """An explicit re-subscribe by the business, with consent given at ``consented_at``.

    Who may lift which opt-out (:meth:`ConsentRecord.opted_in`): an opt-out by
    the customer's text or by the carrier only the customer's START lifts
    (``OptOutLocked``); an opt-out the business recorded is lifted only with
    a ``consented_at`` given and newer than it (``MissingField`` /
    ``InvalidField`` otherwise). Without an opt-out, consent is renewed
    (``consented_at`` defaults to now, never in the future).

    Raises:
        MissingField, InvalidField, InvalidPhone (for the values given),
        BusinessNotFound, OptOutLocked.
    """
    slug = parse_source(source)
    given = parse_past_timestamp(consented_at, now=clock.now())
    number = _phone(phone, policy)
    with uow:
        business = active_business(uow, business_id)
        record = store_opt_in(
            uow, business.id, number, source=slug, clock=clock, consented_at=given
        )
        uow.commit()
    return record


def get_consent(
    business_id: str,
    phone: PhoneNumber | str,
    *,
    uow: UnitOfWork,
    policy: Policy = DEFAULT_POLICY,
) -> ConsentRecord | None:
    """The record for one phone, or ``None``.

    Raises:
        MissingField, InvalidField, InvalidPhone (for the phone given), BusinessNotFound.
    """
    number = _phone(phone, policy)
    with uow.reading():
        business = active_business(uow, business_id)
        return uow.consents.get(business.id, number)


def consent_history(
    business_id: str,
    phone: PhoneNumber | str,
    *,
    uow: UnitOfWork,
    policy: Policy = DEFAULT_POLICY,
) -> Sequence[ConsentEvent]:
    """The audit trail of one phone, oldest first.

    Raises:
        MissingField, InvalidField, InvalidPhone (for the phone given), BusinessNotFound.
    """
    number = _phone(phone, policy)
    with uow.reading():
        business = active_business(uow, business_id)
        return list(uow.consents.events(business.id, number))


def list_consents(
    business_id: str,
    cursor: Cursor | str | None = None,
    limit: int = DEFAULT_PAGE,
    *,
    uow: UnitOfWork,
) -> Page[ConsentRecord]:
    """Records of the business, most recently changed first, a page at a time.

    ``cursor`` is a previous page's ``next_cursor`` (as returned, or parsed
    with :func:`~neariq_sms.usecases.paging.parse_cursor`); ``limit`` is 1 to
    :data:`~neariq_sms.usecases.paging.MAX_PAGE`.

    Raises:
        InvalidField (for the cursor or limit given), BusinessNotFound.
    """
    after = parse_cursor(cursor) if isinstance(cursor, str) else cursor
    count = parse_limit(limit, default=DEFAULT_PAGE, maximum=MAX_PAGE)
    with uow.reading():
        business = active_business(uow, business_id)
        rows = list(uow.consents.page(business.id, after=after, limit=count + 1))
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

    Raises:
        BusinessNotFound: when the first record is asked for.
    """
    after: str | None = None
    while True:
        with uow.reading():
            if after is None:
                active_business(uow, business_id)
            chunk = list(uow.consents.in_phone_order(business_id, after=after, limit=EXPORT_CHUNK))
        yield from chunk
        if len(chunk) < EXPORT_CHUNK:
            return
        after = chunk[-1].phone.e164


__all__ = [
    "consent_history",
    "export_consents",
    "get_consent",
    "list_consents",
    "opt_in",
    "opt_out",
    "record_consent",
]
