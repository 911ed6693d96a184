"""The SQL unit of work: repositories over SQLAlchemy Core, explicit mapping.

Every cross-process invariant is one constraint or one conditional
statement: the allowance is consumed by ``UPDATE .. WHERE used + n <= limit``,
statuses move by ``UPDATE .. WHERE status IN (..) RETURNING``, the
one-number rules are partial unique indexes. A violated constraint becomes
the domain error the in-memory adapter raises; the insert runs inside a
savepoint so the transaction stays usable (PostgreSQL aborts a transaction
on any error otherwise).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from neariq_sms.adapters._unit_of_work import ThreadLocalUnitOfWork
from neariq_sms.adapters.sql.engine import make_engine
from neariq_sms.adapters.sql.tables import (
    allowances,
    businesses,
    consent_events,
    consents,
    dashboard_sessions,
    inbound_messages,
    messages,
    metadata,
    sms_numbers,
)
from neariq_sms.domain.business import Business, DashboardSession, NumberStatus, SmsNumber
from neariq_sms.domain.consent import ConsentEvent, ConsentEventKind, ConsentRecord
from neariq_sms.domain.errors import (
    BusinessConflict,
    DuplicateNumber,
    IdempotencyConflict,
    NumberAlreadyProvisioned,
)
from neariq_sms.domain.messages import (
    NEVER_SENT,
    InboundMessage,
    MessageKind,
    MessageStatus,
    OutboundMessage,
    SendAnswer,
)
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import Plan
from neariq_sms.ports.storage import UnitOfWork

_HOLDING = (NumberStatus.PENDING.value, NumberStatus.ACTIVE.value)
#: Rows per statement when a repository is handed many keys at once.
_CHUNK = 500


# --- which constraint fired ------------------------------------------------------


def _sqlite_unique_names() -> dict[tuple[str, ...], str]:
    """SQLite names the columns of a violated unique key, not the key: map them back."""
    names: dict[tuple[str, ...], str] = {}
    for table in metadata.tables.values():
        keys: list[tuple[str, Collection[sa.Column[Any]]]] = [
            (str(table.primary_key.name), list(table.primary_key.columns))
        ]
        keys += [
            (str(c.name), list(c.columns))
            for c in table.constraints
            if isinstance(c, sa.UniqueConstraint)
        ]
        keys += [(str(i.name), list(i.columns)) for i in table.indexes if i.unique]
        for name, columns in keys:
            names[tuple(f"{table.name}.{col.name}" for col in columns)] = name
    return names


_SQLITE_UNIQUE = _sqlite_unique_names()
_SQLITE_MESSAGE = re.compile(r"^(UNIQUE|CHECK) constraint failed: (.+)$")


def _violated(exc: IntegrityError) -> str | None:
    """The name of the constraint an ``IntegrityError`` reports, when it names one."""
    diag = getattr(exc.orig, "diag", None)
    if diag is not None:  # psycopg
        name = getattr(diag, "constraint_name", None)
        return str(name) if name else None
    match = _SQLITE_MESSAGE.match(str(exc.orig))
    if match is None:
        return None
    kind, detail = match.groups()
    if kind == "CHECK":
        return detail
    return _SQLITE_UNIQUE.get(tuple(part.strip() for part in detail.split(",")))


class _Db:
    """One open connection and the dialect-specific statements it needs."""

    def __init__(self, connection: sa.Connection) -> None:
        self.conn = connection
        self.postgres = connection.dialect.name == "postgresql"

    def insert(self, table: sa.Table) -> Any:
        """An INSERT that supports ``ON CONFLICT`` on this dialect."""
        return postgresql.insert(table) if self.postgres else sqlite.insert(table)

    def guarded(self, statement: sa.Executable, params: Any = None) -> str | None:
        """Run a write in a savepoint; the name of the constraint it violated, if any.

        Violations that name no constraint (foreign keys on SQLite) propagate.
        """
        try:
            with self.conn.begin_nested():
                self.conn.execute(statement, params)
        except IntegrityError as exc:
            name = _violated(exc)
            if name is None:
                raise
            return name
        return None


# --- mapping -----------------------------------------------------------------------


def _business_values(business: Business) -> dict[str, Any]:
    return {
        "id": business.id,
        "name": business.name,
        "plan": business.plan.value,
        "created_at": business.created_at,
        "review_url": business.review_url,
        "timezone": business.timezone,
        "active": business.active,
        "review_template": business.review_template,
    }


def _row_to_business(row: sa.Row[Any]) -> Business:
    return Business(
        id=row.id,
        name=row.name,
        plan=Plan(row.plan),
        created_at=row.created_at,
        review_url=row.review_url,
        timezone=row.timezone,
        active=bool(row.active),
        review_template=row.review_template,
    )


def _number_values(number: SmsNumber) -> dict[str, Any]:
    return {
        "id": number.id,
        "business_id": number.business_id,
        "number": number.number.e164,
        "status": number.status.value,
        "created_at": number.created_at,
        "provider_sid": number.provider_sid,
        "friendly_name": number.friendly_name,
        "released_at": number.released_at,
    }


def _row_to_number(row: sa.Row[Any]) -> SmsNumber:
    return SmsNumber(
        id=row.id,
        business_id=row.business_id,
        number=PhoneNumber(row.number),
        status=NumberStatus(row.status),
        created_at=row.created_at,
        provider_sid=row.provider_sid,
        friendly_name=row.friendly_name,
        released_at=row.released_at,
    )


def _consent_values(record: ConsentRecord) -> dict[str, Any]:
    return {
        "business_id": record.business_id,
        "phone": record.phone.e164,
        "source": record.source,
        "consented_at": record.consented_at,
        "updated_at": record.updated_at,
        "opted_out_at": record.opted_out_at,
        "opt_out_source": record.opt_out_source,
    }


def _row_to_consent(row: sa.Row[Any]) -> ConsentRecord:
    return ConsentRecord(
        business_id=row.business_id,
        phone=PhoneNumber(row.phone),
        source=row.source,
        consented_at=row.consented_at,
        updated_at=row.updated_at,
        opted_out_at=row.opted_out_at,
        opt_out_source=row.opt_out_source,
    )


def _event_values(event: ConsentEvent) -> dict[str, Any]:
    return {
        "business_id": event.business_id,
        "phone": event.phone.e164,
        "kind": event.kind.value,
        "source": event.source,
        "at": event.at,
    }


def _row_to_event(row: sa.Row[Any]) -> ConsentEvent:
    return ConsentEvent(
        business_id=row.business_id,
        phone=PhoneNumber(row.phone),
        kind=ConsentEventKind(row.kind),
        source=row.source,
        at=row.at,
    )


def _message_values(message: OutboundMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "business_id": message.business_id,
        "to_phone": message.to.e164,
        "from_phone": message.from_.e164,
        "body": message.body,
        "segments": message.segments,
        "units": message.units,
        "period": message.period,
        "status": message.status.value,
        "created_at": message.created_at,
        "kind": message.kind.value,
        "idempotency_key": message.idempotency_key,
        "send_at": message.send_at,
        "provider_sid": message.provider_sid,
        "error_code": message.error_code,
        "updated_at": message.updated_at,
        "answer": _answer_text(message.answer),
    }


def _answer_text(answer: SendAnswer | None) -> str | None:
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


def _row_to_message(row: sa.Row[Any]) -> OutboundMessage:
    return OutboundMessage(
        id=row.id,
        business_id=row.business_id,
        to=PhoneNumber(row.to_phone),
        from_=PhoneNumber(row.from_phone),
        body=row.body,
        segments=row.segments,
        units=row.units,
        period=row.period,
        status=MessageStatus(row.status),
        created_at=row.created_at,
        kind=MessageKind(row.kind),
        idempotency_key=row.idempotency_key,
        send_at=row.send_at,
        provider_sid=row.provider_sid,
        error_code=row.error_code,
        updated_at=row.updated_at,
        answer=_text_to_answer(row.answer),
    )


def _inbound_values(message: InboundMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "business_id": message.business_id,
        "from_phone": message.from_.e164,
        "to_phone": message.to.e164,
        "body": message.body,
        "received_at": message.received_at,
        "provider_sid": message.provider_sid,
        "keyword": message.keyword,
    }


def _row_to_inbound(row: sa.Row[Any]) -> InboundMessage:
    return InboundMessage(
        id=row.id,
        business_id=row.business_id,
        from_=PhoneNumber(row.from_phone),
        to=PhoneNumber(row.to_phone),
        body=row.body,
        received_at=row.received_at,
        provider_sid=row.provider_sid,
        keyword=row.keyword,
    )


def _session_values(session: DashboardSession) -> dict[str, Any]:
    return {
        "token_hash": session.token_hash,
        "business_id": session.business_id,
        "created_at": session.created_at,
        "expires_at": session.expires_at,
    }


def _row_to_session(row: sa.Row[Any]) -> DashboardSession:
    return DashboardSession(
        token_hash=row.token_hash,
        business_id=row.business_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


def _before(
    at_column: sa.ColumnElement[Any], key_column: sa.ColumnElement[Any], key: tuple[datetime, str]
) -> sa.ColumnElement[bool]:
    """``(at_column, key_column) < key``, spelled so both engines use the index."""
    at, tie = key
    return sa.or_(at_column < at, sa.and_(at_column == at, key_column < tie))


# --- the statements of a send, built once ----------------------------------------------
# A statement built per call costs more Python time than SQLite takes to run
# it; these are built at import and only bound per call.


def _one_of(column: sa.ColumnElement[str], values: Iterable[str]) -> sa.ColumnElement[bool]:
    """``column IN (values)`` for a fixed set: plain bound parameters, where ``in_()``
    would make SQLAlchemy re-render an expanding parameter on every execution."""
    return sa.or_(*(column == value for value in sorted(values)))


_BUSINESS_BY_ID = sa.select(businesses).where(businesses.c.id == sa.bindparam("business_id"))
# SQLite renders no FOR UPDATE: its transactions take the write lock up front anyway.
_BUSINESS_BY_ID_FOR_UPDATE = _BUSINESS_BY_ID.with_for_update()
_NUMBER_HELD_BY_BUSINESS = sa.select(sms_numbers).where(
    sms_numbers.c.business_id == sa.bindparam("business_id"),
    _one_of(sms_numbers.c.status, _HOLDING),
)
_CONSENT_BY_KEY = sa.select(consents).where(
    consents.c.business_id == sa.bindparam("business_id"),
    consents.c.phone == sa.bindparam("phone"),
)
_CONSENT_BY_KEY_FOR_UPDATE = _CONSENT_BY_KEY.with_for_update()
_LATEST_REVIEW_REQUEST = sa.select(sa.func.max(messages.c.created_at)).where(
    messages.c.business_id == sa.bindparam("business_id"),
    messages.c.to_phone == sa.bindparam("phone"),
    messages.c.kind == MessageKind.REVIEW_REQUEST.value,
    sa.not_(_one_of(messages.c.status, (s.value for s in NEVER_SENT))),
)


def _consume(insert: Any) -> sa.Executable:
    """Create the month's row or add to it, only while ``used + units <= limit``: one statement."""
    upsert = insert(allowances).values(
        business_id=sa.bindparam("business_id"),
        period=sa.bindparam("period"),
        used=sa.bindparam("units"),
    )
    statement: sa.Executable = upsert.on_conflict_do_update(
        index_elements=["business_id", "period"],
        set_={"used": allowances.c.used + upsert.excluded.used},
        where=allowances.c.used + upsert.excluded.used <= sa.bindparam("limit"),
    ).returning(allowances.c.used)
    return statement


