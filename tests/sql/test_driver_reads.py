"""SQLite's hot reads go straight to the driver and answer what SQLAlchemy's execution would.

A session, its business, the business's number and the two conversation pages are read on the driver
connection (``adapters/sql/driver.py``) unless something listens to the
engine's statements, which then sees them go through SQLAlchemy. Both paths
must give the same domain objects, inside the block's one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from neariq_sms import usecases as uc
from neariq_sms.adapters.http.sessions import create_session, hash_token, resolve_session
from neariq_sms.adapters.memory import ManualClock, SimulatedTelephony
from neariq_sms.adapters.sql import SqlUnitOfWork
from neariq_sms.adapters.sql.driver import sqlite_rows
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.usecases.paging import parse_cursor
from tests.conftest import NOON_IN_AUSTIN
from tests.sql.backends import sqlite_engine
from tests.usecases.support import AUSTIN_NUMBER, CUSTOMER, OTHER_CUSTOMER, ready_business


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    made = sqlite_engine()
    yield made
    made.dispose()


@pytest.fixture
def reads(engine: sa.Engine) -> dict[str, Callable[[], Any]]:
    """Every read on the driver path, over threads of both directions (an opt-out
    among them), a reply, a session; each a function of the stored data only."""
    uow = SqlUnitOfWork(engine)
    telephony = SimulatedTelephony()
    clock = ManualClock(NOON_IN_AUSTIN)
    business = ready_business(uow, telephony, clock, consent=(CUSTOMER,))
    for n in range(7):
        clock.advance(timedelta(minutes=3))
        for phone in (CUSTOMER, OTHER_CUSTOMER):
            sid = f"SM{n}{phone[-1]}"
            uc.handle_inbound_message(AUSTIN_NUMBER, phone, f"Hi {n}, ça va? 🙂", sid,
                                      uow=uow, clock=clock)  # fmt: skip
        uc.send_reply(business.id, PhoneNumber(CUSTOMER), f"Reply {n}", uow=uow,
                      telephony=telephony, clock=clock)  # fmt: skip
    uc.handle_inbound_message(AUSTIN_NUMBER, OTHER_CUSTOMER, "STOP", "SMstop", uow=uow, clock=clock)
    token = create_session(business.id, uow=uow, clock=clock)
    first = uc.conversation_messages(business.id, PhoneNumber(CUSTOMER), None, 4, uow=uow)
    assert first.next_cursor is not None
    deeper = parse_cursor(first.next_cursor)
    threads = uc.list_conversations(business.id, None, 1, uow=uow, clock=clock)
    assert threads.next_cursor is not None
    later = parse_cursor(threads.next_cursor)

    def session() -> Any:
        with uow.reading():
            return uow.sessions.get(hash_token(token)), uow.sessions.get(hash_token("x" * 43))

    def business_by_id() -> Any:
        with uow.reading():
            return uow.businesses.get(business.id), uow.businesses.get("nobody")

    def number_held() -> Any:
        with uow:  # a writing block's read (a send's)
            return uow.numbers.holding(business.id), uow.numbers.holding("nobody")

    bare = uc.create_business("No number yet", "growth", uow=uow, clock=clock)

    def business_with_number() -> Any:
        with uow:  # a send's first read: held number, none (the join's NULLs), no business
            return (
                uow.businesses.with_number(business.id),
                uow.businesses.with_number(bare.id),
                uow.businesses.with_number("nobody"),
            )

    return {
        "session": session,
        "resolve": lambda: resolve_session(token, uow=uow, clock=clock),
        "business": business_by_id,
        "number": number_held,
        "business with number": business_with_number,
        "thread": lambda: uc.conversation_messages(business.id, PhoneNumber(CUSTOMER), None, 4,
                                                   uow=uow),
        "thread deeper": lambda: uc.conversation_messages(business.id, PhoneNumber(CUSTOMER),
                                                          deeper, 50, uow=uow),
        "threads": lambda: uc.list_conversations(business.id, None, 50, uow=uow, clock=clock),
        "threads later": lambda: uc.list_conversations(business.id, later, 50, uow=uow,
                                                       clock=clock),
    }  # fmt: skip


def _through_sqlalchemy(engine: sa.Engine, read: Callable[[], Any]) -> tuple[Any, list[str]]:
    """``read()`` while a statement listener watches: SQLAlchemy's path, and what it saw."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        return read(), seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


