"""Consent: record, opt out, opt in, bulk import, cursor pages."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock
from neariq_sms.domain import (
    BusinessNotFound,
    ConsentEventKind,
    InvalidField,
    InvalidPhone,
    MissingField,
    RecipientOptedOut,
)
from neariq_sms.ports import UnitOfWork
from tests.usecases.support import CUSTOMER, snapshot


def phone(n: int) -> str:
    return f"+1555765{n:04d}"


def count_records(uow: UnitOfWork, business_id: str) -> int:
    with uow:
        return sum(1 for _ in uow.consents.in_phone_order(business_id, after=None, limit=10**9))


def test_recording_consent_stores_the_record_and_an_audit_event(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """Any common format, normalised; source and time kept; one ``consented`` event."""
    record = uc.record_consent(business_id, "(555) 765-4321", "Web_Form", uow=uow, clock=clock)
    assert (record.phone.e164, record.source, record.consented_at) == (
        CUSTOMER,
        "web_form",
        clock.now(),
    )
    assert record.allows_sending
    [event] = uc.consent_history(business_id, CUSTOMER, uow=uow)
    assert (event.kind, event.source, event.at) == (
        ConsentEventKind.CONSENTED,
        "web_form",
        clock.now(),
    )


def test_consent_may_not_lie_in_the_future(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """``consentedAt`` after now is ``invalid_field``; nothing is stored."""
    later = (clock.now() + timedelta(minutes=1)).isoformat()
    with pytest.raises(InvalidField):
        uc.record_consent(business_id, CUSTOMER, "paper", later, uow=uow, clock=clock)
    assert count_records(uow, business_id) == 0


def test_an_older_consent_changes_nothing(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """Writing consent older than the stored one is idempotent."""
    uc.record_consent(business_id, CUSTOMER, "paper", uow=uow, clock=clock)
    before = snapshot(uow)
    clock.advance(timedelta(hours=1))
    uc.record_consent(business_id, CUSTOMER, "web_form", "2026-01-01", uow=uow, clock=clock)
    assert snapshot(uow) == before


def test_a_consent_write_never_lifts_an_opt_out(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """After an opt-out a plain consent write is ``recipient_opted_out`` and changes nothing."""
    uc.record_consent(business_id, CUSTOMER, "paper", uow=uow, clock=clock)
    clock.advance(timedelta(hours=1))
    uc.opt_out(business_id, CUSTOMER, uow=uow, clock=clock)
    clock.advance(timedelta(hours=1))
    before = snapshot(uow)
    with pytest.raises(RecipientOptedOut):
        uc.record_consent(business_id, CUSTOMER, "web_form", uow=uow, clock=clock)
    assert snapshot(uow) == before


def test_only_an_explicit_opt_in_lifts_an_opt_out(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """An opt-in with a consent newer than the business's opt-out lifts it; the
    trail reads consented, opted out, opted in."""
    uc.record_consent(business_id, CUSTOMER, "paper", uow=uow, clock=clock)
    uc.opt_out(business_id, CUSTOMER, uow=uow, clock=clock)
    clock.advance(timedelta(minutes=1))
    given = clock.now() - timedelta(seconds=30)
    record = uc.opt_in(business_id, CUSTOMER, "web_form", given, uow=uow, clock=clock)
    assert record.allows_sending
    assert record.consented_at == given
    kinds = [e.kind for e in uc.consent_history(business_id, CUSTOMER, uow=uow)]
    assert kinds == [
        ConsentEventKind.CONSENTED,
        ConsentEventKind.OPTED_OUT,
        ConsentEventKind.OPTED_IN,
    ]


def test_opting_out_twice_keeps_the_first_opt_out(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """Idempotent: the second opt-out changes nothing."""
    first = uc.opt_out(business_id, CUSTOMER, uow=uow, clock=clock)
    before = snapshot(uow)
    clock.advance(timedelta(hours=1))
    assert uc.opt_out(business_id, CUSTOMER, "manual", uow=uow, clock=clock) == first
    assert snapshot(uow) == before


def test_consent_rules_answer_in_the_specs_order(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """Missing fields, then invalid fields, then an invalid phone; an unknown business
    is 404. (404 *before* a shape error is the HTTP adapter's rule, checked in
    tests/http/test_consent_rules.py: the use case takes typed values.)"""
    with pytest.raises(BusinessNotFound):
        uc.record_consent("nope", CUSTOMER, "paper", uow=uow, clock=clock)
    with pytest.raises(MissingField):
        uc.record_consent(business_id, "garbage", None, uow=uow, clock=clock)
    with pytest.raises(MissingField):
        uc.record_consent(business_id, "garbage", "", uow=uow, clock=clock)
    with pytest.raises(InvalidField):
        uc.record_consent(business_id, "garbage", "Not A Slug!", uow=uow, clock=clock)
    with pytest.raises(InvalidPhone):
        uc.record_consent(business_id, "garbage", "paper", uow=uow, clock=clock)
    assert count_records(uow, business_id) == 0


# --- import ----------------------------------------------------------------------


def test_import_counts_imported_updated_skipped_and_rejected(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """Each row lands in exactly one count; rejects carry the line, code and reason."""
    uc.record_consent(business_id, phone(1), "paper", "2026-01-01", uow=uow, clock=clock)
    uc.record_consent(business_id, phone(2), "paper", "2026-03-01", uow=uow, clock=clock)
    rows = [
        {"phone": phone(1), "consented_at": "2026-02-01"},  # newer: updated
        {"phone": phone(2), "consented_at": "2026-02-01"},  # older: skipped
        {"phone": phone(3), "consented_at": "2026-02-01", "source": "web_form"},  # imported
        {"phone": "garbage"},  # rejected
        {"phone": phone(4), "consented_at": "2027-01-01"},  # future: rejected
        {"phone": phone(5), "source": "#1 source"},  # rejected: no letter first
    ]
    report = uc.import_consents(business_id, rows, uow=uow, clock=clock)
    assert (report.imported, report.updated, report.skipped, report.rejected) == (1, 1, 1, 3)
    assert [(r.row.line, r.code) for r in report.rejects] == [
        (4, "invalid_phone"),
        (5, "invalid_field"),
        (6, "invalid_field"),
    ]
    assert all(r.reason for r in report.rejects)
    record = uc.get_consent(business_id, phone(3), uow=uow)
    assert record is not None
    assert record.source == "web_form"
    assert count_records(uow, business_id) == 3


def test_import_never_lifts_an_opt_out(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """An opted-out phone in the file is skipped and stays opted out, also repeated later."""
    uc.opt_out(business_id, CUSTOMER, uow=uow, clock=clock)
    clock.advance(timedelta(days=1))
    rows = [{"phone": CUSTOMER}, {"phone": "(555) 765-4321", "consented_at": clock.now()}]
    report = uc.import_consents(business_id, rows, uow=uow, clock=clock, batch_size=1)
    assert (report.imported, report.updated, report.skipped) == (0, 0, 2)
    record = uc.get_consent(business_id, CUSTOMER, uow=uow)
    assert record is not None
    assert record.opted_out
    assert not record.allows_sending


def test_an_imported_phones_history_names_its_import(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """Who consented, how, when and via which import: the trail answers it, first,
    also after the phone's later opt-out and renewal writes."""
    rows = [{"phone": CUSTOMER, "consented_at": "2026-01-05", "source": "Front Desk"}]
    report = uc.import_consents(business_id, rows, uow=uow, clock=clock, source="paper")
    assert report.import_id is not None
    [first] = uc.consent_history(business_id, CUSTOMER, uow=uow)
    assert (first.kind, first.source, first.at, first.import_id) == (
        ConsentEventKind.CONSENTED,
        "front_desk",
        clock.now(),
        report.import_id,
    )
    with uow:
        provenance = uow.consents.get_import(report.import_id)
    assert provenance is not None
    assert (provenance.business_id, provenance.source, provenance.started_at) == (
        business_id,
        "paper",
        clock.now(),
    )
    clock.advance(timedelta(days=1))
    uc.opt_out(business_id, CUSTOMER, uow=uow, clock=clock)
    history = uc.consent_history(business_id, CUSTOMER, uow=uow)
    assert [(e.kind, e.import_id) for e in history] == [
        (ConsentEventKind.CONSENTED, report.import_id),
        (ConsentEventKind.OPTED_OUT, None),
    ]
    assert history[0] == first