_CONSUME = {"postgresql": _consume(postgresql.insert), "sqlite": _consume(sqlite.insert)}
# ON CONFLICT DO NOTHING instead of a savepoint: a duplicate key leaves the
# transaction usable on PostgreSQL without the two extra round trips.
_ADD_MESSAGE = {
    "postgresql": postgresql.insert(messages).on_conflict_do_nothing().returning(messages.c.id),
    "sqlite": sqlite.insert(messages).on_conflict_do_nothing().returning(messages.c.id),
}


@functools.lru_cache(maxsize=256)
def _transition(allowed_from: frozenset[str], columns: frozenset[str]) -> sa.Executable:
    return (
        sa.update(messages)
        .where(
            messages.c.id == sa.bindparam("message_id"),
            _one_of(messages.c.status, allowed_from),
        )
        .values({name: sa.bindparam(f"new_{name}") for name in sorted(columns)})
        .returning(*messages.c)
    )


# --- repositories --------------------------------------------------------------------


class _Businesses:
    def __init__(self, db: _Db) -> None:
        self._db = db

    def add(self, business: Business) -> None:
        violated = self._db.guarded(businesses.insert(), _business_values(business))
        if violated == businesses.primary_key.name:
            raise BusinessConflict(business_id=business.id)
        if violated is not None:
            raise AssertionError(f"unexpected constraint {violated}")

    def get(self, business_id: str, *, for_update: bool = False) -> Business | None:
        query = _BUSINESS_BY_ID_FOR_UPDATE if for_update else _BUSINESS_BY_ID
        row = self._db.conn.execute(query, {"business_id": business_id}).first()
        return None if row is None else _row_to_business(row)

    def update(self, business: Business) -> None:
        values = _business_values(business)
        del values["id"]
        self._db.conn.execute(
            sa.update(businesses).where(businesses.c.id == business.id).values(values)
        )

    def list(self) -> Sequence[Business]:
        rows = self._db.conn.execute(
            sa.select(businesses).order_by(businesses.c.created_at, businesses.c.id)
        )
        return [_row_to_business(row) for row in rows]


