"""Consent records: write, opt out, opt in, bulk import, read."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, time
from itertools import islice
from typing import Generic, TypeVar

import attrs

from neariq_sms.domain.consent import (
    IMPORT,
    ConsentEvent,
    ConsentEventKind,
    ConsentRecord,
    validate_source,
)
from neariq_sms.domain.errors import (
    InvalidField,
    SmsError,
)
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import DEFAULT_POLICY, Policy
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.usecases._common import (
    active_business,
    check_aware,
    check_limit,
    decode_cursor,
    encode_cursor,
    load_business,
    parse_phone,
    require_present,
    store_opt_in,
    store_opt_out,
    write_consent,
)

DEFAULT_PAGE = 50
T = TypeVar("T")
MAX_PAGE = 200


@attrs.frozen
class Page(Generic[T]):
    """One page of a listing; ``next_cursor`` is ``None`` on the last page."""

    items: Sequence[T]
    next_cursor: str | None


def parse_timestamp(raw: object, *, field: str = "consentedAt") -> datetime | None:
    """ISO-8601 text or an aware datetime; a date alone means midnight UTC,
    a time without zone means UTC (what spreadsheets export). ``None`` stays."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        return check_aware(raw, field)
    if not isinstance(raw, str):
        raise InvalidField(field, "must be an ISO-8601 timestamp")
    text = raw.strip(" ")
    if not text.isprintable():
        # fromisoformat takes any character as the date-time separator and
        # ignores some inside: a control or format character is no timestamp.
        raise InvalidField(field, "must be an ISO-8601 timestamp without control characters")
    try:
        value = datetime.fromisoformat(text)
        if len(text) == 10:
            value = datetime.combine(value.date(), time(0), tzinfo=UTC)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 with a positive offset
        raise InvalidField(field, "must be an ISO-8601 timestamp") from None


def _not_future(value: datetime | None, now: datetime, field: str) -> datetime:
    if value is None:
        return now
    if value > now:
        raise InvalidField(field, "must not be in the future")
    return value


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
    require_present(phone, "phone")
    slug = validate_source(source)
    given = _given_time(consented_at, now)
    number = parse_phone(phone, field="phone", region=policy.default_region)
    return _tx(uow, lambda: _store_consent(uow, business.id, number, slug, clock=clock, at=given))


def _given_time(raw: object, now: datetime, field: str = "consentedAt") -> datetime | None:
    value = parse_timestamp(raw, field=field)
    if value is not None and value > now:
        raise InvalidField(field, "must not be in the future")
    return value


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

    def renew(stored: ConsentRecord) -> ConsentRecord | None:
        now = clock.now()  # once the row is locked
        return stored.consent(source=source, at=at or now, now=now)

    return write_consent(uow, first, renew, ConsentEventKind.CONSENTED, source)


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
    require_present(phone, "phone")
    slug = "api" if source is None or source == "" else validate_source(source)
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
    require_present(phone, "phone")
    slug = validate_source(source)
    given = _given_time(consented_at, now)
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
        after = decode_cursor(cursor)
        count = check_limit(limit, default=DEFAULT_PAGE, maximum=MAX_PAGE)
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


# --- bulk import ---------------------------------------------------------------

#: The sources only the library itself writes: a file claiming one would forge the
#: audit trail (a customer's text, the carrier's report). ``import`` is the import's
#: own default, so a file may name it.
_NOT_FROM_A_FILE = frozenset({"keyword", "provider"})


def import_source(raw: object, *, field: str = "source") -> str:
    """A consent source as people write it in a file, as a slug.

    Free text is accepted: accents are dropped and every run of other
    characters becomes ``_`` (``Paper form`` -> ``paper_form``, ``Front
    Desk`` -> ``front_desk``, ``point-of-sale`` -> ``point_of_sale``). The
    text must start with a letter (a formula such as ``=HYPERLINK(..)`` is
    no source) and be at most 40 characters as a slug. ``keyword`` and
    ``provider`` are refused, not mapped: only the library records a
    customer's text or a carrier's report, and a silent rewrite would hide
    the file's mistake. ``import`` is the import's own source and accepted.

    Raises:
        MissingField, InvalidField.
    """
    if not isinstance(raw, str) or not raw.strip():
        return validate_source(raw, field=field)  # the missing / wrong-type errors
    slug = _free_text_slug(raw)
    if slug is None:
        raise InvalidField(
            field, "must name how consent was given: start with a letter, at most 40 characters"
        )
    if slug in _NOT_FROM_A_FILE:
        raise InvalidField(
            field,
            f"{slug!r} is recorded by the library itself, never imported; leave the cell"
            " empty to use the import's source",
        )
    if slug == IMPORT:
        return slug
    return validate_source(slug, field=field)


@functools.lru_cache(maxsize=1024)
def _free_text_slug(raw: str) -> str | None:
    # Imports repeat a handful of sources over millions of rows.
    text = unicodedata.normalize("NFKD", raw.strip())
    if not text[:1].isalpha():
        return None
    plain = text.encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")
    return slug if re.fullmatch(r"[a-z][a-z0-9_]{0,39}", slug) else None


