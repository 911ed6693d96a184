"""The sandbox provider's account in the application's database.

``SimulatedTelephony(state=SqlSandboxState(engine))`` is one simulated
provider for every process sharing the database (servers, ``dispatch``,
``reconcile``) and across restarts: a number bought through one process sends
through another, and reconciliation finds what any of them sent. Each method
is one short transaction of its own, never inside a unit of work's (a
provider call never is).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

import sqlalchemy as sa

from neariq_sms.adapters.memory.registry import RegistryObject, RegistryState
from neariq_sms.adapters.memory.telephony import SandboxState, SentSms
from neariq_sms.adapters.sql.engine import READ_ONLY
from neariq_sms.adapters.sql.statements import per_dialect
from neariq_sms.adapters.sql.tables import (
    sandbox_messages,
    sandbox_numbers,
    sandbox_registry_objects,
)
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.registration import StepState

# The unique number decides a purchase race between processes.
_BUY = per_dialect(
    lambda insert: (
        insert(sandbox_numbers)
        .on_conflict_do_nothing(index_elements=["number"])
        .returning(sandbox_numbers.c.sid)
    )
)

_OWNS = sa.select(sandbox_numbers.c.sid).where(sandbox_numbers.c.number == sa.bindparam("number"))
_KEPT = (
    "sid",
    "from_phone",
    "to_phone",
    "body",
    "sent_at",
    "message_id",
    "messaging_service_sid",
)
# One statement per send: kept only when the sender is held (no read first).
# RETURNING rather than rowcount: drivers disagree on an INSERT .. SELECT's.
_RECORD = (
    sandbox_messages.insert()
    .from_select(
        _KEPT,
        sa.select(*(sa.bindparam(n, type_=sandbox_messages.c[n].type) for n in _KEPT)).where(
            sa.exists().where(sandbox_numbers.c.number == sa.bindparam("from_phone"))
        ),
    )
    .returning(sandbox_messages.c.sid)
)


class SqlSandboxState:
    """A :class:`~neariq_sms.adapters.memory.SandboxState` in the ``sandbox_*`` tables.

    Needs the schema of :func:`~neariq_sms.adapters.sql.upgrade`. Share one
    instance between threads.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._buy = _BUY[engine.dialect.name]
        self._record_on_driver = (
            _SqliteRecorder(engine) if engine.dialect.name == "sqlite" else None
        )

    def __repr__(self) -> str:
        return f"SqlSandboxState({self.engine.url.render_as_string(hide_password=True)!r})"

    def owned(self) -> dict[str, PhoneNumber]:
        query = sa.select(sandbox_numbers.c.sid, sandbox_numbers.c.number).order_by(
            sandbox_numbers.c.number
        )
        with self.engine.connect() as conn:
            return {sid: PhoneNumber(number) for sid, number in conn.execute(query)}

    def owns(self, number: PhoneNumber) -> bool:
        # Asked on every send: a read that takes no write lock (SQLite), statement built once.
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            return conn.execute(_OWNS, {"number": number.e164}).first() is not None

    def taken(self, prefix: str) -> set[PhoneNumber]:
        # Prefixes are "+1" and digits (an area code already checked by the use case),
        # but escape LIKE's wildcards all the same.
        pattern = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = sa.select(sandbox_numbers.c.number).where(
            sandbox_numbers.c.number.like(pattern, escape="\\")
        )
        with self.engine.connect() as conn:
            return {PhoneNumber(n) for n in conn.execute(query).scalars()}

    def buy(self, sid: str, number: PhoneNumber) -> bool:
        with self.engine.begin() as conn:
            bought = conn.execute(self._buy, {"sid": sid, "number": number.e164}).first()
        return bought is not None

    def release(self, sid: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(sandbox_numbers).where(sandbox_numbers.c.sid == sid))

    def record(self, message: SentSms) -> bool:
        values = (
            message.sid,
            message.from_.e164,
            message.to.e164,
            message.body,
            message.sent_at,
            message.message_id,
            message.messaging_service_sid,
        )
        if self._record_on_driver is not None:
            return self._record_on_driver(values)
        # One statement, atomic on its own: PostgreSQL runs it without BEGIN and
        # COMMIT round trips.
        connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        with connection as conn:
            kept = conn.execute(_RECORD, dict(zip(_KEPT, values, strict=True)))
            return kept.first() is not None

    def sent(self) -> list[SentSms]:
        return self._messages(sa.true())

    def sent_between(
        self, from_: PhoneNumber, to: PhoneNumber, after: datetime, before: datetime
    ) -> list[SentSms]:
        c = sandbox_messages.c
        return self._messages(
            sa.and_(
                c.from_phone == from_.e164,
                c.to_phone == to.e164,
                c.sent_at >= after,
                c.sent_at <= before,
            )
        )

    def _messages(self, where: sa.ColumnElement[bool]) -> list[SentSms]:
        c = sandbox_messages.c
        query = (
            sa.select(
                c.sid, c.from_phone, c.to_phone, c.body, c.sent_at, c.message_id,
                c.messaging_service_sid,
            )
            .where(where)
            .order_by(c.sent_at, c.sid)
        )  # fmt: skip
        with self.engine.connect() as conn:
            return [
                SentSms(sid, PhoneNumber(from_), PhoneNumber(to), body, at, message_id, service)
                for sid, from_, to, body, at, message_id, service in conn.execute(query)
            ]