class _Numbers:
    def __init__(self, db: _Db) -> None:
        self._db = db

    def _holding(self, condition: sa.ColumnElement[bool]) -> SmsNumber | None:
        row = self._db.conn.execute(
            sa.select(sms_numbers).where(condition, sms_numbers.c.status.in_(_HOLDING))
        ).first()
        return None if row is None else _row_to_number(row)

    def _check_slots(self, number: SmsNumber) -> None:
        """The memory adapter's order: the business's slot first, then the number's."""
        if not number.holds_slot:
            return
        rows = self._db.conn.execute(
            sa.select(sms_numbers.c.business_id, sms_numbers.c.number).where(
                sms_numbers.c.status.in_(_HOLDING),
                sms_numbers.c.id != number.id,
                sa.or_(
                    sms_numbers.c.business_id == number.business_id,
                    sms_numbers.c.number == number.number.e164,
                ),
            )
        ).all()
        if any(row.business_id == number.business_id for row in rows):
            raise NumberAlreadyProvisioned(number=number.number.e164)
        if rows:
            raise DuplicateNumber(number=number.number.e164)

    def _write(self, number: SmsNumber, statement: sa.Executable, params: Any) -> None:
        self._check_slots(number)
        violated = self._db.guarded(statement, params)
        if violated is None:
            return
        # A concurrent transaction took a slot after our check and committed:
        # the savepoint is rolled back, and a fresh read sees the winner.
        self._check_slots(number)
        if violated == "uq_sms_numbers_business_holds":
            raise NumberAlreadyProvisioned(number=number.number.e164)
        if violated == "uq_sms_numbers_number_held":
            raise DuplicateNumber(number=number.number.e164)
        raise AssertionError(f"unexpected constraint {violated}")

    def add(self, number: SmsNumber) -> None:
        self._write(number, sms_numbers.insert(), _number_values(number))

    def get(self, number_id: str) -> SmsNumber | None:
        row = self._db.conn.execute(
            sa.select(sms_numbers).where(sms_numbers.c.id == number_id)
        ).first()
        return None if row is None else _row_to_number(row)

    def holding(self, business_id: str) -> SmsNumber | None:
        row = self._db.conn.execute(_NUMBER_HELD_BY_BUSINESS, {"business_id": business_id}).first()
        return None if row is None else _row_to_number(row)

    def holder_of(self, number: PhoneNumber) -> SmsNumber | None:
        return self._holding(sms_numbers.c.number == number.e164)

    def rows_of(self, number: PhoneNumber) -> Sequence[SmsNumber]:
        # Read only for an opt-out; the partial index on number covers held rows only.
        rows = self._db.conn.execute(
            sa.select(sms_numbers)
            .where(sms_numbers.c.number == number.e164)
            .order_by(sms_numbers.c.created_at, sms_numbers.c.id)
        )
        return [_row_to_number(row) for row in rows]

    def update(self, number: SmsNumber) -> None:
        if self.get(number.id) is None:
            return
        values = _number_values(number)
        del values["id"]
        self._write(
            number, sa.update(sms_numbers).where(sms_numbers.c.id == number.id).values(values), None
        )

    def delete(self, number_id: str) -> None:
        self._db.conn.execute(sa.delete(sms_numbers).where(sms_numbers.c.id == number_id))

    def history(self, business_id: str) -> Sequence[SmsNumber]:
        rows = self._db.conn.execute(
            sa.select(sms_numbers)
            .where(sms_numbers.c.business_id == business_id)
            .order_by(sms_numbers.c.created_at, sms_numbers.c.id)
        )
        return [_row_to_number(row) for row in rows]

    def pending_before(self, cutoff: datetime) -> Sequence[SmsNumber]:
        rows = self._db.conn.execute(
            sa.select(sms_numbers)
            .where(
                sms_numbers.c.status == NumberStatus.PENDING.value,
                sms_numbers.c.created_at < cutoff,
            )
            .order_by(sms_numbers.c.created_at, sms_numbers.c.id)
        )
        return [_row_to_number(row) for row in rows]


