"""PhoneNumber: parsed once with phonenumbers, then carried as E.164."""

from __future__ import annotations

import pytest
from hypothesis import given

from neariq_sms.domain import InvalidPhone, PhoneNumber
from tests.strategies import customer_phones, phone_spellings


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+15125550123", "+15125550123"),
        ("(512) 555-0123", "+15125550123"),
        ("512-555-0123", "+15125550123"),
        ("512.555.0123", "+15125550123"),
        ("1 512 555 0123", "+15125550123"),
        ("  +1 (512) 555 0123  ", "+15125550123"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_common_formats_parse_to_e164(raw: str, e164: str) -> None:
    """Every common way of writing a number gives the same E.164 string."""
    assert PhoneNumber.parse(raw).e164 == e164


@given(phone_spellings)
def test_spellings_of_one_number_are_equal(raw: str) -> None:
    """Numbers compare by their E.164 form, however they were typed."""
    assert PhoneNumber.parse(raw) == PhoneNumber("+15557654321")


@given(customer_phones)
def test_the_specs_fictional_555_numbers_are_accepted(raw: str) -> None:
    """The spec's +1 555 examples are possible numbers, so they parse."""
    assert PhoneNumber.parse(raw).e164 == raw


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "12",
        "555",
        "+1 512 555 0123 4567 89",
        "+999 123",
        "x" * 65,
        None,
        5125550123,
    ],
)
def test_garbage_is_an_invalid_phone(raw: object) -> None:
    """Anything that does not parse to a possible number is ``invalid_phone``."""
    with pytest.raises(InvalidPhone):
        PhoneNumber.parse(raw)


def test_invalid_phone_names_the_field_but_not_the_input() -> None:
    """The error names the field; the raw number (customer data) stays out of it."""
    with pytest.raises(InvalidPhone) as caught:
        PhoneNumber.parse("555-01", field="to")
    assert caught.value.field == "to"
    assert "555-01" not in str(caught.value)


def test_the_constructor_only_takes_e164() -> None:
    """Direct construction is for values already in E.164 form."""
    with pytest.raises(InvalidPhone):
        PhoneNumber("(512) 555-0123")


def test_national_format_is_how_the_country_writes_it() -> None:
    """The friendly form of the spec's example number."""
    assert PhoneNumber("+15125550123").national == "(512) 555-0123"


def test_time_zones_come_from_the_area_code() -> None:
    """Austin is Central time; a 555 number has no known zone."""
    assert PhoneNumber("+15125550123").time_zones() == ("America/Chicago",)
    assert PhoneNumber("+15557654321").time_zones() == ()
