"""Import rows as people fill spreadsheets: US dates, free-text sources, rows without a date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock
from neariq_sms.domain import InvalidField, MissingField
from neariq_sms.domain.parsing import parse_import_source, parse_import_timestamp
from neariq_sms.ports import UnitOfWork
from tests.usecases.support import CUSTOMER


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# --- dates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-01-05", at(2024, 1, 5)),
        ("2024-01-05T14:30:00Z", at(2024, 1, 5, 14, 30)),
        ("01/05/2024", at(2024, 1, 5)),
        ("1/5/24", at(2024, 1, 5)),
        ("01/05/2024 14:30", at(2024, 1, 5, 14, 30)),
        ("1/5/2024 2:30 PM", at(2024, 1, 5, 14, 30)),
        ("1/5/2024 12:05 am", at(2024, 1, 5, 0, 5)),
        ("01/05/2024 14:30:15", at(2024, 1, 5, 14, 30, 15)),
        ("01-05-2024", at(2024, 1, 5)),
        ("2024/01/05", at(2024, 1, 5)),
        ("5 Jan 2024", at(2024, 1, 5)),
        ("05-Jan-24", at(2024, 1, 5)),
        ("Jan 5, 2024", at(2024, 1, 5)),
        ("January 5th 2024 9:00", at(2024, 1, 5, 9)),
        ("  01/05/2024  ", at(2024, 1, 5)),
        ("", None),
    ],
)
def test_spreadsheet_dates_are_read_month_first(raw: str, expected: datetime | None) -> None:
    """US order by default: 01/05/2024 is 5 January; a named month is never ambiguous."""
    assert parse_import_timestamp(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("05/01/2024", at(2024, 1, 5)),
        ("5.1.24 14:30", at(2024, 1, 5, 14, 30)),
        ("13/01/2024", at(2024, 1, 13)),
        ("2024-01-05", at(2024, 1, 5)),
        ("Jan 5, 2024", at(2024, 1, 5)),
    ],
)
def test_day_first_reads_numeric_dates_the_other_way(raw: str, expected: datetime) -> None:
    """``day_first`` flips numeric dates only; ISO and named months mean what they say."""
    assert parse_import_timestamp(raw, day_first=True) == expected


@pytest.mark.parametrize(
    ("raw", "day_first", "reason"),
    [
        ("13/01/2024", False, "day-first option"),
        ("01/13/2024", True, "day first"),
        ("02/30/2024", False, "not a real date"),
        ("01/05/2024 25:00", False, "not a real date or time"),
        ("01/05/2024 13:00 PM", False, "AM/PM"),
        ("Smarch 5, 2024", False, "must be a date"),
        ("yesterday", False, "must be a date"),
        ("01/05", False, "must be a date"),
        ("=NOW()", False, "must be a date"),
    ],
)
def test_what_is_not_a_date_is_refused_with_the_reason(
    raw: str, day_first: bool, reason: str
) -> None:
    """Nothing is guessed: a 13th month is an error naming the order, not a swapped date."""
    with pytest.raises(InvalidField) as caught:
        parse_import_timestamp(raw, day_first=day_first)
    assert reason in caught.value.reason
    assert caught.value.field == "consented_at"


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)), st.booleans())
def test_any_date_written_numerically_reads_back_as_itself(day: date, day_first: bool) -> None:
    """Whatever the order asked, a date written in that order is that date."""
    first, second = (day.day, day.month) if day_first else (day.month, day.day)
    for text in (f"{first}/{second}/{day.year}", f"{first:02d}/{second:02d}/{day.year % 100:02d}"):
        assert parse_import_timestamp(text, day_first=day_first) == at(day.year, day.month, day.day)


# --- sources ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "slug"),
    [
        ("paper form", "paper_form"),
        ("Front Desk", "front_desk"),
        ("  Point-of-Sale ", "point_of_sale"),
        ("web_form", "web_form"),
        ("Formulário em papel", "formulario_em_papel"),
        ("Kiosk #2", "kiosk_2"),
        ("import", "import"),
        ("Import", "import"),
    ],
)
def test_free_text_sources_become_slugs(raw: str, slug: str) -> None:
    """How a person names the source, written as the slug the records carry."""
    assert parse_import_source(raw) == slug


@pytest.mark.parametrize(
    ("raw", "error", "reason"),
    [
        ("keyword", InvalidField, "recorded by the library itself"),
        ("Provider", InvalidField, "recorded by the library itself"),
        ('=HYPERLINK("http://x","y")', InvalidField, "start with a letter"),
        ("@SUM(A1)", InvalidField, "start with a letter"),
        ("2023 mailer", InvalidField, "start with a letter"),
        ("a" * 41, InvalidField, "at most 40"),
        ("中文", InvalidField, "start with a letter"),
        ("   ", MissingField, None),
    ],
)
def test_sources_that_cannot_be_imported_are_refused(
    raw: str, error: type[Exception], reason: str | None
) -> None:
    """The library's own sources are refused, not mapped; a formula is no source."""
    with pytest.raises(error) as caught:
        parse_import_source(raw)
    if reason is not None:
        assert isinstance(caught.value, InvalidField)
        assert reason in caught.value.reason