def test_a_reimport_renews_after_the_first_imports_event(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """A second import with a newer date renews the record; its event, naming the
    second import, follows the first one's."""
    first = uc.import_consents(
        business_id, [{"phone": CUSTOMER, "consented_at": "2026-01-05"}], uow=uow, clock=clock
    )
    clock.advance(timedelta(days=1))
    second = uc.import_consents(
        business_id, [{"phone": CUSTOMER, "consented_at": "2026-02-05"}], uow=uow, clock=clock
    )
    assert (second.imported, second.updated) == (0, 1)
    history = uc.consent_history(business_id, CUSTOMER, uow=uow)
    assert [e.import_id for e in history] == [first.import_id, second.import_id]
    assert history[0].kind is ConsentEventKind.CONSENTED
    assert history[1].at == clock.now()


def test_a_phone_repeated_in_one_file_is_stored_once_with_the_newest_consent(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """Duplicates within a batch are skipped; the newest consent wins."""
    rows = [
        uc.ConsentRow(1, CUSTOMER, "2026-01-01"),
        uc.ConsentRow(2, "555-765-4321", "2026-02-01"),
        uc.ConsentRow(3, CUSTOMER, "2025-12-01"),
    ]
    report = uc.import_consents(business_id, rows, uow=uow, clock=clock)
    assert (report.imported, report.skipped) == (1, 2)
    record = uc.get_consent(business_id, CUSTOMER, uow=uow)
    assert record is not None
    assert record.consented_at == datetime(2026, 2, 1, tzinfo=UTC)


def test_import_streams_its_rows_in_batches(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """Rows are pulled lazily: row 11 is read only after rows 1-10 are committed."""
    seen: list[tuple[int, int]] = []

    def rows() -> Iterator[dict[str, object]]:
        for n in range(1, 26):
            seen.append((n, count_records(uow, business_id)))
            yield {"phone": phone(n)}

    report = uc.import_consents(business_id, rows(), uow=uow, clock=clock, batch_size=10)

    assert report.imported == 25
    stored_when_pulled = dict(seen)
    assert stored_when_pulled[10] == 0
    assert stored_when_pulled[11] == 10
    assert stored_when_pulled[20] == 10
    assert stored_when_pulled[21] == 20


def test_rejects_can_be_streamed_to_a_callback(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """With ``on_reject`` the report keeps counts only, so memory stays flat."""
    taken: list[uc.RejectedRow] = []
    report = uc.import_consents(
        business_id, [{"phone": "x"}, {"phone": "y"}], uow=uow, clock=clock, on_reject=taken.append
    )
    assert (report.rejected, report.rejects, len(taken)) == (2, [], 2)


# --- pages -----------------------------------------------------------------------


def test_consents_are_listed_newest_change_first_a_page_at_a_time(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """Pages of two, in order, each record once; the last page has no cursor."""
    for n in range(1, 6):
        uc.record_consent(business_id, phone(n), "paper", uow=uow, clock=clock)
        clock.advance(timedelta(minutes=1))
    pages, cursor = [], None
    while True:
        page = uc.list_consents(business_id, cursor, 2, uow=uow)
        pages.append([r.phone.e164 for r in page.items])
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == [[phone(5), phone(4)], [phone(3), phone(2)], [phone(1)]]


def test_records_changed_at_the_same_moment_are_paged_without_loss(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """One import stamps every record with the same time: the phone breaks the tie."""
    uc.import_consents(business_id, [{"phone": phone(n)} for n in range(7)], uow=uow, clock=clock)
    listed, cursor = [], None
    for _ in range(10):
        page = uc.list_consents(business_id, cursor, 3, uow=uow)
        listed += [r.phone.e164 for r in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert listed == sorted((phone(n) for n in range(7)), reverse=True)


@pytest.mark.parametrize(("cursor", "limit"), [("not-a-cursor", None), (None, 0), (None, 201)])
def test_a_bad_cursor_or_limit_is_an_invalid_field(
    uow: UnitOfWork, business_id: str, cursor: str | None, limit: object
) -> None:
    """Only cursors the API returned, and limits 1-200, are accepted."""
    with pytest.raises(InvalidField):
        uc.list_consents(business_id, cursor, limit, uow=uow)


def test_a_timestamp_out_of_range_is_an_invalid_field_not_a_crash(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """Year 1 with a positive offset overflows UTC: ``invalid_field``, and an import
    rejects only that row."""
    before = snapshot(uow)
    with pytest.raises(InvalidField):
        uc.record_consent(
            business_id, CUSTOMER, "web_form", "0001-01-01T00:00:00+01:00", uow=uow, clock=clock
        )
    assert snapshot(uow) == before

    report = uc.import_consents(
        business_id,
        [
            {"phone": phone(1), "consented_at": "0001-01-01T00:00:00+01:00"},
            {"phone": phone(2), "consented_at": "2026-01-02"},
        ],
        uow=uow,
        clock=clock,
    )
    assert (report.imported, report.rejected) == (1, 1)
    assert report.rejects[0].code == "invalid_field"


def test_a_non_ascii_digit_limit_is_an_invalid_field(uow: UnitOfWork, business_id: str) -> None:
    """'²' passes str.isdigit but is no number a client may send."""
    with pytest.raises(InvalidField):
        uc.list_consents(business_id, limit="²", uow=uow)


def test_an_export_walks_every_record_in_phone_order_across_chunks(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """More records than one export chunk: each exported once, in phone order."""
    rows = [{"phone": phone(n)} for n in range(uc.consent.EXPORT_CHUNK + 7)]
    uc.import_consents(business_id, reversed(rows), uow=uow, clock=clock)

    exported = [r.phone.e164 for r in uc.export_consents(business_id, uow=uow)]

    assert exported == sorted(row["phone"] for row in rows)


def test_an_export_holds_no_transaction_between_chunks(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """While a reader pauses inside an export, other writes go through."""
    for n in range(3):
        uc.record_consent(business_id, phone(n), "web_form", uow=uow, clock=clock)
    export = uc.export_consents(business_id, uow=uow)
    next(export)
    uc.record_consent(business_id, phone(9), "web_form", uow=uow, clock=clock)
    assert len(list(export)) == 2


class CountingUnitOfWork:
    """Any unit of work, counting the transactions opened through it."""

    def __init__(self, inner: UnitOfWork) -> None:
        self.inner = inner
        self.opened = 0

    def __enter__(self) -> CountingUnitOfWork:
        self.opened += 1
        self.inner.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.inner.__exit__(*exc)  # type: ignore[arg-type]

    @contextlib.contextmanager
    def reading(self) -> Iterator[CountingUnitOfWork]:
        self.opened += 1
        with self.inner.reading():
            yield self

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_each_consent_use_case_is_one_transaction(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """The business is read inside the use case's own transaction, not in one before it."""
    counting = CountingUnitOfWork(uow)
    deps: dict[str, Any] = {"uow": counting}
    calls = [
        lambda: uc.record_consent(business_id, CUSTOMER, "paper", **deps, clock=clock),
        lambda: uc.get_consent(business_id, CUSTOMER, **deps),
        lambda: uc.consent_history(business_id, CUSTOMER, **deps),
        lambda: uc.list_consents(business_id, **deps),
        lambda: list(uc.export_consents(business_id, **deps)),
        lambda: uc.opt_out(business_id, CUSTOMER, **deps, clock=clock),
        lambda: uc.opt_in(business_id, CUSTOMER, "web_form", clock.now(), **deps, clock=clock),
    ]
    for call in calls:
        counting.opened = 0
        clock.advance(timedelta(seconds=1))
        call()
        assert counting.opened == 1, call
