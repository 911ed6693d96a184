"""Raw input (JSON values, query strings, CLI and file text) into typed domain values.

Every function here is ``parse_<what>(raw, ...)`` and raises only
:class:`MissingField`, :class:`InvalidField` or :class:`InvalidPhone`, naming
the field. Callers that parse several fields keep the spec's order across
them: every :func:`parse_present` first (``missing_field``), then the
``invalid_field`` checks, then the phone numbers (``invalid_phone``).
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from neariq_sms.domain.consent import IMPORT, KEYWORD, PROVIDER, RESERVED_SOURCES
from neariq_sms.domain.errors import InvalidField, MissingField
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.review import MAX_CUSTOMER_NAME, PLACEHOLDERS

# --- presence and plain text ----------------------------------------------------


def parse_present(raw: object, field: str) -> object:
    """``raw`` itself, or ``MissingField`` when it is absent or blank text."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise MissingField(field)
    return raw


def parse_text(raw: object, field: str) -> str:
    """Present text, as given (``MissingField``; ``InvalidField`` when not a string)."""
    parse_present(raw, field)
    if not isinstance(raw, str):
        raise InvalidField(field, "must be a string")
    return raw


def parse_phone(raw: object, *, field: str, region: str) -> PhoneNumber:
    """A phone number in any common format (see :meth:`PhoneNumber.parse`);
    a :class:`PhoneNumber` is already parsed and returned as it is.

    Raises:
        MissingField, InvalidField (not a string), InvalidPhone.
    """
    if isinstance(raw, PhoneNumber):
        return raw
    return PhoneNumber.parse(parse_text(raw, field), region=region, field=field)


# --- numbers and keys -------------------------------------------------------------

#: A limit is a few digits; int() refuses more than 4,300 (and would work hard before).
_MAX_LIMIT_DIGITS = 9


def parse_limit(raw: object, *, default: int, maximum: int, field: str = "limit") -> int:
    """A page or result size, 1 to ``maximum``, as int or digits; ``None`` is ``default``."""
    if raw is None:
        return default
    if isinstance(raw, str):
        text = raw.strip()
        if text.isascii() and text.isdigit() and len(text) <= _MAX_LIMIT_DIGITS:
            raw = int(text)
    if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= maximum:
        raise InvalidField(field, f"must be a whole number from 1 to {maximum}")
    return raw


def parse_area_code(raw: object, *, field: str = "areaCode") -> str:
    """A NANP area code: three digits, not starting with 0 or 1."""
    if raw is None or raw == "":
        raise InvalidField(field, "is required for a search")
    text = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
    if len(text) != 3 or not text.isascii() or not text.isdigit() or text[0] in "01":
        raise InvalidField(field, "must be a three-digit area code")
    return text


MAX_IDEMPOTENCY_KEY = 200


def parse_idempotency_key(raw: object, *, field: str = "Idempotency-Key") -> str | None:
    """An optional idempotency key: printable, at most :data:`MAX_IDEMPOTENCY_KEY` characters."""
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidField(field, "must be a non-empty string")
    if len(raw) > MAX_IDEMPOTENCY_KEY or not raw.isprintable():
        raise InvalidField(field, f"must be printable and at most {MAX_IDEMPOTENCY_KEY} characters")
    return raw


# --- names, templates, zones ----------------------------------------------------------