class _Consents:
    def __init__(self, db: _Db) -> None:
        self._db = db

    def get(
        self, business_id: str, phone: PhoneNumber, *, for_update: bool = False
    ) -> ConsentRecord | None:
        # FOR UPDATE: PostgreSQL locks the row; SQLite ignores it (BEGIN
        # IMMEDIATE already holds the database's write lock).
        query = _CONSENT_BY_KEY_FOR_UPDATE if for_update else _CONSENT_BY_KEY
        row = self._db.conn.execute(
            query, {"business_id": business_id, "phone": phone.e164}
        ).first()
        return None if row is None else _row_to_consent(row)

    def get_many(
        self, business_id: str, phones: Collection[PhoneNumber], *, for_update: bool = False
    ) -> Mapping[PhoneNumber, ConsentRecord]:
        wanted = sorted(p.e164 for p in phones)  # one lock order for every importer
        found: dict[PhoneNumber, ConsentRecord] = {}
        for start in range(0, len(wanted), _CHUNK):
            query = sa.select(consents).where(
                consents.c.business_id == business_id,
                consents.c.phone.in_(wanted[start : start + _CHUNK]),
            )
            if for_update:
                query = query.order_by(consents.c.phone).with_for_update()
            rows = self._db.conn.execute(query)
            for row in rows:
                record = _row_to_consent(row)
                found[record.phone] = record
        return found

    def add_or_lock(self, records: Sequence[ConsentRecord]) -> Mapping[PhoneNumber, ConsentRecord]:
        if not records:
            return {}
        # Sorted: one lock order for every writer, so two batches never deadlock.
        ordered = sorted(records, key=lambda r: r.phone.e164)
        # ON CONFLICT DO NOTHING waits for a concurrent inserter of the same
        # key to end, then skips: no unique-key error, no aborted transaction.
        statement = (
            self._db.insert(consents)
            .on_conflict_do_nothing(index_elements=["business_id", "phone"])
            .returning(consents.c.phone)
        )
        inserted = set(
            self._db.conn.execute(statement, [_consent_values(r) for r in ordered]).scalars()
        )
        business_id = records[0].business_id
        stored = [r.phone for r in ordered if r.phone.e164 not in inserted]
        # Rows are never deleted, so every skipped insert has a committed row to
        # lock; READ COMMITTED reads it as it is once the lock is held.
        return self.get_many(business_id, stored, for_update=True)

    def update_many(self, records: Sequence[ConsentRecord]) -> None:
        if not records:
            return
        statement = (
            sa.update(consents)
            .where(
                consents.c.business_id == sa.bindparam("key_business_id"),
                consents.c.phone == sa.bindparam("key_phone"),
            )
            .values(
                source=sa.bindparam("source"),
                consented_at=sa.bindparam("consented_at"),
                updated_at=sa.bindparam("updated_at"),
                opted_out_at=sa.bindparam("opted_out_at"),
                opt_out_source=sa.bindparam("opt_out_source"),
            )
        )
        params = []
        for record in records:
            values = _consent_values(record)
            values["key_business_id"] = values.pop("business_id")
            values["key_phone"] = values.pop("phone")
            params.append(values)
        self._db.conn.execute(statement, params)

    def append_events(self, events: Sequence[ConsentEvent]) -> None:
        if events:
            self._db.conn.execute(consent_events.insert(), [_event_values(e) for e in events])

    def events(self, business_id: str, phone: PhoneNumber) -> Sequence[ConsentEvent]:
        rows = self._db.conn.execute(
            sa.select(consent_events)
            .where(
                consent_events.c.business_id == business_id,
                consent_events.c.phone == phone.e164,
            )
            .order_by(consent_events.c.id)
        )
        return [_row_to_event(row) for row in rows]

    def page(
        self, business_id: str, *, after: tuple[datetime, str] | None, limit: int
    ) -> Sequence[ConsentRecord]:
        query = sa.select(consents).where(consents.c.business_id == business_id)
        if after is not None:
            query = query.where(_before(consents.c.updated_at, consents.c.phone, after))
        query = query.order_by(consents.c.updated_at.desc(), consents.c.phone.desc()).limit(limit)
        return [_row_to_consent(row) for row in self._db.conn.execute(query)]

    def in_phone_order(
        self, business_id: str, *, after: str | None, limit: int
    ) -> Sequence[ConsentRecord]:
        query = sa.select(consents).where(consents.c.business_id == business_id)
        if after is not None:
            query = query.where(consents.c.phone > after)
        rows = self._db.conn.execute(query.order_by(consents.c.phone).limit(limit))
        return [_row_to_consent(row) for row in rows]


