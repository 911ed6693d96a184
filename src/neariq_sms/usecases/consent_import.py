"""Bulk consent import: rows as people save them in spreadsheets, streamed in batches."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import islice

import attrs

from neariq_sms.domain.consent import ConsentChange, ConsentImport, ConsentRecord
from neariq_sms.domain.errors import InvalidField, SmsError
from neariq_sms.domain.parsing import parse_import_source, parse_import_timestamp, parse_phone
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import DEFAULT_POLICY, Policy
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.usecases._common import load_business


@attrs.frozen
class ConsentRow:
    """One input row of an import. ``line`` and ``cells`` are for the reject report."""

    line: int
    phone: object
    consented_at: object = None
    source: object = None
    #: The row as read (e.g. a CSV row's cells), when the caller wants it back with a reject.
    cells: Sequence[str] | None = None


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
    #: The import's provenance record (``ConsentEvent.import_id`` of the records it wrote).
    import_id: str | None = None
    #: The rejected rows, unless an ``on_reject`` callback took them.
    rejects: list[RejectedRow] = attrs.Factory(list)


#: What an import wants for one phone: the source and when consent was given (if known).
_Wanted = dict[PhoneNumber, tuple[str, datetime | None]]


class _RowReader:
    """One row's phone, source and consent time, or the reason it is rejected."""

    def __init__(self, region: str, default_source: str, *, day_first: bool, now: datetime):
        self.region = region
        self.default_source = default_source
        self.now = now
        # Files repeat a few dates and sources over many rows: each is parsed once.
        self.dated = functools.lru_cache(maxsize=4096)(
            functools.partial(parse_import_timestamp, day_first=day_first)
        )
        self.named = functools.lru_cache(maxsize=1024)(parse_import_source)

    def __call__(self, row: ConsentRow) -> tuple[PhoneNumber, str, datetime | None]:
        number = parse_phone(row.phone, field="phone", region=self.region)
        source, at = row.source, row.consented_at
        if source is None or source == "":
            slug = self.default_source
        else:
            slug = self.named(source) if isinstance(source, str) else parse_import_source(source)
        when = self.dated(at) if isinstance(at, str) else self.dated.__wrapped__(at)
        if when is not None and when > self.now:
            raise InvalidField("consented_at", "must not be in the future")
        return number, slug, when


def import_consents(
    business_id: str,
    rows: Iterable[ConsentRow | Mapping[str, object]],
    *,
    uow: UnitOfWork,
    clock: Clock,
    source: str = "import",
    policy: Policy = DEFAULT_POLICY,
    batch_size: int = 5000,
    on_reject: Callable[[RejectedRow], None] | None = None,
    day_first: bool = False,
) -> ImportReport:
    """Import consent rows, streaming, one transaction per batch.

    Each valid row creates a record (``imported``), renews an older consent
    (``updated``), or changes nothing (``skipped``: the stored consent is as
    new, or the phone opted out — an import never lifts an opt-out, nor does
    a later row of the same file). Invalid rows are rejected with a reason and
    change nothing. Memory stays flat whatever the input size. Every record
    written gets its audit event, as any consent write does.

    Rows are read as people fill spreadsheets: ``consented_at`` in any form
    :func:`~neariq_sms.domain.parsing.parse_import_timestamp` takes (numeric
    dates month first unless ``day_first``), ``source`` as free text
    (:func:`~neariq_sms.domain.parsing.parse_import_source`). A row
    without a date is consent as of the import for a phone without a record;
    it never renews an existing consent (re-importing a file without dates
    keeps every stored date), nor an earlier dated row of the same batch.

    Mapping rows use the keys ``phone``, ``consented_at`` and ``source``.
    """
    default_source = parse_import_source(source)
    business = load_business(uow, business_id)
    now = clock.now()
    provenance = ConsentImport(uuid.uuid4().hex, business.id, default_source, now)
    with uow:
        uow.consents.add_import(provenance)
        uow.commit()
    report = ImportReport(import_id=provenance.id)
    read = _RowReader(policy.default_region, default_source, day_first=day_first, now=now)
    reject = _rejecter(report, on_reject)
    numbered = _numbered(rows)
    while True:
        # A batch's rows are read as they stream by: only what it stores stays in memory.
        wanted, rows_read = _wanted(islice(numbered, batch_size), read, reject, report)
        if rows_read == 0:
            return report
        _store_batch(uow, provenance, wanted, clock, report)


def _numbered(rows: Iterable[ConsentRow | Mapping[str, object]]) -> Iterator[ConsentRow]:
    """The rows as :class:`ConsentRow`, a mapping numbered by its place in the input."""
    return (
        r
        if isinstance(r, ConsentRow)
        else ConsentRow(i, r.get("phone"), r.get("consented_at"), r.get("source"))
        for i, r in enumerate(rows, start=1)
    )


def _rejecter(
    report: ImportReport, on_reject: Callable[[RejectedRow], None] | None
) -> Callable[[ConsentRow, SmsError], None]:
    """Counts a rejected row and hands it to ``on_reject``, or keeps it on the report."""

    def reject(row: ConsentRow, exc: SmsError) -> None:
        report.rejected += 1
        rejected = RejectedRow(row, exc.code, exc.message)
        if on_reject is not None:
            on_reject(rejected)
        else:
            report.rejects.append(rejected)

    return reject


def _wanted(
    batch: Iterable[ConsentRow],
    read: _RowReader,
    reject: Callable[[ConsentRow, SmsError], None],
    report: ImportReport,
) -> tuple[_Wanted, int]:
    """The valid rows of a batch, one per phone (a later row counts only with a newer
    date), and how many rows the batch had."""
    wanted: _Wanted = {}
    rows_read = 0
    for rows_read, row in enumerate(batch, start=1):  # noqa: B007 - the count is answered
        try:
            number, slug, at = read(row)
        except SmsError as exc:
            reject(row, exc)
            continue
        earlier = wanted.get(number)
        if earlier is not None:
            report.skipped += 1
            if at is None or (earlier[1] is not None and earlier[1] >= at):
                continue
        wanted[number] = (slug, at)
    return wanted, rows_read


def _store_batch(
    uow: UnitOfWork, of: ConsentImport, wanted: _Wanted, clock: Clock, report: ImportReport
) -> None:
    with uow:
        # Each batch's records carry its own time: consecutive batches then
        # append to the newest-first index instead of writing all over it.
        now = clock.now()
        # New phones are stored in one set-based step, their events recorded
        # as of this import; a live writer's concurrent first write makes no
        # error: its row comes back locked like any stored one. An undated row
        # is consent as of the import, for a new phone only.
        stored = uow.consents.add_imported(
            of,
            [
                ConsentRecord.imported(of, number, source=slug, at=at or now, now=now)
                for number, (slug, at) in wanted.items()
            ],
        )
        locked_at = clock.now()  # read once the rows are locked: event times follow commit order
        changed: list[ConsentChange] = []
        for number, old in stored.items():
            slug, at = wanted[number]
            if old.opted_out or at is None:
                continue  # an import never lifts an opt-out; an undated row never renews
            renewal = old.renewed(source=slug, at=at, now=locked_at)
            if renewal is not None:
                changed.append(renewal)
        uow.consents.update_many([record for record, _ in changed])
        uow.consents.append_events([attrs.evolve(e, import_id=of.id) for _, e in changed])
        uow.commit()
    report.imported += len(wanted) - len(stored)
    report.updated += len(changed)
    report.skipped += len(stored) - len(changed)


__all__ = [
    "ConsentRow",
    "ImportReport",
    "RejectedRow",
    "import_consents",
]
