"""The SQL unit of work: one connection per thread's block, repositories over it.

Every cross-process invariant is one constraint or one conditional statement
(see the repositories); a violated constraint becomes the domain error the
in-memory adapter raises.
"""

from __future__ import annotations

import sqlalchemy as sa

from neariq_sms.adapters._unit_of_work import ThreadLocalUnitOfWork
from neariq_sms.adapters.sql.engine import READ_ONLY, make_engine
from neariq_sms.adapters.sql.repositories import (
    SqlAllowances,
    SqlBusinesses,
    SqlConsents,
    SqlConversations,
    SqlInbound,
    SqlMessages,
    SqlNumbers,
    SqlRegistrations,
    SqlSessions,
)
from neariq_sms.adapters.sql.statements import Db
from neariq_sms.ports.storage import UnitOfWork


class _Open:
    """The connection and repositories of one thread's open block."""

    def __init__(self, connection: sa.Connection, *, read_only: bool = False) -> None:
        self.db = Db(connection, read_only=read_only)
        self.businesses = SqlBusinesses(self.db)
        self.numbers = SqlNumbers(self.db)
        self.consents = SqlConsents(self.db)
        self.allowances = SqlAllowances(self.db)
        self.conversations = SqlConversations(self.db)
        self.messages = SqlMessages(self.db, self.conversations)
        self.inbound = SqlInbound(self.db, self.conversations)
        self.sessions = SqlSessions(self.db)
        self.registrations = SqlRegistrations(self.db)

    def commit(self) -> None:
        # Thread rows last: the lock order of ports.storage.
        self.conversations.flush()
        if self.db.conn.in_transaction():
            self.db.conn.commit()

    def rollback(self) -> None:
        self.conversations.discard()
        if self.db.conn.in_transaction():
            self.db.conn.rollback()
        elif self.db.read_only and self.db.dialect == "sqlite":
            # A reading block whose reads all went to the driver (driver.py) began
            # its transaction there: end it there (a no-op when there is none).
            driver = self.db.conn.connection.driver_connection
            if driver is not None:
                driver.rollback()

    def close(self) -> None:
        try:
            self.rollback()
        finally:
            self.db.conn.close()


class SqlUnitOfWork(ThreadLocalUnitOfWork):
    """A unit of work over a SQLAlchemy engine. Share one instance between threads.

    ``with uow:`` takes a connection for the current thread; its transaction
    begins with the first statement (``BEGIN IMMEDIATE`` on SQLite; a plain,
    deferred ``BEGIN`` in ``uow.reading()``). Leaving
    the block rolls back whatever was not committed and returns the
    connection to the pool.
    """

    def __init__(self, engine: sa.Engine) -> None:
        super().__init__()
        self.engine = engine
        # The reading blocks' engine: the same pool, the option set once rather
        # than on every block's connection (a GET opens one or two blocks).
        self._reading = engine.execution_options(**{READ_ONLY: True})

    @classmethod
    def from_url(cls, url: str) -> SqlUnitOfWork:
        """A unit of work on a new engine for ``url`` (see :func:`make_engine`)."""
        return cls(make_engine(url))

    def __repr__(self) -> str:
        return f"SqlUnitOfWork({self.engine.url.render_as_string(hide_password=True)!r})"

    def _begin(self, *, read_only: bool) -> _Open:
        connection = (self._reading if read_only else self.engine).connect()
        return _Open(connection, read_only=read_only)


def _conforms(uow: SqlUnitOfWork) -> UnitOfWork:
    return uow  # mypy proves the adapter satisfies the port


__all__ = ["SqlUnitOfWork"]
