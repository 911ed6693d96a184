"""The conversation list and a thread page: how many statements they run, and that
each seeks its index to the page's cursor on both engines (issue 12: 1M messages)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import SystemClock
from neariq_sms.adapters.sql import SqlUnitOfWork
from neariq_sms.domain.phone import PhoneNumber
from tests.sql.backends import sqlite_engine

CURSOR = (datetime(2026, 3, 10, 17, 0, tzinfo=UTC), "+15557654321")
#: The tables a page reads, and the index each must seek on.
PAGE_INDEXES = {
    "conversations": "ix_conversations_business_id_last_message_at_phone",
    "messages": "ix_messages_business_id_to_phone_created_at_id",
    "inbound_messages": "ix_inbound_messages_business_id_from_phone_received_at_id",
}


@pytest.fixture
def uow(engine: sa.Engine) -> SqlUnitOfWork:
    return SqlUnitOfWork(engine)


def _selects(
    engine: sa.Engine, run: Callable[[], Any], kinds: tuple[str, ...] = ("SELECT", "WITH")
) -> list[tuple[str, Any]]:
    """The statements (with their parameters) ``run`` sends to ``engine`` that
    begin with one of ``kinds``: the reads by default."""
    seen: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(kinds):
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", note)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


def _plan(engine: sa.Engine, statement: str, params: Any) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            return "\n".join(str(row[-1]) for row in rows)
        # Empty tables: without this the planner rightly prefers a scan.
        conn.exec_driver_sql("SET enable_seqscan = off")
        return "\n".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {statement}", params))


@pytest.fixture
def pages(uow: SqlUnitOfWork) -> dict[str, Callable[[], Any]]:
    business = uc.create_business("Aster", "growth", uow=uow, clock=SystemClock())
    phone = PhoneNumber("+15557654321")
    return {
        "list": lambda: uc.list_conversations(business.id, CURSOR, uow=uow, clock=SystemClock()),
        "thread": lambda: uc.conversation_messages(business.id, phone, CURSOR, uow=uow),
    }


@pytest.mark.parametrize("page", ["list", "thread"])
def test_a_page_is_the_business_and_one_statement(
    engine: sa.Engine, pages: dict[str, Callable[[], Any]], page: str
) -> None:
    """The threads come with their consent records, a thread's two directions in
    one statement: every page costs two reads whatever its size."""
    assert len(_selects(engine, pages[page])) == 2


@pytest.mark.parametrize("page", ["list", "thread"])
def test_a_deep_page_seeks_its_index_to_the_cursor(
    engine: sa.Engine, pages: dict[str, Callable[[], Any]], page: str
) -> None:
    """``(at, key) < cursor`` is a row-value comparison: both engines start the
    index range at the cursor instead of walking every newer entry to reach it."""
    [_, (statement, params)] = _selects(engine, pages[page])
    plan = _plan(engine, statement, params)
    used = [name for table, name in PAGE_INDEXES.items() if f" {table} " in f" {statement} "]
    assert used
    for index in used:
        lines = [line for line in plan.splitlines() if index in line or "Index Cond" in line]
        if engine.dialect.name == "sqlite":
            [search] = [line for line in lines if index in line]
            assert search.startswith("SEARCH"), plan
            assert ")<(?,?)" in search, plan
        else:
            assert any("ROW(" in line and "Index Cond" in line for line in lines), plan
    assert "SCAN conversations" not in plan
    assert "Seq Scan" not in plan


@pytest.mark.parametrize("cursor", [None, CURSOR])
def test_sqlite_merges_a_threads_two_directions_in_index_order(cursor: Any) -> None:
    """On SQLite a thread page is one ``UNION ALL`` ordered and limited as a whole:
    each direction's rows come off its index newest first and are merged, so the
    read stops after the page. No sort, no second lookup of a row by its id: the
    keys-then-rows form took twice as long at a million messages."""
    engine = sqlite_engine()
    uow = SqlUnitOfWork(engine)
    business = uc.create_business("Aster", "growth", uow=uow, clock=SystemClock())
    phone = PhoneNumber("+15557654321")
    try:
        [_, (statement, params)] = _selects(
            engine, lambda: uc.conversation_messages(business.id, phone, cursor, uow=uow)
        )
        plan = _plan(engine, statement, params).splitlines()
    finally:
        engine.dispose()
    assert plan[0] == "MERGE (UNION ALL)", plan

    def seek(table: str, phone_column: str, at_column: str) -> str:
        seek_cursor = f" AND ({at_column},id)<(?,?)" if cursor else ""
        return (
            f"SEARCH {table} USING INDEX {PAGE_INDEXES[table]}"
            f" (business_id=? AND {phone_column}=?{seek_cursor})"
        )

    searches = [line for line in plan if line.startswith(("SEARCH", "SCAN"))]
    assert searches == [
        seek("messages", "to_phone", "created_at"),
        seek("inbound_messages", "from_phone", "received_at"),
    ], plan
    assert not [line for line in plan if "TEMP B-TREE" in line], plan


def test_a_claim_finds_its_batch_by_key_however_long_the_backlog() -> None:
    """The dispatcher's claim reads the batch off the ``(status, send_at)`` index
    and updates those rows by their key. It once also filtered the UPDATE by
    status, and SQLite then walked every scheduled row of the status index for
    each batch: 10,000 due messages took 13 ms a claim instead of 4, and a large
    backlog made dispatch quadratic. (SQLite only: PostgreSQL plans by its
    statistics, which an empty table does not have; on the dispatch bench's
    10,000 messages its plan joins the batch to ``pk_messages``.)"""
    engine = sqlite_engine()
    uow = SqlUnitOfWork(engine)

    def claim() -> None:
        with uow:
            uow.messages.claim_due(datetime.now(UTC), 100)

    try:
        [(statement, params)] = _selects(engine, claim, kinds=("UPDATE",))
        plan = _plan(engine, statement, params)
    finally:
        engine.dispose()
    searches = [line for line in plan.splitlines() if line.startswith(("SEARCH", "SCAN"))]
    assert any("(id=?)" in line for line in searches), plan
    # The status index only ever with the send time's bound: the batch itself.
    assert [line for line in searches if "ix_messages_status_send_at" in line] == [
        "SEARCH messages USING INDEX ix_messages_status_send_at (status=? AND send_at<?)"
    ], plan