_MONTH_NAMES = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_TIME_OF_DAY = (
    r"(?:(?:[ T]+|,\s*)(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<sec>\d{2})(?:\.\d{1,6})?)?"
    r"\s*(?:(?P<half>[ap])\.?m\.?)?)?"
)
#: 01/05/2024, 1/5/24, 01-05-2024, 05.01.2024: day and month in the file's order.
_NUMERIC_DATE = re.compile(
    r"(?P<p>\d{1,2})(?P<sep>[/.-])(?P<q>\d{1,2})(?P=sep)(?P<year>\d{4}|\d{2})" + _TIME_OF_DAY,
    re.IGNORECASE,
)
#: 2024/01/05, 2024.01.05: a leading year is always followed by month, then day.
_YEAR_FIRST = re.compile(
    r"(?P<year>\d{4})(?P<sep>[/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})" + _TIME_OF_DAY,
    re.IGNORECASE,
)
#: 5 Jan 2024, 05-Jan-24 (Excel's d-mmm-yy), Jan 5, 2024, January 5th 2024.
_DAY_MONTH_NAME = re.compile(
    r"(?P<day>\d{1,2})[ -](?P<name>[a-z]{3,9})\.?,?[ -](?P<year>\d{4}|\d{2})" + _TIME_OF_DAY,
    re.IGNORECASE,
)
_MONTH_NAME_DAY = re.compile(
    r"(?P<name>[a-z]{3,9})\.? (?P<day>\d{1,2})(?:st|nd|rd|th)?,? (?P<year>\d{4})" + _TIME_OF_DAY,
    re.IGNORECASE,
)


def parse_import_timestamp(
    raw: object, *, day_first: bool = False, field: str = "consented_at"
) -> datetime | None:
    """A consent date as spreadsheets write it; ``None`` for an empty cell.

    Accepted, besides everything :func:`parse_timestamp` takes (ISO 8601):

    - numeric dates ``01/05/2024``, ``1/5/24``, ``01-05-2024``, ``01.05.2024``:
      **month first** (US) unless ``day_first``; a two-digit year is 20YY;
    - ``2024/01/05`` (year, month, day);
    - a named English month: ``5 Jan 2024``, ``05-Jan-24``, ``Jan 5, 2024``,
      ``January 5th 2024`` (never ambiguous);
    - each optionally followed by a time: ``14:30``, ``14:30:15``, ``2:30 PM``.

    A time without a zone is UTC, as for :func:`parse_timestamp`. Nothing is
    guessed: in month-first order ``13/01/2024`` is rejected (the reason
    names the day-first option), never read as 13 January.

    Raises:
        InvalidField: anything else, with the reason.
    """
    if not isinstance(raw, str):
        return parse_timestamp(raw, field=field)
    text = raw.strip()
    if not text:
        return None
    try:
        return parse_timestamp(text, field=field)
    except InvalidField:
        pass
    value = _spreadsheet_date(text, day_first=day_first, field=field)
    if value is None:
        example = "05/01/2024 (day first)" if day_first else "01/05/2024 (month first)"
        raise InvalidField(
            field,
            f"must be a date such as 2024-01-05, {example} or Jan 5, 2024, with an optional time",
        )
    return value


def _spreadsheet_date(text: str, *, day_first: bool, field: str) -> datetime | None:
    if match := _NUMERIC_DATE.fullmatch(text):
        first, second = int(match["p"]), int(match["q"])
        day, month = (first, second) if day_first else (second, first)
        if month > 12 and day <= 12:
            order, option = (
                ("day first (DD/MM/YYYY), as asked", "")
                if day_first
                else ("month first (MM/DD/YYYY)", "; a day-first file needs the day-first option")
            )
            raise InvalidField(field, f"has no month {month}: dates are read {order}{option}")
    elif match := _YEAR_FIRST.fullmatch(text):
        day, month = int(match["day"]), int(match["month"])
    elif match := _DAY_MONTH_NAME.fullmatch(text) or _MONTH_NAME_DAY.fullmatch(text):
        found = _MONTH_NAMES.get(match["name"].lower())
        if found is None:
            return None
        day, month = int(match["day"]), found
    else:
        return None
    year = int(match["year"])
    if len(match["year"]) == 2:
        year += 2000  # SMS consent records start this century; a future date is refused later
    hour, minute, second = (int(match[g] or 0) for g in ("hour", "minute", "sec"))
    if match["half"]:
        if not 1 <= hour <= 12:
            raise InvalidField(field, "has an AM/PM hour outside 1-12")
        hour = hour % 12 + (12 if match["half"].lower() == "p" else 0)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise InvalidField(field, "is not a real date or time of day") from None


@attrs.frozen
class ConsentRow:
    """One input row of an import. ``line`` is for the reject report."""

    line: int
    phone: object
    consented_at: object = None
    source: object = None