class _Allowances:
    def __init__(self, db: _Db) -> None:
        self._db = db

    def _key(self, business_id: str, period: str) -> sa.ColumnElement[bool]:
        return sa.and_(allowances.c.business_id == business_id, allowances.c.period == period)

    def used(self, business_id: str, period: str) -> int:
        used = self._db.conn.execute(
            sa.select(allowances.c.used).where(self._key(business_id, period))
        ).scalar_one_or_none()
        return 0 if used is None else int(used)

    def try_consume(self, business_id: str, period: str, units: int, limit: int) -> bool:
        if units > limit:
            return False  # the upsert's first insert checks no limit
        # The one conditional statement: the row lock (PostgreSQL) or the
        # database write lock (SQLite) makes check and add a single step.
        consumed = self._db.conn.execute(
            _CONSUME["postgresql" if self._db.postgres else "sqlite"],
            {"business_id": business_id, "period": period, "units": units, "limit": limit},
        )
        return consumed.first() is not None

    def give_back(self, business_id: str, period: str, units: int) -> None:
        if units == 0:
            return
        returned = self._db.conn.execute(
            sa.update(allowances)
            .where(self._key(business_id, period), allowances.c.used >= units)
            .values(used=allowances.c.used - units)
            .returning(allowances.c.used)
        )
        if returned.first() is None:
            raise ValueError("cannot give back more units than were used")