class _SqliteRecorder:
    """``_RECORD`` on SQLite, run on the pooled driver connection itself.

    Every send of ``dispatch --sandbox`` records one row: through SQLAlchemy's
    execution (checkout events, ``begin`` listener, compiled-statement lookup,
    result wrapping) that cost about as much Python time as the dispatcher's
    own work per message, so the simulated provider, not the library, set the
    sandbox's speed. Same statement, same bound values.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        compiled = _RECORD.compile(dialect=engine.dialect)
        self._sql = compiled.string
        order = compiled.positiontup
        assert order is not None  # SQLite's parameters are positional
        # The statement's parameters are the kept columns, then the sender again.
        self._positions = [_KEPT.index(name) for name in order]
        self._bind = [
            sandbox_messages.c[name]
            .type.dialect_impl(engine.dialect)
            .bind_processor(engine.dialect)
            for name in _KEPT
        ]

    def __call__(self, values: tuple[object, ...]) -> bool:
        bound = [v if bind is None else bind(v) for v, bind in zip(values, self._bind, strict=True)]
        params = tuple(bound[i] for i in self._positions)
        pooled = self._engine.raw_connection()
        try:
            driver = pooled.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            try:
                # One write statement in autocommit mode is its own transaction, and
                # SQLite takes the write lock at its start (as BEGIN IMMEDIATE would,
                # waiting busy_timeout for it): no BEGIN or COMMIT round trip. Every
                # row fetched: the statement, and so the lock, ends with the last.
                kept = driver.execute(self._sql, params).fetchall()
            except sqlite3.Error as exc:
                # As SQLAlchemy would raise it: callers tell database failures apart.
                raise sa.exc.DBAPIError.instance(self._sql, params, exc, sqlite3.Error) from exc
            return bool(kept)
        finally:
            pooled.close()


_OBJECT = sandbox_registry_objects.c


class SqlRegistryState:
    """A :class:`~neariq_sms.adapters.memory.registry.RegistryState` in the
    ``sandbox_registry_objects`` table: one simulated registry for every process
    on the database. Share one instance between threads."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def __repr__(self) -> str:
        return f"SqlRegistryState({self.engine.url.render_as_string(hide_password=True)!r})"

    def add(self, obj: RegistryObject) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sandbox_registry_objects.insert(),
                {"sid": obj.sid, "name": obj.name, "kind": obj.kind, "state": obj.state.value,
                 "polls": obj.polls, "parent": obj.parent},
            )  # fmt: skip

    def named(self, name: str) -> list[RegistryObject]:
        return self._objects(_OBJECT.name == name)

    def get(self, sid: str) -> RegistryObject | None:
        found = self._objects(_OBJECT.sid == sid)
        return found[0] if found else None

    def poll(self, sid: str) -> RegistryObject | None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(sandbox_registry_objects)
                .where(_OBJECT.sid == sid)
                .values(polls=_OBJECT.polls + 1)
            )
        return self.get(sid)

    def set_state(self, sid: str, state: StepState) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(sandbox_registry_objects)
                .where(_OBJECT.sid == sid)
                .values(state=state.value)
            )

    def remove(self, sid: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(sandbox_registry_objects).where(_OBJECT.sid == sid))

    def objects(self) -> list[RegistryObject]:
        return self._objects(sa.true())

    def _objects(self, where: sa.ColumnElement[bool]) -> list[RegistryObject]:
        query = (
            sa.select(_OBJECT.sid, _OBJECT.name, _OBJECT.kind, _OBJECT.state, _OBJECT.polls,
                      _OBJECT.parent)
            .where(where)
            .order_by(_OBJECT.sid)
        )  # fmt: skip
        with self.engine.connect() as conn:
            return [
                RegistryObject(sid, name, kind, StepState(state), polls, parent)
                for sid, name, kind, state, polls, parent in conn.execute(query)
            ]


def _conforms(state: SqlSandboxState) -> SandboxState:
    return state  # mypy proves the adapter satisfies the protocol


def _conforms_registry(state: SqlRegistryState) -> RegistryState:
    return state


__all__ = ["SqlRegistryState", "SqlSandboxState"]