@attrs.frozen
class RejectedRow:
    row: ConsentRow
    code: str
    reason: str


@attrs.define
class ImportReport:
    imported: int = 0
    updated: int = 0
    skipped: int = 0
    rejected: int = 0
    #: The rejected rows, unless an ``on_reject`` callback took them.
    rejects: list[RejectedRow] = attrs.Factory(list)


def import_consents(
    business_id: str,
    rows: Iterable[ConsentRow | Mapping[str, object]],
    *,
    uow: UnitOfWork,
    clock: Clock,
    source: str = "import",
    policy: Policy = DEFAULT_POLICY,
    batch_size: int = 1000,
    on_reject: Callable[[RejectedRow], None] | None = None,
    day_first: bool = False,
) -> ImportReport:
    """Import consent rows, streaming, one transaction per batch.

    Each valid row creates a record (``imported``), renews an older consent
    (``updated``), or changes nothing (``skipped``: the stored consent is as
    new, or the phone opted out — an import never lifts an opt-out, nor does
    a later row of the same file). Invalid rows are rejected with a reason and
    change nothing. Memory stays flat whatever the input size.

    Rows are read as people fill spreadsheets: ``consented_at`` in any form
    :func:`parse_import_timestamp` takes (numeric dates month first unless
    ``day_first``), ``source`` as free text (:func:`import_source`). A row
    without a date is consent as of the import for a phone without a record;
    it never renews an existing consent (re-importing a file without dates
    keeps every stored date), nor an earlier dated row of the same batch.

    Mapping rows use the keys ``phone``, ``consented_at`` and ``source``.
    """
    default_source = import_source(source)
    business = load_business(uow, business_id)
    now = clock.now()
    report = ImportReport()

    def reject(row: ConsentRow, exc: SmsError) -> None:
        report.rejected += 1
        rejected = RejectedRow(row, exc.code, exc.message)
        if on_reject is not None:
            on_reject(rejected)
        else:
            report.rejects.append(rejected)

    numbered = (
        r
        if isinstance(r, ConsentRow)
        else ConsentRow(i, r.get("phone"), r.get("consented_at"), r.get("source"))
        for i, r in enumerate(rows, start=1)
    )
    while batch := list(islice(numbered, batch_size)):
        wanted: dict[PhoneNumber, ConsentRecord] = {}
        for row in batch:
            try:
                number = parse_phone(row.phone, field="phone", region=policy.default_region)
                slug = default_source if row.source in (None, "") else import_source(row.source)
                at = parse_import_timestamp(row.consented_at, day_first=day_first)
                if at is not None and at > now:
                    raise InvalidField("consented_at", "must not be in the future")
            except SmsError as exc:
                reject(row, exc)
                continue
            earlier = wanted.get(number)
            if earlier is not None:
                report.skipped += 1
                if at is None or (earlier.consented_at is not None and earlier.consented_at >= at):
                    continue
            wanted[number] = ConsentRecord(
                business_id=business.id,
                phone=number,
                source=slug,
                consented_at=at,
                updated_at=now,
            )
        _store_batch(uow, business.id, wanted, clock, report)
    return report


def _store_batch(
    uow: UnitOfWork,
    business_id: str,
    wanted: dict[PhoneNumber, ConsentRecord],
    clock: Clock,
    report: ImportReport,
) -> None:
    with uow:
        # New phones are inserted as wanted; a live writer's concurrent first
        # write makes no error: its row comes back locked like any stored one.
        # An undated row is consent as of the import, for a new phone only.
        records = [
            r if r.consented_at is not None else attrs.evolve(r, consented_at=r.updated_at)
            for r in wanted.values()
        ]
        stored = uow.consents.add_or_lock(records)
        now = clock.now()  # read once the rows are locked: event times follow commit order
        changed: list[ConsentRecord] = []
        for number, old in stored.items():
            record = wanted[number]
            if old.opted_out or record.consented_at is None:
                continue  # an import never lifts an opt-out; an undated row never renews
            renewed = old.consent(source=record.source, at=record.consented_at, now=now)
            if renewed is not None:
                changed.append(renewed)
        uow.consents.update_many(changed)
        new = [r for r in records if r.phone not in stored]
        uow.consents.append_events(
            [
                ConsentEvent(
                    business_id, r.phone, ConsentEventKind.CONSENTED, r.source, r.updated_at
                )
                for r in (*new, *changed)
            ]
        )
        uow.commit()
    report.imported += len(new)
    report.updated += len(changed)
    report.skipped += len(wanted) - len(new) - len(changed)


__all__ = [
    "ConsentRow",
    "ImportReport",
    "Page",
    "RejectedRow",
    "consent_history",
    "export_consents",
    "get_consent",
    "import_consents",
    "import_source",
    "list_consents",
    "opt_in",
    "opt_out",
    "parse_import_timestamp",
    "parse_timestamp",
    "record_consent",
]