class _Messages:
    def __init__(self, db: _Db) -> None:
        self._db = db

    def _one(self, condition: sa.ColumnElement[bool]) -> OutboundMessage | None:
        row = self._db.conn.execute(sa.select(messages).where(condition).limit(1)).first()
        return None if row is None else _row_to_message(row)

    def add(self, message: OutboundMessage) -> None:
        key = message.idempotency_key
        statement = _ADD_MESSAGE["postgresql" if self._db.postgres else "sqlite"]
        if self._db.conn.execute(statement, _message_values(message)).first() is not None:
            return
        if key is not None and self.by_idempotency_key(message.business_id, key) is not None:
            raise IdempotencyConflict(key=key)
        raise ValueError(f"duplicate message id {message.id}")

    def get(self, message_id: str) -> OutboundMessage | None:
        return self._one(messages.c.id == message_id)

    def by_idempotency_key(self, business_id: str, key: str) -> OutboundMessage | None:
        return self._one(
            sa.and_(messages.c.business_id == business_id, messages.c.idempotency_key == key)
        )

    def by_provider_sid(self, provider_sid: str) -> OutboundMessage | None:
        return self._one(messages.c.provider_sid == provider_sid)

    def transition(
        self,
        message_id: str,
        *,
        allowed_from: Collection[MessageStatus],
        to: MessageStatus,
        now: datetime,
        provider_sid: str | None = None,
        error_code: int | None = None,
        units: int | None = None,
    ) -> OutboundMessage | None:
        values: dict[str, Any] = {"status": to.value, "updated_at": now}
        if provider_sid is not None:
            values["provider_sid"] = provider_sid
        if error_code is not None:
            values["error_code"] = error_code
        if units is not None:
            values["units"] = units
        statement = _transition(frozenset(s.value for s in allowed_from), frozenset(values))
        params = {f"new_{name}": value for name, value in values.items()}
        params["message_id"] = message_id
        row = self._db.conn.execute(statement, params).first()
        return None if row is None else _row_to_message(row)

    def record_answer(self, message_id: str, answer: SendAnswer) -> None:
        self._db.conn.execute(
            sa.update(messages)
            .where(messages.c.id == message_id, messages.c.answer.is_(None))
            .values(answer=_answer_text(answer))
        )

    def forget_idempotency_key(self, message_id: str) -> None:
        self._db.conn.execute(
            sa.update(messages).where(messages.c.id == message_id).values(idempotency_key=None)
        )

    def latest_review_request_at(self, business_id: str, to: PhoneNumber) -> datetime | None:
        latest: datetime | None = self._db.conn.execute(
            _LATEST_REVIEW_REQUEST, {"business_id": business_id, "phone": to.e164}
        ).scalar_one()
        return latest

    def due(self, now: datetime, limit: int) -> Sequence[OutboundMessage]:
        rows = self._db.conn.execute(
            sa.select(messages)
            .where(
                messages.c.status == MessageStatus.SCHEDULED.value,
                messages.c.send_at <= now,
            )
            .order_by(messages.c.send_at, messages.c.id)
            .limit(limit)
        )
        return [_row_to_message(row) for row in rows]

    def scheduled_for(self, business_id: str) -> Sequence[OutboundMessage]:
        rows = self._db.conn.execute(
            sa.select(messages)
            .where(
                messages.c.business_id == business_id,
                messages.c.status == MessageStatus.SCHEDULED.value,
            )
            .order_by(messages.c.created_at, messages.c.id)
        )
        return [_row_to_message(row) for row in rows]

    def for_recipient(
        self,
        business_id: str,
        phone: PhoneNumber,
        *,
        before: tuple[datetime, str] | None,
        limit: int,
    ) -> Sequence[OutboundMessage]:
        query = sa.select(messages).where(
            messages.c.business_id == business_id, messages.c.to_phone == phone.e164
        )
        if before is not None:
            query = query.where(_before(messages.c.created_at, messages.c.id, before))
        query = query.order_by(messages.c.created_at.desc(), messages.c.id.desc()).limit(limit)
        return [_row_to_message(row) for row in self._db.conn.execute(query)]

    def for_business(self, business_id: str) -> Sequence[OutboundMessage]:
        rows = self._db.conn.execute(
            sa.select(messages)
            .where(messages.c.business_id == business_id)
            .order_by(messages.c.created_at, messages.c.id)
        )
        return [_row_to_message(row) for row in rows]

    def submitting_before(self, cutoff: datetime, limit: int) -> Sequence[OutboundMessage]:
        since = sa.func.coalesce(messages.c.updated_at, messages.c.created_at)
        rows = self._db.conn.execute(
            sa.select(messages)
            .where(messages.c.status == MessageStatus.SUBMITTING.value, since < cutoff)
            .order_by(since, messages.c.id)
            .limit(limit)
        )
        return [_row_to_message(row) for row in rows]