# --- through import_consents ------------------------------------------------------


def test_us_dates_and_free_text_sources_are_imported(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """The rows a real file had rejected by the thousand."""
    rows = [
        {"phone": "+15557650001", "consented_at": "01/05/2024", "source": "paper form"},
        {"phone": "+15557650002", "consented_at": "1/5/24", "source": "Front Desk"},
        {"phone": "+15557650003", "consented_at": "01/05/2024 14:30", "source": ""},
        {"phone": "+15557650004", "consented_at": "13/01/2024"},
        {"phone": "+15557650005", "source": "keyword"},
    ]
    report = uc.import_consents(business_id, rows, uow=uow, clock=clock)
    assert (report.imported, report.rejected) == (3, 2)
    assert [(r.row.line, r.code) for r in report.rejects] == [
        (4, "invalid_field"),
        (5, "invalid_field"),
    ]
    records = {
        r.phone.e164: (r.consented_at, r.source) for r in uc.export_consents(business_id, uow=uow)
    }
    assert records == {
        "+15557650001": (at(2024, 1, 5), "paper_form"),
        "+15557650002": (at(2024, 1, 5), "front_desk"),
        "+15557650003": (at(2024, 1, 5, 14, 30), "import"),
    }


def test_day_first_is_an_import_option(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    rows = [{"phone": CUSTOMER, "consented_at": "05/01/2024"}]
    uc.import_consents(business_id, rows, uow=uow, clock=clock, day_first=True)
    record = uc.get_consent(business_id, CUSTOMER, uow=uow)
    assert record is not None
    assert record.consented_at == at(2024, 1, 5)


def test_a_reserved_default_source_is_refused_before_any_row(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """``source=`` names the import's own default; ``keyword`` is not one to give."""
    with pytest.raises(InvalidField):
        uc.import_consents(
            business_id, [{"phone": CUSTOMER}], uow=uow, clock=clock, source="keyword"
        )
    assert uc.get_consent(business_id, CUSTOMER, uow=uow) is None
    uc.import_consents(
        business_id, [{"phone": CUSTOMER}], uow=uow, clock=clock, source="Paper Form"
    )
    record = uc.get_consent(business_id, CUSTOMER, uow=uow)
    assert record is not None
    assert record.source == "paper_form"


def test_a_row_without_a_date_never_renews_a_stored_consent(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """Re-importing a file without dates keeps every date; a new phone consents as of now."""
    first = clock.now()
    uc.import_consents(
        business_id,
        [{"phone": "+15557650001"}, {"phone": "+15557650002", "consented_at": "2024-01-05"}],
        uow=uow,
        clock=clock,
    )
    clock.advance(timedelta(days=3))
    report = uc.import_consents(
        business_id,
        [{"phone": "+15557650001"}, {"phone": "+15557650002"}, {"phone": "+15557650003"}],
        uow=uow,
        clock=clock,
    )
    assert (report.imported, report.updated, report.skipped) == (1, 0, 2)
    dates = {r.phone.e164: r.consented_at for r in uc.export_consents(business_id, uow=uow)}
    assert dates == {
        "+15557650001": first,
        "+15557650002": at(2024, 1, 5),
        "+15557650003": clock.now(),
    }
    history = uc.consent_history(business_id, "+15557650001", uow=uow)
    assert len(history) == 1


def test_an_undated_row_does_not_override_a_dated_row_of_the_same_file(
    uow: UnitOfWork, clock: ManualClock, business_id: str
) -> None:
    """In either order, the date the file gives wins over "no date"."""
    rows = [
        uc.ConsentRow(1, "+15557650001", "2024-01-05"),
        uc.ConsentRow(2, "+15557650001", None),
        uc.ConsentRow(3, "+15557650002", None),
        uc.ConsentRow(4, "+15557650002", "2024-02-05"),
    ]
    report = uc.import_consents(business_id, rows, uow=uow, clock=clock)
    assert (report.imported, report.skipped) == (2, 2)
    dates = {r.phone.e164: r.consented_at for r in uc.export_consents(business_id, uow=uow)}
    assert dates == {"+15557650001": at(2024, 1, 5), "+15557650002": at(2024, 2, 5)}
