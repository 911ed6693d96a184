"""Consent records and their append-only audit trail."""

from __future__ import annotations

import enum
import functools
import re
from datetime import datetime

import attrs

from neariq_sms.domain.errors import InvalidField, MissingField
from neariq_sms.domain.phone import PhoneNumber

_SOURCE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def validate_source(raw: object, *, field: str = "source") -> str:
    """A consent source is a short slug such as ``web_form`` or ``point_of_sale``."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise MissingField(field)
    if not isinstance(raw, str):
        raise InvalidField(field, "must be a string")
    value = _slug(raw)
    if value is None:
        raise InvalidField(field, "must be a short slug: a-z, 0-9 and _, at most 40 characters")
    return value


@functools.lru_cache(maxsize=1024)
def _slug(raw: str) -> str | None:
    # Imports repeat a handful of sources over millions of rows.
    value = raw.strip().lower()
    return value if _SOURCE.match(value) else None


@attrs.frozen
class ConsentRecord:
    """One business's record for one phone.

    ``consented_at`` is ``None`` for a phone that opted out without ever
    consenting (a STOP from an unknown number must still block later sends).
    """

    business_id: str
    phone: PhoneNumber
    source: str
    consented_at: datetime | None
    updated_at: datetime
    opted_out_at: datetime | None = None
    opt_out_source: str | None = None

    @property
    def opted_out(self) -> bool:
        return self.opted_out_at is not None

    @property
    def allows_sending(self) -> bool:
        return self.consented_at is not None and not self.opted_out

    def opt_out(self, *, source: str, now: datetime) -> ConsentRecord:
        return attrs.evolve(self, opted_out_at=now, opt_out_source=source, updated_at=now)

    def opt_in(self, *, source: str, now: datetime) -> ConsentRecord:
        """An explicit re-subscribe: consent is renewed now, newer than any opt-out."""
        return attrs.evolve(
            self,
            source=source,
            consented_at=now,
            opted_out_at=None,
            opt_out_source=None,
            updated_at=now,
        )


class ConsentEventKind(enum.Enum):
    CONSENTED = "consented"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"


@attrs.frozen
class ConsentEvent:
    """An entry of the audit trail: what happened to a consent, when, from where."""

    business_id: str
    phone: PhoneNumber
    kind: ConsentEventKind
    source: str
    at: datetime