def parse_customer_name(raw: object, *, field: str = "customerName") -> str:
    """1-60 characters after trimming, no control characters."""
    name = parse_text(raw, field).strip()
    if len(name) > MAX_CUSTOMER_NAME:
        raise InvalidField(field, f"must be at most {MAX_CUSTOMER_NAME} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InvalidField(field, "must not contain control characters")
    return name


def parse_template(raw: str, *, field: str = "review_template") -> str:
    """A review template using only the placeholders in ``review.PLACEHOLDERS``."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(raw) if name is not None}
    except ValueError as exc:
        raise InvalidField(field, str(exc)) from None
    unknown = fields - PLACEHOLDERS
    if unknown:
        raise InvalidField(field, f"unknown placeholders {sorted(unknown)}")
    return raw


def parse_timezone(raw: str, *, field: str = "timezone") -> str:
    """An IANA time zone name such as ``America/Chicago``."""
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidField(field, "not an IANA time zone") from None
    return raw


# --- consent sources -----------------------------------------------------------------

_SOURCE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def parse_source(raw: object, *, field: str = "source", reserved: bool = False) -> str:
    """A consent source: a short slug such as ``web_form`` or ``point_of_sale``.

    The library's own sources (:data:`~neariq_sms.domain.consent.RESERVED_SOURCES`)
    are refused unless ``reserved`` is true.
    """
    value = _slug(parse_text(raw, field))
    if value is None:
        raise InvalidField(field, "must be a short slug: a-z, 0-9 and _, at most 40 characters")
    if not reserved and value in RESERVED_SOURCES:
        raise InvalidField(field, f"{value!r} is reserved for the library's own records")
    return value


@functools.lru_cache(maxsize=1024)
def _slug(raw: str) -> str | None:
    # Imports repeat a handful of sources over millions of rows.
    value = raw.strip().lower()
    return value if _SOURCE.match(value) else None


#: The sources only the library itself writes: a file claiming one would forge the
#: audit trail (a customer's text, the carrier's report). ``import`` is the import's
#: own default, so a file may name it.
_NOT_FROM_A_FILE = frozenset({KEYWORD, PROVIDER})


def parse_import_source(raw: object, *, field: str = "source") -> str:
    """A consent source as people write it in a file, as a slug.

    Free text is accepted: accents are dropped and every run of other
    characters becomes ``_`` (``Paper form`` -> ``paper_form``, ``Front
    Desk`` -> ``front_desk``, ``point-of-sale`` -> ``point_of_sale``). The
    text must start with a letter (a formula such as ``=HYPERLINK(..)`` is
    no source) and be at most 40 characters as a slug. ``keyword`` and
    ``provider`` are refused, not mapped: only the library records a
    customer's text or a carrier's report, and a silent rewrite would hide
    the file's mistake. ``import`` is the import's own source and accepted.

    Raises:
        MissingField, InvalidField.
    """
    slug = _free_text_slug(parse_text(raw, field))
    if slug is None:
        raise InvalidField(
            field, "must name how consent was given: start with a letter, at most 40 characters"
        )
    if slug in _NOT_FROM_A_FILE:
        raise InvalidField(
            field,
            f"{slug!r} is recorded by the library itself, never imported; leave the cell"
            " empty to use the import's source",
        )
    if slug == IMPORT:
        return slug
    return parse_source(slug, field=field)


@functools.lru_cache(maxsize=1024)
def _free_text_slug(raw: str) -> str | None:
    # Imports repeat a handful of sources over millions of rows.
    text = unicodedata.normalize("NFKD", raw.strip())
    if not text[:1].isalpha():
        return None
    plain = text.encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")
    return slug if re.fullmatch(r"[a-z][a-z0-9_]{0,39}", slug) else None


# --- times ------------------------------------------------------------------------------


def parse_aware(raw: datetime, field: str) -> datetime:
    """A datetime that carries a time zone, in UTC."""
    if raw.tzinfo is None or raw.utcoffset() is None:
        raise InvalidField(field, "must carry a time zone")
    try:
        return raw.astimezone(UTC)
    except OverflowError:
        raise InvalidField(field, "is out of range") from None


def parse_timestamp(raw: object, *, field: str = "consentedAt") -> datetime | None:
    """ISO-8601 text or an aware datetime, in UTC; ``None`` or ``""`` is ``None``.

    A date alone means midnight UTC, a time without zone means UTC (what
    spreadsheets export).
    """
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        return parse_aware(raw, field)
    if not isinstance(raw, str):
        raise InvalidField(field, "must be an ISO-8601 timestamp")
    text = raw.strip(" ")
    if not text.isprintable():
        # fromisoformat takes any character as the date-time separator and
        # ignores some inside: a control or format character is no timestamp.
        raise InvalidField(field, "must be an ISO-8601 timestamp without control characters")
    try:
        value = datetime.fromisoformat(text)
        if len(text) == 10:
            value = datetime.combine(value.date(), time(0), tzinfo=UTC)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 with a positive offset
        raise InvalidField(field, "must be an ISO-8601 timestamp") from None


def parse_past_timestamp(
    raw: object, *, now: datetime, field: str = "consentedAt"
) -> datetime | None:
    """:func:`parse_timestamp`, refusing a time after ``now`` (consent cannot be given later)."""
    value = parse_timestamp(raw, field=field)
    if value is not None and value > now:
        raise InvalidField(field, "must not be in the future")
    return value


_MONTH_NAMES = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}  # fmt: skip
_TIME_OF_DAY = (
    r"(?:(?:[ T]+|,\s*)(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<sec>\d{2})(?:\.\d{1,6})?)?"
    r"\s*(?:(?P<half>[ap])\.?m\.?)?)?"
)
#: 01/05/2024, 1/5/24, 01-05-2024, 05.01.2024: day and month in the file's order.
_NUMERIC_DATE = re.compile(
    r"(?P<p>\d{1,2})(?P<sep>[/.-])(?P<q>\d{1,2})(?P=sep)(?P<year>\d{4}|\d{2})" + _TIME_OF_DAY,
    re.IGNORECASE,
)
#: 2024/01/05, 2024.01.05: a leading year is always followed by month, then day.
_YEAR_FIRST = re.compile(
    r"(?P<year>\d{4})(?P<sep>[/.])(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})" + _TIME_OF_DAY,
    re.IGNORECASE,
)
#: 5 Jan 2024, 05-Jan-24 (Excel's d-mmm-yy), Jan 5, 2024, January 5th 2024.
_DAY_MONTH_NAME = re.compile(
    r"(?P<day>\d{1,2})[ -](?P<name>[a-z]{3,9})\.?,?[ -](?P<year>\d{4}|\d{2})" + _TIME_OF_DAY,
    re.IGNORECASE,
)
_MONTH_NAME_DAY = re.compile(
    r"(?P<name>[a-z]{3,9})\.? (?P<day>\d{1,2})(?:st|nd|rd|th)?,? (?P<year>\d{4})" + _TIME_OF_DAY,
    re.IGNORECASE,
)


def parse_import_timestamp(
    raw: object, *, day_first: bool = False, field: str = "consented_at"
) -> datetime | None:
    """A consent date as spreadsheets write it; ``None`` for an empty cell.

    Accepted, besides everything :func:`parse_timestamp` takes (ISO 8601):

    - numeric dates ``01/05/2024``, ``1/5/24``, ``01-05-2024``, ``01.05.2024``:
      **month first** (US) unless ``day_first``; a two-digit year is 20YY;
    - ``2024/01/05`` (year, month, day);
    - a named English month: ``5 Jan 2024``, ``05-Jan-24``, ``Jan 5, 2024``,
      ``January 5th 2024`` (never ambiguous);
    - each optionally followed by a time: ``14:30``, ``14:30:15``, ``2:30 PM``.

    A time without a zone is UTC, as for :func:`parse_timestamp`. Nothing is
    guessed: in month-first order ``13/01/2024`` is rejected (the reason
    names the day-first option), never read as 13 January.

    Raises:
        InvalidField: anything else, with the reason.
    """
    if not isinstance(raw, str):
        return parse_timestamp(raw, field=field)
    text = raw.strip()
    if not text:
        return None
    try:
        return parse_timestamp(text, field=field)
    except InvalidField:
        pass
    value = _spreadsheet_date(text, day_first=day_first, field=field)
    if value is None:
        example = "05/01/2024 (day first)" if day_first else "01/05/2024 (month first)"
        raise InvalidField(
            field,
            f"must be a date such as 2024-01-05, {example} or Jan 5, 2024, with an optional time",
        )
    return value


def _spreadsheet_date(text: str, *, day_first: bool, field: str) -> datetime | None:
    if match := _NUMERIC_DATE.fullmatch(text):
        first, second = int(match["p"]), int(match["q"])
        day, month = (first, second) if day_first else (second, first)
        if month > 12 and day <= 12:
            order, option = (
                ("day first (DD/MM/YYYY), as asked", "")
                if day_first
                else ("month first (MM/DD/YYYY)", "; a day-first file needs the day-first option")
            )
            raise InvalidField(field, f"has no month {month}: dates are read {order}{option}")
    elif match := _YEAR_FIRST.fullmatch(text):
        day, month = int(match["day"]), int(match["month"])
    elif match := _DAY_MONTH_NAME.fullmatch(text) or _MONTH_NAME_DAY.fullmatch(text):
        found = _MONTH_NAMES.get(match["name"].lower())
        if found is None:
            return None
        day, month = int(match["day"]), found
    else:
        return None
    year = int(match["year"])
    if len(match["year"]) == 2:
        year += 2000  # SMS consent records start this century; a future date is refused later
    hour, minute, second = (int(match[g] or 0) for g in ("hour", "minute", "sec"))
    if match["half"]:
        if not 1 <= hour <= 12:
            raise InvalidField(field, "has an AM/PM hour outside 1-12")
        hour = hour % 12 + (12 if match["half"].lower() == "p" else 0)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise InvalidField(field, "is not a real date or time of day") from None


__all__ = [
    "MAX_IDEMPOTENCY_KEY",
    "parse_area_code",
    "parse_aware",
    "parse_customer_name",
    "parse_idempotency_key",
    "parse_import_source",
    "parse_import_timestamp",
    "parse_limit",
    "parse_past_timestamp",
    "parse_phone",
    "parse_present",
    "parse_source",
    "parse_template",
    "parse_text",
    "parse_timestamp",
    "parse_timezone",
]
