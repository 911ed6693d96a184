"""The SQL storage backends of ``tests/backends.py``: SQLite files and PostgreSQL schemas.

Both are cheap per call, so a hypothesis state machine can ask for fresh
storage in every example:

- SQLite: the schema is migrated once per test process into a template file;
  a new database is a copy of it.
- PostgreSQL (``NEARIQ_SMS_TEST_POSTGRES_URL``): a new database is a new
  migrated schema. Without the URL the tests skip, except with ``CI=true``,
  where they fail.

A database returns to a pool when the unit of work over it is garbage, and is
emptied with DELETEs before it is handed out again: two units of work alive at
the same time never share tables.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from neariq_sms.adapters.sql import SqlUnitOfWork, make_engine, metadata, upgrade
from neariq_sms.ports import UnitOfWork

POSTGRES_URL_VAR = "NEARIQ_SMS_TEST_POSTGRES_URL"

_lock = threading.Lock()
_scratch = Path(tempfile.mkdtemp(prefix="neariq-sms-sql-tests-"))
atexit.register(shutil.rmtree, _scratch, ignore_errors=True)
_counter = itertools.count()


# --- reuse -----------------------------------------------------------------------------


def _empty(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())


class _Pool:
    """Migrated databases of this process, handed out empty, taken back once unused.

    Reusing an engine keeps its connections and its compiled-statement cache
    warm, which is most of the cost of a fresh database per example.
    """

    def __init__(self, create: Callable[[], sa.Engine]) -> None:
        self.create = create
        self.free: list[sa.Engine] = []

    def take(self) -> SqlUnitOfWork:
        try:
            engine = self.free.pop()
        except IndexError:
            engine = self.create()
        else:
            _empty(engine)
        uow = SqlUnitOfWork(engine)
        # Called by the garbage collector at any point: it must take no lock
        # (list.append is atomic).
        weakref.finalize(uow, self.free.append, engine)
        return uow


# --- SQLite --------------------------------------------------------------------------


_template: Path | None = None


def sqlite_template() -> Path:
    """A migrated, empty SQLite database file (made once per process)."""
    global _template
    with _lock:
        if _template is None:
            path = _scratch / "template.db"
            engine = make_engine(f"sqlite:///{path}")
            upgrade(engine)
            engine.dispose()  # the last connection closing folds the WAL into the file
            _template = path
        return _template


def sqlite_engine(path: Path | None = None) -> sa.Engine:
    """An engine on a fresh copy of the template (at ``path``, or a new scratch file)."""
    path = path or _scratch / f"{next(_counter)}.db"
    shutil.copyfile(sqlite_template(), path)
    return make_engine(f"sqlite:///{path}")


_sqlite_pool = _Pool(sqlite_engine)


def sqlite_uow() -> SqlUnitOfWork:
    """A unit of work over a fresh, empty, migrated SQLite file."""
    return _sqlite_pool.take()


@contextlib.contextmanager
def sqlite_backend() -> Iterator[Callable[[], UnitOfWork]]:
    yield sqlite_uow


# --- PostgreSQL ----------------------------------------------------------------------


def postgres_url() -> str:
    """The test server's URL; skips the test (fails it under ``CI=true``) without one."""
    url = os.environ.get(POSTGRES_URL_VAR)
    if url:
        return url
    message = f"{POSTGRES_URL_VAR} is not set (source .ci/postgres.sh to start a server)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


_admin: sa.Engine | None = None


def _postgres_admin(url: str) -> sa.Engine:
    global _admin
    if _admin is None:
        admin = make_engine(url, poolclass=NullPool)
        try:
            with admin.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.OperationalError as exc:
            message = f"no PostgreSQL server at {POSTGRES_URL_VAR}: {exc.orig}"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(message)
            pytest.skip(message)
        atexit.register(_drop_schemas, admin)
        _admin = admin
    return _admin


_schemas: list[str] = []


def _drop_schemas(admin: sa.Engine) -> None:
    for engine in _postgres_pool.free:
        engine.dispose()
    with contextlib.suppress(sa.exc.SQLAlchemyError), admin.begin() as connection:
        for schema in _schemas:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def postgres_engine() -> sa.Engine:
    """An engine whose search path is a new, migrated schema of the test server."""
    url = postgres_url()
    schema = f"nq_test_{os.getpid()}_{next(_counter)}"
    with _postgres_admin(url).begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    _schemas.append(schema)
    engine = make_engine(
        url,
        pool_size=2,
        max_overflow=8,
        pool_pre_ping=False,  # a local test server: one round trip less per block
        connect_args={"options": f"-c search_path={schema}"},
    )
    upgrade(engine)
    return engine


_postgres_pool = _Pool(postgres_engine)


def postgres_uow() -> SqlUnitOfWork:
    """A unit of work over a fresh, empty, migrated schema of the test server."""
    postgres_url()
    return _postgres_pool.take()


@contextlib.contextmanager
def postgres_backend() -> Iterator[Callable[[], UnitOfWork]]:
    postgres_url()  # skip (or fail) before the test body runs
    yield postgres_uow
