"""PhoneNumber: parsed once with phonenumbers, then carried as E.164."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from neariq_sms.domain import InvalidPhone, PhoneNumber
from neariq_sms.domain import phone as phone_module
from tests.strategies import customer_phones, nanp_numbers, phone_spellings


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


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("(000) 000-0000", "area code cannot start with 0 or 1"),
        ("+1 100 555 0123", "area code cannot start with 0 or 1"),
        ("+1 (012) 555-0123", "area code cannot start with 0 or 1"),
        ("+1 512 055 0123", "exchange"),
        ("(512) 155-0123", "exchange"),
        ("+1 555 012 3456", "exchange"),
        ("+1 911 555 0123", "service code"),
        ("512-555-0123 ext 5", "extension"),
        ("(512) 555-0123 x12", "extension"),
        ("+15125550123;ext=3", "extension"),
        ("555-0123", "lacks its area code"),
        ("+44 7700 900123", "not in use"),
        ("+999 123", "country code"),
        ("abc", "not a phone number"),
        ("", "empty"),
        (None, "must be text"),
    ],
)
def test_numbers_that_cannot_be_texted_are_rejected_with_the_reason(
    raw: object, reason: str
) -> None:
    """NANP area codes and exchanges start with 2-9; an extension is refused, not dropped."""
    with pytest.raises(InvalidPhone) as caught:
        PhoneNumber.parse(raw)
    assert caught.value.code == "invalid_phone"
    assert caught.value.reason is not None
    assert reason in caught.value.reason
    assert reason in caught.value.message


@pytest.mark.parametrize(
    "raw",
    [
        "+15557654321",  # the upstream spec's example customer
        "+15125550123",  # the sandbox's first number
        "+15005550006",  # Twilio's magic test number
        "1-800-FLOWERS",
        "+1 876 555 0123",
    ],
)
def test_plausible_numbers_still_pass(raw: str) -> None:
    """Fictional 555 numbers, toll-free vanity spellings and the wider NANP are accepted."""
    PhoneNumber.parse(raw)


def test_the_reason_never_contains_the_number() -> None:
    """The reason describes the shape; the digits (customer data) stay out of it."""
    for raw in ("+1 100 555 0123", "512-555-0123 ext 5", "+1 512 055 0123"):
        with pytest.raises(InvalidPhone) as caught:
            PhoneNumber.parse(raw)
        assert not any(part in caught.value.message for part in ("100", "555", "0123", "055"))


@given(nanp_numbers)
def test_every_structurally_sound_nanp_number_is_accepted(raw: str) -> None:
    """Area code and exchange from 2-9 (the area code not N11): accepted, as written."""
    assert PhoneNumber.parse(raw).e164 == raw


@given(
    st.one_of(
        st.text(alphabet="0123456789 +-().x", max_size=24),
        st.from_regex(r"\A\+?1?[ (]?[0-9]{3}[) .-]?[0-9]{3}[ .-]?[0-9]{4}\Z"),
        st.from_regex(r"\A\+[1-9][0-9]{6,14}\Z"),
    )
)
@example("+15557654321")
@example("(512) 555-0123")
def test_every_accepted_number_round_trips_through_e164(raw: str) -> None:
    """Whatever is accepted is stored as E.164 that parses back to itself, unchanged."""
    try:
        number = PhoneNumber.parse(raw)
    except InvalidPhone:
        return
    assert PhoneNumber.parse(number.e164) == number
    assert PhoneNumber(number.e164) == number
    reparsed = phonenumbers.parse(number.e164)
    assert phonenumbers.format_number(reparsed, phonenumbers.PhoneNumberFormat.E164) == number.e164
    assert not reparsed.extension


@given(
    st.from_regex(r"\A\+?(1[ .-]?)?(\([0-9]{3}\) ?|[0-9]{3}[ .-]?)[0-9]{3}[ .-]?[0-9]{4}\Z"),
    st.sampled_from(["US", "CA", "GB"]),
)
@example("(512) 234-5678", "US")
@example("1-512-234-5678", "US")
@example("+1 911 234 5678", "US")
@example("15122345678", "GB")
def test_the_fast_path_for_plain_us_numbers_agrees_with_phonenumbers(raw: str, region: str) -> None:
    """Where the shortcut for plainly written NANP numbers accepts, the full
    phonenumbers path accepts the same E.164; it never rejects by itself."""
    fast = phone_module._plain_nanp(raw, region)
    if fast is None:
        return
    assert phone_module._parse_fully(raw, region, "phone") == fast
