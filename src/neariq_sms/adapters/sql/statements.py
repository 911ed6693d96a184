"""What every repository's statements share: the dialect, status sets, key order,
and which constraint a failed write violated.

One way to pick the dialect (:meth:`Db.pick` over a :class:`PerDialect`
table, each dialect's entry built once, on its first use), one way to write a
set of statuses (:func:`one_of`).
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from neariq_sms.adapters.sql.driver import Read, listened, sqlite_rows
from neariq_sms.adapters.sql.tables import metadata

T = TypeVar("T")
#: Rows per statement when a repository is handed many keys at once.
CHUNK = 500
#: Rows per multi-row INSERT (:meth:`Db.insert_new_rows`).
ROWS_PER_INSERT = 500


@functools.cache  # Db.insert asks on every upsert
def dialect_insert(dialect: str) -> Callable[[sa.Table], Any]:
    """The INSERT of ``dialect``; both support ``ON CONFLICT`` and ``RETURNING``.

    Imported on first use: SQLAlchemy's PostgreSQL dialect loads all its drivers'
    modules, a tenth of a second of every SQLite process's start-up otherwise.
    """
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    raise KeyError(dialect)


class PerDialect(Generic[T]):
    """One statement per dialect, ``build(dialect_name)`` on its first use there.

    A statement built per call costs more Python time than SQLite takes to run
    it, so each is built once and bound per call; built on first use rather than
    at import, so that a process builds (and loads the modules of) only its own
    dialect's. Two threads that build at once make equal statements; either is kept.
    """

    __slots__ = ("_build", "_built")

    def __init__(self, build: Callable[[str], T]) -> None:
        self._build = build
        self._built: dict[str, T] = {}

    def __getitem__(self, dialect: str) -> T:
        try:
            return self._built[dialect]
        except KeyError:
            built = self._built[dialect] = self._build(dialect)
            return built


def per_dialect(build: Callable[[Callable[[sa.Table], Any]], T]) -> PerDialect[T]:
    """``build(insert)`` with each dialect's INSERT, on that dialect's first use."""
    return PerDialect(lambda dialect: build(dialect_insert(dialect)))


def one_of(column: sa.ColumnElement[str], values: Iterable[str]) -> sa.ColumnElement[bool]:
    """``column IN (values)`` for a fixed set: plain bound parameters, where ``in_()``
    would make SQLAlchemy re-render an expanding parameter on every execution."""
    return sa.or_(*(column == value for value in sorted(values)))


def sorts_before(
    at_column: sa.ColumnElement[Any], key_column: sa.ColumnElement[Any], key: tuple[Any, Any]
) -> sa.ColumnElement[bool]:
    """``(at_column, key_column) < key`` (values or bound parameters) as a row-value
    comparison: both engines seek the index to the key, where ``a < x OR (a = x AND
    b < y)`` makes them walk it from the start and filter (deep pages got slower)."""
    at, tie = key
    return sa.tuple_(at_column, key_column) < sa.tuple_(at, tie)


class Db:
    """One open connection and its dialect; ``read_only`` for a reading block's."""

    def __init__(self, connection: sa.Connection, *, read_only: bool = False) -> None:
        self.conn = connection
        self.dialect = connection.dialect.name
        self.read_only = read_only
        #: Whether reads go to the driver: asked once per block, on its first read
        #: (the check costs more than a session lookup's own SQLite time).
        self._direct: bool | None = None

    def pick(self, statements: PerDialect[T]) -> T:
        """This dialect's entry of a :class:`PerDialect` table."""
        return statements[self.dialect]

    def rows(self, statement: Read, params: Mapping[str, Any]) -> Sequence[Any]:
        """Every row of a read, as ``conn.execute(statement, params).all()`` gives them
        (by position); on SQLite straight through the driver (see :mod:`.driver`)."""
        if self._direct is None:
            self._direct = self.dialect == "sqlite" and not listened(self.conn)
        if self._direct:
            return sqlite_rows(self.conn, statement, params, read_only=self.read_only)
        return self.conn.execute(statement, params).all()

    def insert(self, table: sa.Table) -> Any:
        """An INSERT that supports ``ON CONFLICT`` on this dialect."""
        return dialect_insert(self.dialect)(table)

    def insert_rows(self, table: sa.Table, columns: Sequence[str], rows: list[Any]) -> None:
        """``executemany`` of driver rows (see ``Mapping.driver_rows``): no
        per-row statement processing, for bulk loads."""
        if not rows:
            return
        quote = self.conn.dialect.identifier_preparer.quote
        marker = "?" if self.dialect == "sqlite" else "%s"
        names = ", ".join(map(quote, columns))
        markers = ", ".join([marker] * len(columns))
        sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({markers})"  # noqa: S608 - our names
        self.conn.exec_driver_sql(sql, rows)

    def insert_new_rows(
        self,
        table: sa.Table,
        columns: Sequence[str],
        rows: list[Any],
        *,
        key: Sequence[str],
        answer: str,
    ) -> set[Any]:
        """Insert driver rows whose ``key`` is not stored yet (SQLite); the ``answer``
        column of each row inserted. Multi-row ``INSERT .. ON CONFLICT DO NOTHING
        RETURNING`` (``executemany`` cannot return rows)."""
        driver = self.conn.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)  # this path is SQLite's
        quote = self.conn.dialect.identifier_preparer.quote
        # A statement's compiled program grows with its rows: a few hundred keep it small.
        limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // len(columns)
        per_statement = max(1, min(ROWS_PER_INSERT, limit))
        head = f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) VALUES "  # noqa: S608 - our names
        tail = f" ON CONFLICT ({', '.join(map(quote, key))}) DO NOTHING RETURNING {quote(answer)}"
        one = f"({', '.join('?' * len(columns))})"
        added: set[Any] = set()
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            sql = head + ", ".join([one] * len(chunk)) + tail
            flat = [value for row in chunk for value in row]
            added.update(value for (value,) in self.conn.exec_driver_sql(sql, tuple(flat)))
        return added

    def guarded(self, statement: sa.Executable, params: Any = None) -> str | None:
        """Run a write in a savepoint; the name of the constraint it violated, if any.

        The savepoint keeps the transaction usable (PostgreSQL aborts a
        transaction on any error otherwise). Violations that name no
        constraint (foreign keys on SQLite) propagate.
        """
        try:
            with self.conn.begin_nested():
                self.conn.execute(statement, params)
        except IntegrityError as exc:
            name = violated(exc)
            if name is None:
                raise
            return name
        return None


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


def violated(exc: IntegrityError) -> str | None:
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


__all__ = [
    "CHUNK",
    "Db",
    "PerDialect",
    "dialect_insert",
    "one_of",
    "per_dialect",
    "sorts_before",
    "violated",
]
