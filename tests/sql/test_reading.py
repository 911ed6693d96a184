"""Reading blocks never wait for writers (``uow.reading()``)."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event

from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import SystemClock
from neariq_sms.adapters.memory import InMemoryUnitOfWork, SimulatedTelephony
from neariq_sms.adapters.sql import SqlUnitOfWork, make_engine, upgrade
from neariq_sms.domain import Business, Plan
from neariq_sms.domain.errors import MessageNotFound
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.ports import UnitOfWork

T0 = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)


def _read_while_a_writer_holds_its_transaction(uow: UnitOfWork) -> tuple[bool, Plan | None]:
    """(whether the read finished while the writer held its lock, the plan it read)."""
    with uow:
        uow.businesses.add(Business("b1", "Aster", Plan.GROWTH, T0))
        uow.commit()
    written = threading.Event()
    release = threading.Event()
    read: list[Plan | None] = []

    def writer() -> None:
        with uow:
            business = uow.businesses.get("b1", for_update=True)
            assert business is not None
            uow.businesses.update(business.with_plan(Plan.PRO))
            written.set()
            release.wait(10)
            uow.commit()

    def reader() -> None:
        with uow.reading():
            found = uow.businesses.get("b1")
            read.append(None if found is None else found.plan)

    holding = threading.Thread(target=writer)
    holding.start()
    assert written.wait(10)
    reading = threading.Thread(target=reader)
    reading.start()
    reading.join(5)
    finished = not reading.is_alive()
    release.set()
    holding.join(10)
    reading.join(40)
    return finished, read[0] if read else None


def test_a_get_does_not_wait_for_a_writing_transaction(engine: sa.Engine) -> None:
    """SQLite takes the write lock up front for writers only: a reading block
    reads the last committed state while a writer is mid-transaction."""
    finished, plan = _read_while_a_writer_holds_its_transaction(SqlUnitOfWork(engine))
    assert finished
    assert plan is Plan.GROWTH


def test_the_memory_adapter_accepts_reading_blocks() -> None:
    """``uow.reading()`` is part of the port: the in-memory adapter takes it too."""
    uow = InMemoryUnitOfWork()
    with uow:
        uow.businesses.add(Business("b1", "Aster", Plan.GROWTH, T0))
        uow.commit()
    with uow.reading():
        found = uow.businesses.get("b1")
    assert found is not None
    assert found.name == "Aster"


def test_every_read_only_use_case_reads_without_the_write_lock(tmp_path: Path) -> None:
    """On SQLite a writing block begins ``BEGIN IMMEDIATE`` and waits for (and
    blocks) every writer: what only reads must not open one."""
    engine = make_engine(f"sqlite:///{tmp_path / 'reads.db'}")
    upgrade(engine)
    uow, clock = SqlUnitOfWork(engine), SystemClock()
    business = uc.create_business("Aster", "growth", uow=uow, clock=clock).id
    phone = PhoneNumber("+15557654321")
    begun: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.upper().startswith("BEGIN"):
            begun.append(statement)

    reads = {
        "list_conversations": lambda: uc.list_conversations(business, uow=uow, clock=clock),
        "conversation_messages": lambda: uc.conversation_messages(business, phone, uow=uow),
        "list_reminders": lambda: uc.list_reminders(business, uow=uow),
        "get_consent": lambda: uc.get_consent(business, phone, uow=uow),
        "consent_history": lambda: uc.consent_history(business, phone, uow=uow),
        "list_consents": lambda: uc.list_consents(business, uow=uow),
        "get_status": lambda: uc.get_status(
            business, uow=uow, telephony=SimulatedTelephony(), clock=clock
        ),
        "list_businesses": lambda: uc.list_businesses(uow=uow),
    }
    writing = []
    event.listen(engine, "before_cursor_execute", note)
    try:
        for name, read in reads.items():
            begun.clear()
            read()
            if begun:
                writing.append(name)
        begun.clear()
        with contextlib.suppress(MessageNotFound):
            uc.get_message(business, "0" * 32, uow=uow)
        if begun:
            writing.append("get_message")
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert writing == []
