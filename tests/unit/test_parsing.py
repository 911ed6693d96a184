"""The parse vocabulary: each raw input is missing, of the wrong type, out of range, or good."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neariq_sms.domain import InvalidField, InvalidPhone, MissingField, PhoneNumber
from neariq_sms.domain.parsing import (
    MAX_IDEMPOTENCY_KEY,
    parse_area_code,
    parse_aware,
    parse_customer_name,
    parse_idempotency_key,
    parse_import_source,
    parse_limit,
    parse_past_timestamp,
    parse_phone,
    parse_present,
    parse_source,
    parse_template,
    parse_text,
    parse_timestamp,
    parse_timezone,
)
from neariq_sms.usecases.paging import encode_cursor, parse_cursor
from tests.strategies import moments, nanp_numbers, phone_spellings

NOW = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
BLANKS = [None, "", "   ", "\t"]


def _field_of(exc: pytest.ExceptionInfo[Exception]) -> str:
    return str(getattr(exc.value, "field", ""))


# --- presence, text, phone ----------------------------------------------------------


@pytest.mark.parametrize("raw", BLANKS)
def test_absent_or_blank_values_are_missing(raw: object) -> None:
    for parse in (parse_present, parse_text):
        with pytest.raises(MissingField) as exc:
            parse(raw, "phone")
        assert _field_of(exc) == "phone"


@pytest.mark.parametrize("raw", [0, 7, False, 1.5, [], {}, ["+15557654321"]])
def test_present_values_of_any_type_pass_the_presence_check_but_not_the_text_check(
    raw: object,
) -> None:
    assert parse_present(raw, "phone") is raw
    with pytest.raises(InvalidField, match="must be a string"):
        parse_text(raw, "phone")


def test_text_is_returned_as_given() -> None:
    assert parse_text(" Jo ", "name") == " Jo "


@pytest.mark.parametrize(
    ("raw", "error"),
    [(None, MissingField), ("  ", MissingField), (5557654321, InvalidField)],
)
def test_a_phone_that_is_missing_or_not_text(raw: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_phone(raw, field="to", region="US")


@pytest.mark.parametrize("raw", ["garbage", "+1 000 000 0000", "555-0123", "+1 512 555 0123 x5"])
def test_an_impossible_phone_is_invalid_phone_naming_its_field(raw: str) -> None:
    with pytest.raises(InvalidPhone) as exc:
        parse_phone(raw, field="to", region="US")
    assert _field_of(exc) == "to"


@given(phone_spellings)
def test_any_spelling_of_a_number_parses_to_one_e164(raw: str) -> None:
    assert parse_phone(raw, field="phone", region="US") == PhoneNumber("+15557654321")


@given(nanp_numbers)
def test_a_parsed_phone_passes_through_unchanged(e164: str) -> None:
    number = PhoneNumber(e164)
    assert parse_phone(number, field="phone", region="US") is number
    assert parse_phone(e164, field="phone", region="US") == number


# --- limits, area codes, keys -------------------------------------------------------


@pytest.mark.parametrize("raw", [0, -1, 51, "0", "51", "", " ", "ten", "1.5", "²", True, 2.0, []])
def test_a_limit_out_of_range_or_not_a_whole_number_is_invalid(raw: object) -> None:
    with pytest.raises(InvalidField, match="from 1 to 50") as exc:
        parse_limit(raw, default=20, maximum=50)
    assert _field_of(exc) == "limit"


def test_a_limit_of_a_thousand_digits_is_refused_without_converting_it() -> None:
    with pytest.raises(InvalidField):
        parse_limit("9" * 5000, default=20, maximum=50)


@given(st.integers(min_value=-5, max_value=60))
def test_a_limit_is_good_exactly_from_one_to_the_maximum(value: int) -> None:
    """As an int or as its digits (with surrounding spaces), the same answer."""
    for raw in (value, f" {value} "):
        if 1 <= value <= 50:
            assert parse_limit(raw, default=20, maximum=50) == value
        else:
            with pytest.raises(InvalidField):
                parse_limit(raw, default=20, maximum=50)


def test_no_limit_is_the_default() -> None:
    assert parse_limit(None, default=20, maximum=50) == 20


def test_an_area_code_is_required() -> None:
    for raw in (None, ""):
        with pytest.raises(InvalidField, match="required"):
            parse_area_code(raw)


@pytest.mark.parametrize(
    "raw", ["12", "1234", "012", "112", "5a2", "\uff15\uff11\uff12", 12, True, 512.0, []]
)
def test_an_area_code_of_the_wrong_shape_is_invalid(raw: object) -> None:
    with pytest.raises(InvalidField, match="three-digit") as exc:
        parse_area_code(raw)
    assert _field_of(exc) == "areaCode"


@pytest.mark.parametrize(("raw", "code"), [("512", "512"), (" 737 ", "737"), (212, "212")])
def test_a_good_area_code(raw: object, code: str) -> None:
    assert parse_area_code(raw) == code


def test_an_idempotency_key_is_optional_but_never_blank() -> None:
    assert parse_idempotency_key(None) is None
    for raw in ("", "  ", 7, b"key"):
        with pytest.raises(InvalidField, match="non-empty string"):
            parse_idempotency_key(raw)


@pytest.mark.parametrize("raw", ["k" * (MAX_IDEMPOTENCY_KEY + 1), "a\nb", "a\x00b"])
def test_an_idempotency_key_too_long_or_unprintable_is_invalid(raw: str) -> None:
    with pytest.raises(InvalidField, match="printable") as exc:
        parse_idempotency_key(raw)
    assert _field_of(exc) == "Idempotency-Key"


def test_a_good_idempotency_key_is_kept_as_given() -> None:
    assert parse_idempotency_key("order-42") == "order-42"
    assert parse_idempotency_key("k" * MAX_IDEMPOTENCY_KEY) == "k" * MAX_IDEMPOTENCY_KEY


# --- names, templates, zones, sources -------------------------------------------------


def test_a_customer_name_missing_not_text_too_long_or_with_controls() -> None:
    with pytest.raises(MissingField):
        parse_customer_name("  ")
    with pytest.raises(InvalidField, match="string"):
        parse_customer_name(42)
    with pytest.raises(InvalidField, match="at most 60"):
        parse_customer_name("a" * 61)
    with pytest.raises(InvalidField, match="control"):
        parse_customer_name("Jo\u200bhn")
    assert parse_customer_name("  Jane Doe ") == "Jane Doe"


def test_a_template_with_unknown_or_broken_placeholders_is_invalid() -> None:
    for raw in ("Hi {name}", "Hi {first_name", "{0}"):
        with pytest.raises(InvalidField) as exc:
            parse_template(raw)
        assert _field_of(exc) == "review_template"
    good = "Hi {first_name}, {business_name}: {review_link}"
    assert parse_template(good) == good


@pytest.mark.parametrize("raw", ["", "Mars/Olympus", "America/../etc", "/etc/passwd"])
def test_a_time_zone_that_is_not_iana_is_invalid(raw: str) -> None:
    with pytest.raises(InvalidField, match="IANA"):
        parse_timezone(raw)


def test_a_good_time_zone() -> None:
    assert parse_timezone("America/Chicago") == "America/Chicago"


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (None, MissingField),
        (" ", MissingField),
        (7, InvalidField),
        ("Not A Slug!", InvalidField),
        ("a" * 41, InvalidField),
        ("9lives", InvalidField),
        ("keyword", InvalidField),
    ],
)
def test_a_bad_source(raw: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_source(raw)


@given(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,39}", fullmatch=True))
def test_a_source_is_its_lower_case_slug_and_parsing_it_again_changes_nothing(raw: str) -> None:
    slug = parse_source(raw, reserved=True)
    assert slug == raw.lower()
    assert parse_source(slug, reserved=True) == slug


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (None, MissingField),
        ("", MissingField),
        (3, InvalidField),
        ("=HYPERLINK(1)", InvalidField),
        ("Keyword", InvalidField),
        ("x" * 41, InvalidField),
    ],
)
def test_a_bad_import_source(raw: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_import_source(raw)


def test_a_free_text_import_source_becomes_a_slug() -> None:
    assert parse_import_source("Front Desk") == "front_desk"
    assert parse_import_source("import") == "import"


# --- times and cursors ---------------------------------------------------------------


def test_a_naive_datetime_is_invalid_and_an_aware_one_is_utc() -> None:
    with pytest.raises(InvalidField, match="time zone"):
        parse_aware(datetime(2026, 3, 10, 12, 0), "consentedAt")
    with pytest.raises(InvalidField, match="out of range"):
        parse_aware(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5))), "consentedAt")
    local = datetime(2026, 3, 10, 12, 0, tzinfo=timezone(timedelta(hours=-5)))
    assert parse_aware(local, "consentedAt") == NOW


@pytest.mark.parametrize("raw", [7, 1.5, [], "yesterday", "2026-13-01", "2026-03-10\x0012:00"])
def test_a_timestamp_that_is_not_iso_8601_is_invalid(raw: object) -> None:
    with pytest.raises(InvalidField, match="ISO-8601") as exc:
        parse_timestamp(raw, field="consentedAt")
    assert _field_of(exc) == "consentedAt"


def test_no_timestamp_is_none_and_a_date_alone_is_midnight_utc() -> None:
    assert parse_timestamp(None) is None
    assert parse_timestamp("") is None
    assert parse_timestamp("2026-03-10") == datetime(2026, 3, 10, tzinfo=UTC)
    assert parse_timestamp("2026-03-10T17:00:00") == NOW
    assert parse_timestamp("2026-03-10T12:00:00-05:00") == NOW


@given(moments)
def test_an_aware_time_and_its_iso_text_parse_to_the_same_instant(moment: datetime) -> None:
    assert parse_timestamp(moment) == moment
    assert parse_timestamp(moment.isoformat()) == moment


def test_a_past_timestamp_may_be_now_but_not_later() -> None:
    assert parse_past_timestamp(None, now=NOW) is None
    assert parse_past_timestamp(NOW, now=NOW) == NOW
    with pytest.raises(InvalidField, match="future"):
        parse_past_timestamp(NOW + timedelta(seconds=1), now=NOW)
    with pytest.raises(InvalidField, match="ISO-8601"):
        parse_past_timestamp("soon", now=NOW)


@pytest.mark.parametrize(
    "raw",
    ["not-a-cursor", "W10", "WyJ4IiwgInkiXQ", encode_cursor(NOW, "a\nb"), "%%%", "e30"],
)
def test_a_cursor_this_api_did_not_return_is_invalid(raw: str) -> None:
    with pytest.raises(InvalidField, match="cursor") as exc:
        parse_cursor(raw)
    assert _field_of(exc) == "cursor"


def test_no_cursor_is_the_first_page() -> None:
    assert parse_cursor(None) is None
    assert parse_cursor("") is None


@given(moments, st.text(st.characters(codec="utf-8", exclude_categories=("C", "Z")), max_size=40))
def test_a_cursor_parses_back_to_what_it_encodes(moment: datetime, key: str) -> None:
    assert parse_cursor(encode_cursor(moment, key)) == (moment, key)