class _Inbound:
    def __init__(self, db: _Db) -> None:
        self._db = db

    def add(self, message: InboundMessage) -> bool:
        stored = self._db.conn.execute(
            self._db.insert(inbound_messages)
            .values(_inbound_values(message))
            .on_conflict_do_nothing(index_elements=["provider_sid"])
            .returning(inbound_messages.c.id)
        )
        # RETURNING rather than rowcount: drivers disagree on the rowcount of
        # an insert that ON CONFLICT skipped.
        return stored.first() is not None

    def for_sender(
        self,
        business_id: str,
        phone: PhoneNumber,
        *,
        before: tuple[datetime, str] | None,
        limit: int,
    ) -> Sequence[InboundMessage]:
        t = inbound_messages
        query = sa.select(t).where(t.c.business_id == business_id, t.c.from_phone == phone.e164)
        if before is not None:
            query = query.where(_before(t.c.received_at, t.c.id, before))
        query = query.order_by(t.c.received_at.desc(), t.c.id.desc()).limit(limit)
        return [_row_to_inbound(row) for row in self._db.conn.execute(query)]


class _Sessions:
    def __init__(self, db: _Db) -> None:
        self._db = db

    def add(self, session: DashboardSession) -> None:
        values = _session_values(session)
        self._db.conn.execute(
            self._db.insert(dashboard_sessions)
            .values(values)
            .on_conflict_do_update(
                index_elements=["token_hash"],
                set_={k: v for k, v in values.items() if k != "token_hash"},
            )
        )

    def get(self, token_hash: str) -> DashboardSession | None:
        row = self._db.conn.execute(
            sa.select(dashboard_sessions).where(dashboard_sessions.c.token_hash == token_hash)
        ).first()
        return None if row is None else _row_to_session(row)

    def delete(self, token_hash: str) -> None:
        self._db.conn.execute(
            sa.delete(dashboard_sessions).where(dashboard_sessions.c.token_hash == token_hash)
        )

    def delete_for_business(self, business_id: str) -> int:
        result = self._db.conn.execute(
            sa.delete(dashboard_sessions).where(dashboard_sessions.c.business_id == business_id)
        )
        return int(result.rowcount)


