"""Rows <-> domain objects: one declared mapping per table, no ORM instrumentation.

A :class:`Mapping` pairs each attrs field of a domain class with a column of
the same name unless told otherwise, and converts the few values that are
not stored as they are (phone numbers as E.164 text, enums as their value,
a send's answer as JSON).
"""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from neariq_sms.adapters.sql.tables import (
    businesses,
    consent_events,
    consent_imports,
    consents,
    dashboard_sessions,
    inbound_messages,
    messages,
    sms_numbers,
)
from neariq_sms.domain.business import Business, DashboardSession, NumberStatus, SmsNumber
from neariq_sms.domain.consent import ConsentEvent, ConsentEventKind, ConsentImport, ConsentRecord
from neariq_sms.domain.messages import (
    InboundMessage,
    MessageKind,
    MessageStatus,
    OutboundMessage,
    SendAnswer,
)
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import Plan

T = TypeVar("T")
Convert = Callable[[Any], Any]


@attrs.frozen
class Stored:
    """How one field is stored: its column (default: the field's name) and the
    conversions to and from the column's value (default: none)."""

    column: str | None = None
    dump: Convert | None = None
    load: Convert | None = None


def _e164(phone: PhoneNumber) -> str:
    return phone.e164


def _value(member: Any) -> Any:
    return member.value


def _enum(enum: Callable[[Any], Any]) -> Stored:
    return Stored(dump=_value, load=enum)


def _phone(column: str | None = None) -> Stored:
    return Stored(column=column, dump=_e164, load=PhoneNumber)


def answer_text(answer: SendAnswer | None) -> str | None:
    if answer is None:
        return None
    values = attrs.asdict(answer)
    values["status"] = answer.status.value if answer.status else None
    return json.dumps(values, separators=(",", ":"))


def _text_to_answer(text: str | None) -> SendAnswer | None:
    if text is None:
        return None
    values = json.loads(text)
    status = values.pop("status", None)
    return SendAnswer(status=MessageStatus(status) if status else None, **values)


class Mapping(Generic[T]):
    """The columns of ``table`` for the fields of ``cls``; ``stored`` names the exceptions."""

    def __init__(self, cls: type[T], table: sa.Table, **stored: Stored) -> None:
        self.cls = cls
        self.table = table
        unknown = set(stored) - {field.name for field in attrs.fields(cls)}  # type: ignore[arg-type]
        if unknown:
            raise AssertionError(f"{cls.__name__} has no fields {sorted(unknown)}")
        self._fields: list[tuple[str, str, Convert | None, Convert | None]] = []
        for field in attrs.fields(cls):  # type: ignore[arg-type]
            how = stored.get(field.name, Stored())
            column = how.column or field.name
            if column not in table.c:
                raise AssertionError(f"{table.name} has no column {column!r}")
            self._fields.append((field.alias, column, how.dump, how.load))
        # Rows of ``select(table)`` (and ``RETURNING *table.c``) come in the table's
        # column order: read them by position, a plain tuple index per field.
        position = {column.name: i for i, column in enumerate(table.c)}
        self._width = len(table.c)
        self._plain = [
            (name, position[column]) for name, column, _, load in self._fields if load is None
        ]
        self._converted = [
            (name, position[column], load)
            for name, column, _, load in self._fields
            if load is not None
        ]
        self.columns = tuple(column for _, column, _, _ in self._fields)
        self._get = operator.attrgetter(*(name for name, _, _, _ in self._fields))
        self._driver: dict[str, list[tuple[int, Convert]]] = {}

    def values(self, obj: T) -> dict[str, Any]:
        """The row for ``obj``, keyed by column name."""
        return {
            column: getattr(obj, name) if dump is None else dump(getattr(obj, name))
            for name, column, dump, _ in self._fields
        }

    def driver_rows(self, objs: Iterable[T], dialect: Dialect) -> list[tuple[Any, ...]]:
        """Rows of :attr:`columns` for the driver itself (``executemany``, ``COPY``):
        each value converted, then bound as its column's type binds it on ``dialect``."""
        converters = self._driver.get(dialect.name)
        if converters is None:
            converters = self._driver[dialect.name] = [
                (i, convert)
                for i, (_, column, dump, _) in enumerate(self._fields)
                if (convert := _then(dump, _bind(self.table.c[column], dialect))) is not None
            ]
        rows = []
        for obj in objs:
            row = list(self._get(obj))
            for i, convert in converters:
                row[i] = convert(row[i])
            rows.append(tuple(row))
        return rows

    def load(self, row: sa.Row[Any] | tuple[Any, ...]) -> T:
        """The domain object of a row read with every column of the table (a
        plain tuple: those columns in the table's order)."""
        if len(row) == self._width:
            values = {name: row[i] for name, i in self._plain}
            for name, i, convert in self._converted:
                values[name] = convert(row[i])
            return self.cls(**values)
        if not isinstance(row, sa.Row):
            raise TypeError(f"{self.table.name}: {len(row)} values, not one per column")
        got = row._mapping
        return self.cls(
            **{
                name: got[column] if load is None else load(got[column])
                for name, column, _, load in self._fields
            }
        )


def _bind(column: sa.Column[Any], dialect: Dialect) -> Convert | None:
    """What SQLAlchemy does to a value of ``column`` before the driver sees it."""
    processor: Convert | None = column.type.dialect_impl(dialect).bind_processor(dialect)
    return processor


def _then(first: Convert | None, second: Convert | None) -> Convert | None:
    """``first`` then ``second``; a bind processor is cached (a bulk load binds
    the same few dates and sources over and over)."""
    if second is None:
        return first
    cached = functools.lru_cache(maxsize=4096)(second)
    if first is None:
        return cached
    return lambda value: cached(first(value))


BUSINESS = Mapping(Business, businesses, plan=_enum(Plan), active=Stored(load=bool))
NUMBER = Mapping(SmsNumber, sms_numbers, number=_phone(), status=_enum(NumberStatus))
CONSENT = Mapping(ConsentRecord, consents, phone=_phone())
CONSENT_IMPORT = Mapping(ConsentImport, consent_imports)
CONSENT_EVENT = Mapping(ConsentEvent, consent_events, phone=_phone(), kind=_enum(ConsentEventKind))
MESSAGE = Mapping(
    OutboundMessage,
    messages,
    to=_phone("to_phone"),
    from_=_phone("from_phone"),
    status=_enum(MessageStatus),
    kind=_enum(MessageKind),
    answer=Stored(dump=answer_text, load=_text_to_answer),
)
INBOUND = Mapping(
    InboundMessage, inbound_messages, from_=_phone("from_phone"), to=_phone("to_phone")
)
SESSION = Mapping(DashboardSession, dashboard_sessions)

__all__ = [
    "BUSINESS",
    "CONSENT",
    "CONSENT_EVENT",
    "CONSENT_IMPORT",
    "INBOUND",
    "MESSAGE",
    "NUMBER",
    "SESSION",
    "Mapping",
    "Stored",
    "answer_text",
]
