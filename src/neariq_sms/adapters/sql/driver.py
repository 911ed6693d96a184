"""The hottest reads on SQLite, run on the pooled driver connection itself.

A dashboard GET runs three short SELECTs (its session, its business, the
page). Through SQLAlchemy's execution (execution context, compiled-cache
lookup, result wrapping, ``Row`` objects) each costs 60-100 µs of Python
before and after SQLite's own 10-600 µs; at a million stored messages that
overhead was a third of a thread page. Here the statement is compiled once,
its parameters bound and its columns converted by the very processors of
its column types, so the rows are the values SQLAlchemy would have given.

The read runs inside the block's transaction, so a block's reads still share
one snapshot: a writing block's SQLAlchemy transaction (begun first when it is
not: ``BEGIN IMMEDIATE``), or in a reading block a deferred ``BEGIN`` on the
driver itself, which a later read through SQLAlchemy joins (see
``engine.py``) and the block's close rolls back. When anything
listens to the engine's statement events (tracing, a test that inspects
queries), the read goes through SQLAlchemy instead, so every statement stays
visible to them; that is asked when a block first reads, so a listener added
while a block is open sees the reads of the blocks opened after it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import sqlalchemy as sa

Convert = Callable[[Any], Any]
#: A read the driver path runs: a SELECT, or a UNION of them.
Read = sa.Select[Any] | sa.CompoundSelect[Any]


@attrs.frozen
class _Compiled:
    sql: str
    #: Each positional parameter: its name and the bind processor of its type.
    params: tuple[tuple[str, Convert | None], ...]
    #: Values of the parameters the statement carries itself (``LIMIT .. OFFSET 0``).
    fixed: Mapping[str, Any]
    #: (position, processor) of every result column whose type converts values.
    results: tuple[tuple[int, Convert], ...]


#: Compiled once per statement: the statements are module-level constants.
_COMPILED: dict[Read, _Compiled] = {}


def _compile(statement: Read, dialect: sa.Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    order = compiled.positiontup
    assert order is not None  # SQLite's parameters are positional
    binds = {
        name: compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        for name in set(order)
    }
    fixed = {name: b.effective_value for name, b in compiled.binds.items() if not b.required}
    results = []
    for position, column in enumerate(statement.selected_columns):
        processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if processor is not None:
            if processor(None) is not None:
                raise TypeError(f"column {column.name!r}: its type reads NULL as a value")
            results.append((position, processor))
    return _Compiled(
        sql=compiled.string,
        params=tuple((name, binds[name]) for name in order),
        fixed=fixed,
        results=tuple(results),
    )


def listened(connection: sa.Connection) -> bool:
    """Whether anything watches this connection's statements go to the driver."""
    dispatch = connection.dispatch
    return bool(dispatch.before_cursor_execute or dispatch.after_cursor_execute)


def sqlite_rows(
    connection: sa.Connection,
    statement: Read,
    params: Mapping[str, Any],
    *,
    read_only: bool,
) -> Sequence[tuple[Any, ...]]:
    """Every row of ``statement`` with ``params``, as ``execute(..).all()`` gives them;
    ``read_only``: the connection is a reading block's."""
    compiled = _COMPILED.get(statement)
    if compiled is None:
        compiled = _COMPILED[statement] = _compile(statement, connection.dialect)
    bound = []
    for name, bind in compiled.params:
        value = params[name] if name in params else compiled.fixed[name]
        bound.append(value if bind is None else bind(value))
    driver = connection.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    if read_only:
        # A reading block's deferred BEGIN, on the driver: SQLAlchemy's own begin and
        # rollback cost more than this read. Its close ends the transaction.
        if not driver.in_transaction:
            driver.execute("BEGIN")
    elif not connection.in_transaction():
        connection.begin()  # BEGIN IMMEDIATE, through the engine's own listener
    try:
        raw = driver.execute(compiled.sql, bound).fetchall()
    except sqlite3.Error as exc:
        # As SQLAlchemy would raise it: callers tell database failures apart.
        raise sa.exc.DBAPIError.instance(compiled.sql, bound, exc, sqlite3.Error) from exc
    if not compiled.results:
        return raw
    rows = []
    for row in raw:
        values = list(row)
        for position, convert in compiled.results:
            value = values[position]
            if value is not None:  # NULL is None whatever the type (checked in _compile)
                values[position] = convert(value)
        rows.append(tuple(values))
    return rows


__all__ = ["Read", "listened", "sqlite_rows"]
