"""Bulk consent import: rows as people save them in spreadsheets, streamed in batches."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from itertools import islice

import attrs

from neariq_sms.domain.consent import ConsentChange, ConsentRecord
from neariq_sms.domain.errors import InvalidField, SmsError
from neariq_sms.domain.parsing import parse_import_source, parse_import_timestamp, parse_phone
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import DEFAULT_POLICY, Policy
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.usecases._common import load_business


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
                slug = (
                    default_source if row.source in (None, "") else parse_import_source(row.source)
                )
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
        firsts = {
            number: ConsentRecord.first_consent(
                business_id,
                number,
                source=r.source,
                at=r.consented_at or r.updated_at,
                now=r.updated_at,
            )
            for number, r in wanted.items()
        }
        stored = uow.consents.add_or_lock([record for record, _ in firsts.values()])
        now = clock.now()  # read once the rows are locked: event times follow commit order
        changed: list[ConsentChange] = []
        for number, old in stored.items():
            row = wanted[number]
            if old.opted_out or row.consented_at is None:
                continue  # an import never lifts an opt-out; an undated row never renews
            renewal = old.renewed(source=row.source, at=row.consented_at, now=now)
            if renewal is not None:
                changed.append(renewal)
        uow.consents.update_many([record for record, _ in changed])
        new = [first for number, first in firsts.items() if number not in stored]
        uow.consents.append_events([event for _, event in (*new, *changed)])
        uow.commit()
    report.imported += len(new)
    report.updated += len(changed)
    report.skipped += len(wanted) - len(new) - len(changed)


__all__ = [
    "ConsentRow",
    "ImportReport",
    "RejectedRow",
    "import_consents",
]