READS = [
    "session",
    "resolve",
    "business",
    "number",
    "business with number",
    "thread",
    "thread deeper",
    "threads",
    "threads later",
]


@pytest.mark.parametrize("name", READS)
def test_the_driver_path_reads_what_sqlalchemy_reads(
    engine: sa.Engine, reads: dict[str, Callable[[], Any]], name: str
) -> None:
    read = reads[name]
    expected, seen = _through_sqlalchemy(engine, read)
    assert any(s.lstrip().upper().startswith(("SELECT", "WITH")) for s in seen)
    assert read() == expected
    assert expected  # not an empty page: the comparison compares something


def test_a_driver_failure_is_a_sqlalchemy_database_error(
    engine: sa.Engine, reads: dict[str, Callable[[], Any]]
) -> None:
    """Callers (the CLI's messages, a host's handlers) tell database failures apart
    by SQLAlchemy's exception types, whichever path the read took."""
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE dashboard_sessions RENAME TO gone")
    with pytest.raises(sa.exc.OperationalError, match="dashboard_sessions"):
        reads["resolve"]()


def test_a_reading_block_is_one_snapshot_whichever_path_its_reads_take(engine: sa.Engine) -> None:
    """The driver's BEGIN opens the block's transaction; a read through SQLAlchemy
    after it joins that transaction (no second BEGIN, no newer snapshot)."""
    uow = SqlUnitOfWork(engine)
    clock = ManualClock(NOON_IN_AUSTIN)
    business = uc.create_business("Aster", "growth", uow=uow, clock=clock)
    with uow.reading():
        before = uow.businesses.get(business.id)  # the driver's path
        uc.change_plan(business.id, "pro", uow=SqlUnitOfWork(engine))
        [listed] = uow.businesses.list()  # SQLAlchemy's path, in the same transaction
    assert before is not None
    assert listed.plan == before.plan != uc.list_businesses(uow=uow)[0].plan


def test_a_reading_block_ends_its_transaction_before_the_pool_takes_the_connection(
    engine: sa.Engine,
) -> None:
    """A block whose reads all went to the driver rolls its BEGIN back itself: the
    pool's own reset (which a host may turn off) finds no transaction open."""
    uow = SqlUnitOfWork(engine)
    business = uc.create_business("Aster", "growth", uow=uow, clock=ManualClock(NOON_IN_AUSTIN))
    open_at_reset: list[bool] = []

    def note(dbapi_connection: Any, *_: Any) -> None:
        open_at_reset.append(dbapi_connection.in_transaction)

    event.listen(engine, "reset", note)
    try:
        with uow.reading():
            assert uow.businesses.get(business.id) is not None
    finally:
        event.remove(engine, "reset", note)
    assert open_at_reset == [False]


class _NullAsText(sa.types.TypeDecorator[str]):
    impl = sa.String
    cache_ok = True

    def process_result_value(self, value: str | None, dialect: sa.Dialect) -> str:
        return "none" if value is None else value


def test_a_column_type_that_reads_null_as_a_value_is_refused(engine: sa.Engine) -> None:
    """The driver path leaves NULL as None without calling the column's converter;
    a type that would make something of NULL is refused before any row is read."""
    statement = sa.select(sa.cast(sa.null(), _NullAsText).label("odd"))
    with engine.connect() as conn, pytest.raises(TypeError, match=r"'odd'.*NULL"):
        sqlite_rows(conn, statement, {}, read_only=True)
    with engine.connect() as conn:
        assert conn.execute(statement).all() == [("none",)]
