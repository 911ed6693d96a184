"""Listings a page at a time: the ``Page`` result and its opaque cursor."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Generic, TypeVar

import attrs

from neariq_sms.domain.errors import InvalidField

T = TypeVar("T")

DEFAULT_PAGE = 50
MAX_PAGE = 200

#: Where a page starts: the time and key of the last item of the page before.
Cursor = tuple[datetime, str]


@attrs.frozen
class Page(Generic[T]):
    """One page of a listing; ``next_cursor`` is ``None`` on the last page."""

    items: Sequence[T]
    next_cursor: str | None


def encode_cursor(at: datetime, key: str) -> str:
    """The opaque cursor of the page after an item at ``at`` with ``key``."""
    raw = json.dumps([at.isoformat(), key]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_cursor(raw: str | None, *, field: str = "cursor") -> Cursor | None:
    """A cursor :func:`encode_cursor` made; ``None`` or ``""`` is the first page.

    Raises:
        InvalidField: anything else.
    """
    if raw is None or raw == "":
        return None
    try:
        padded = raw + "=" * (-len(raw) % 4)
        at_text, key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(key, str) or not key.isprintable() or not at_text.isprintable():
            raise ValueError(raw)
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None:
            raise ValueError(raw)
        # In UTC, as stored: a date whose offset moves it out of range fails here,
        # not in the database. A cursor this API returned is a stored time.
        at = at.astimezone(UTC)
        if not _STORABLE_FROM <= at <= _STORABLE_UNTIL:
            raise ValueError(raw)
    except (ValueError, TypeError, AttributeError, OverflowError, binascii.Error, UnicodeError):
        raise InvalidField(field, "not a cursor this API returned") from None
    return at, key


#: The times a cursor can hold: every engine stores these (PostgreSQL from 4713 BC, SQLite as text).
_STORABLE_FROM = datetime(1, 1, 2, tzinfo=UTC)
_STORABLE_UNTIL = datetime(9999, 12, 30, tzinfo=UTC)


__all__ = ["DEFAULT_PAGE", "MAX_PAGE", "Cursor", "Page", "encode_cursor", "parse_cursor"]
