"""Bulk consent import: rows as people save them in spreadsheets, streamed in batches."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from itertools import islice

import attrs

from neariq_sms.domain.consent import (
    IMPORT,
    ConsentEvent,
    ConsentEventKind,
    ConsentRecord,
    validate_source,
)
from neariq_sms.domain.errors import InvalidField, SmsError
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import DEFAULT_POLICY, Policy
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.usecases._common import load_business, parse_phone
from neariq_sms.usecases.consent import parse_timestamp

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
    "RejectedRow",
    "import_consents",
    "import_source",
    "parse_import_timestamp",
]