class _Open:
    """The connection and repositories of one thread's open block."""

    def __init__(self, connection: sa.Connection) -> None:
        self.db = _Db(connection)
        self.businesses = _Businesses(self.db)
        self.numbers = _Numbers(self.db)
        self.consents = _Consents(self.db)
        self.allowances = _Allowances(self.db)
        self.messages = _Messages(self.db)
        self.inbound = _Inbound(self.db)
        self.sessions = _Sessions(self.db)

    def commit(self) -> None:
        if self.db.conn.in_transaction():
            self.db.conn.commit()

    def rollback(self) -> None:
        if self.db.conn.in_transaction():
            self.db.conn.rollback()

    def close(self) -> None:
        try:
            self.rollback()
        finally:
            self.db.conn.close()


class SqlUnitOfWork(ThreadLocalUnitOfWork):
    """A unit of work over a SQLAlchemy engine. Share one instance between threads.

    ``with uow:`` takes a connection for the current thread; its transaction
    begins with the first statement (``BEGIN IMMEDIATE`` on SQLite). Leaving
    the block rolls back whatever was not committed and returns the
    connection to the pool.
    """

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__()
        self.engine = engine

    @classmethod
    def from_url(cls, url: str) -> SqlUnitOfWork:
        """A unit of work on a new engine for ``url`` (see :func:`make_engine`)."""
        return cls(make_engine(url))

    def __repr__(self) -> str:
        return f"SqlUnitOfWork({self.engine.url.render_as_string(hide_password=True)!r})"

    def _begin(self) -> _Open:
        return _Open(self.engine.connect())


def _conforms(uow: SqlUnitOfWork) -> UnitOfWork:
    return uow  # mypy proves the adapter satisfies the port


__all__ = ["SqlUnitOfWork"]
