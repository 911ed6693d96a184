"""Engines for the two supported databases.

SQLite (a file, the embedded default) gets WAL, foreign keys, a busy timeout
and ``BEGIN IMMEDIATE`` transactions: a transaction takes the write lock up
front, so every read-then-write (check the consent, then consume the
allowance) runs serialised across processes, like the in-memory store.
PostgreSQL (``postgresql+psycopg://``) keeps its invariants with constraints,
conditional updates and ``SELECT .. FOR UPDATE``.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from neariq_sms.adapters.sql.urls import DEFAULT_URL

#: The execution option of a connection whose transaction only reads (``uow.reading()``).
READ_ONLY = "neariq_read_only"
#: How long a SQLite transaction waits for another process's write lock.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str = DEFAULT_URL, **kwargs: Any) -> sa.Engine:
    """An engine for ``url``: ``sqlite:///path.db`` or ``postgresql+psycopg://...``.

    Args:
        url: a SQLAlchemy URL. A SQLite URL must name a file: an in-memory
            SQLite database cannot be shared between the threads and
            processes a unit of work serves.
        kwargs: passed on to :func:`sqlalchemy.create_engine`.

    Raises:
        ValueError: for an in-memory SQLite URL or an unsupported backend.
    """
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:") or "mode=memory" in str(parsed.query):
            raise ValueError("SQLite storage needs a database file, e.g. sqlite:///neariq_sms.db")
        engine = sa.create_engine(parsed, **kwargs)
        _configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        return sa.create_engine(parsed, **kwargs)
    raise ValueError(f"unsupported database backend {backend!r}: use sqlite or postgresql")


def _configure_sqlite(engine: sa.Engine) -> None:
    # The pysqlite recipe of the SQLAlchemy docs ("Serializable isolation /
    # Savepoints / Transactional DDL"): stop the driver from issuing BEGIN
    # itself, then emit our own BEGIN IMMEDIATE whenever SQLAlchemy begins.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS:d}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # A reading block neither waits for the write lock nor holds it: WAL
        # gives it a snapshot, and GETs never queue behind writes.
        if connection.get_execution_options().get(READ_ONLY, False):
            # Straight to the driver: a deferred BEGIN takes no lock and cannot
            # fail busy, and it skips a statement's worth of Python per GET. A
            # read on the driver (driver.py) may have begun it already.
            driver = connection.connection.driver_connection
            assert isinstance(driver, sqlite3.Connection)  # an open connection
            if not driver.in_transaction:
                driver.execute("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


__all__ = ["DEFAULT_URL", "make_engine"]
