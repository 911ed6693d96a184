"""Reading blocks never wait for writers (``uow.reading()``)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import sqlalchemy as sa

from neariq_sms.adapters.memory import InMemoryUnitOfWork
from neariq_sms.adapters.sql import SqlUnitOfWork
from neariq_sms.domain import Business, Plan
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
