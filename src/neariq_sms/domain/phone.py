"""Phone numbers: parsed once with phonenumbers, then carried as E.164."""

from __future__ import annotations

import functools
import re

import attrs
import phonenumbers
from phonenumbers import timezone as _pn_timezone

from neariq_sms.domain.errors import InvalidPhone

#: Where a number written without a country code is read (per-business country later).
DEFAULT_REGION = "US"
_UNKNOWN_ZONE = "Etc/Unknown"


def _check_e164(instance: PhoneNumber, attribute: attrs.Attribute[str], value: str) -> None:
    if not (value.startswith("+") and value[1:].isdigit() and 8 <= len(value) <= 16):
        raise InvalidPhone()


@attrs.frozen(order=True)
class PhoneNumber:
    """A phone number in E.164 form (``+15125550123``).

    Build it with :meth:`parse` from user input; the constructor only accepts
    strings that are already E.164.
    """

    e164: str = attrs.field(validator=_check_e164)

    @classmethod
    def parse(
        cls, raw: object, *, region: str = DEFAULT_REGION, field: str = "phone"
    ) -> PhoneNumber:
        """Parse any common format; raise :class:`InvalidPhone` naming ``field`` otherwise.

        A number is accepted when it parses, is *possible* for its country
        with its area code, carries no extension, and is plausibly textable
        (see :func:`_implausible`). The fictional 555 numbers of the spec pass;
        the provider has the last word on reachability. The error says why,
        never echoing the number (customer data).
        """
        if not isinstance(raw, str):
            raise InvalidPhone(field=field, reason="it must be text")
        text = raw.strip()
        if not text:
            raise InvalidPhone(field=field, reason="it is empty")
        if len(raw) > 64:
            raise InvalidPhone(field=field, reason="it is too long")
        return cls(_plain_nanp(text, region) or _parse_fully(text, region, field))

    @property
    def national(self) -> str:
        """The number as its own country writes it, e.g. ``(512) 555-0123``."""
        return phonenumbers.format_number(
            phonenumbers.parse(self.e164), phonenumbers.PhoneNumberFormat.NATIONAL
        )

    def time_zones(self) -> tuple[str, ...]:
        """IANA zones phonenumbers maps this number to; empty when it knows none."""
        return _time_zones(self.e164)

    def __str__(self) -> str:
        return self.e164


@functools.lru_cache(maxsize=4096)
def _time_zones(e164: str) -> tuple[str, ...]:
    # About 45 µs a lookup (parse, number type, prefix table), asked at every send
    # and reminder; the same customers come back.
    zones = _pn_timezone.time_zones_for_number(phonenumbers.parse(e164))
    return tuple(z for z in zones if z != _UNKNOWN_ZONE)


_NANP = 1
#: The shapes most US numbers are written in: (512) 234-5678, 512-234-5678,
#: 512.234.5678, 5122345678, +1 512 234 5678, +15122345678, 1-512-234-5678.
_PLAIN_NANP = re.compile(
    r"(?P<plus>\+)?(?P<one>1[ .-]?)?(?:\((?P<a1>[2-9]\d\d)\) ?|(?P<a2>[2-9]\d\d)[ .-]?)"
    r"(?P<x>[2-9]\d\d)[ .-]?(?P<n>\d{4})"
)


def _plain_nanp(text: str, region: str) -> str | None:
    """The E.164 form of a plainly written, plausible NANP number, else ``None``.

    What phonenumbers' ``parse`` + :func:`_implausible` accept for these
    shapes, at a fraction of the cost (a bulk import spends most of its time
    parsing numbers). It only ever accepts: anything else, including every
    number it would refuse, takes the full path, which gives the reason. A
    test holds the two paths equal.
    """
    match = _PLAIN_NANP.fullmatch(text)
    if match is None:
        return None
    if match["plus"] is not None and match["one"] is None:
        return None  # "+512...": another country code
    if match["plus"] is None and region != "US":
        return None  # read in another region's plan: the full path decides
    area = match["a1"] or match["a2"]
    if area[1:] == "11":
        return None  # N11: a service code, refused with its reason by the full path
    return f"+1{area}{match['x']}{match['n']}"


_NPE = phonenumbers.NumberParseException
_PARSE_REASONS = {
    _NPE.INVALID_COUNTRY_CODE: "its country code is unknown",
    _NPE.NOT_A_NUMBER: "it is not a phone number",
    _NPE.TOO_SHORT_AFTER_IDD: "it is too short",
    _NPE.TOO_SHORT_NSN: "it is too short",
    _NPE.TOO_LONG: "it is too long",
}
_VR = phonenumbers.ValidationResult
_POSSIBLE_REASONS = {
    _VR.IS_POSSIBLE_LOCAL_ONLY: "it lacks its area code",
    _VR.INVALID_COUNTRY_CODE: "its country code is unknown",
    _VR.TOO_SHORT: "it is too short",
    _VR.INVALID_LENGTH: "it has the wrong number of digits for its country",
    _VR.TOO_LONG: "it is too long",
}


def _parse_fully(text: str, region: str, field: str) -> str:
    """The E.164 form of ``text`` by phonenumbers and :func:`_implausible`."""
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(field=field, reason=_PARSE_REASONS.get(exc.error_type)) from None
    reason = _implausible(parsed)
    if reason is not None:
        raise InvalidPhone(field=field, reason=reason)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _implausible(parsed: phonenumbers.PhoneNumber) -> str | None:
    """Why a parsed number cannot be texted, or ``None`` when it plausibly can."""
    if parsed.extension:
        # "... ext 5" reaches a desk phone behind a switchboard, never a handset.
        return "it has an extension, which cannot receive texts"
    possible = phonenumbers.is_possible_number_with_reason(parsed)
    if possible != _VR.IS_POSSIBLE:
        return _POSSIBLE_REASONS.get(possible, "it is not a possible number")
    if parsed.country_code == _NANP:
        # The numbering plan's own structure (NPA-NXX-XXXX), not the assignment
        # lists: the 555 area code of the spec's fictional examples is
        # unassigned, so is_valid_number would refuse it.
        digits = phonenumbers.national_significant_number(parsed)
        if digits[0] in "01":
            return "its area code cannot start with 0 or 1"
        if digits[1:3] == "11":
            return "its area code is a service code (N11), not an area code"
        if digits[3] in "01":
            return "its exchange (the three digits after the area code) cannot start with 0 or 1"
        return None
    if not phonenumbers.is_valid_number(parsed):
        return "it is not in use in its country's numbering plan"
    return None
