"""Phone numbers: parsed once with phonenumbers, then carried as E.164."""

from __future__ import annotations

import attrs
import phonenumbers
from phonenumbers import timezone as _pn_timezone

from neariq_sms.domain.errors import InvalidPhone

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

        A number is accepted when it parses and is *possible* for its region:
        the fictional 555 numbers of the spec pass, and the provider has the
        last word on reachability.
        """
        if not isinstance(raw, str) or not raw.strip() or len(raw) > 64:
            raise InvalidPhone(field=field)
        try:
            parsed = phonenumbers.parse(raw.strip(), region)
        except phonenumbers.NumberParseException:
            raise InvalidPhone(field=field) from None
        if not phonenumbers.is_possible_number(parsed):
            raise InvalidPhone(field=field)
        return cls(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))

    @property
    def national(self) -> str:
        """The number as its own country writes it, e.g. ``(512) 555-0123``."""
        return phonenumbers.format_number(
            phonenumbers.parse(self.e164), phonenumbers.PhoneNumberFormat.NATIONAL
        )

    def time_zones(self) -> tuple[str, ...]:
        """IANA zones phonenumbers maps this number to; empty when it knows none."""
        zones = _pn_timezone.time_zones_for_number(phonenumbers.parse(self.e164))
        return tuple(z for z in zones if z != _UNKNOWN_ZONE)

    def __str__(self) -> str:
        return self.e164
