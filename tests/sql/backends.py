"""The SQL storage backends of ``tests/backends.py``: SQLite files and PostgreSQL schemas.

Both are cheap per call, so a hypothesis state machine can ask for fresh
storage in every example:

- SQLite: the schema is migrated once per test process into a template file;
  each call copies it to a new file.
- PostgreSQL (``NEARIQ_SMS_TEST_POSTGRES_URL``): each call gets a migrated
  schema of its own, emptied with DELETEs. A schema returns to the pool when
  the unit of work that used it is garbage, so two units of work alive at the
  same time never share tables. Without the URL the tests skip, except with
  ``CI=true``, where they fail.
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


def sqlite_engine(path: Path) -> sa.Engine:
    """An engine on a fresh copy of the template at ``path``."""
    shutil.copyfile(sqlite_template(), path)
    # No pool: connections close with each block, so hundreds of engines
    # (one per hypothesis example) leave no open files behind.
    return make_engine(f"sqlite:///{path}", poolclass=NullPool)


@contextlib.contextmanager
def sqlite_backend() -> Iterator[Callable[[], UnitOfWork]]:
    folder = Path(tempfile.mkdtemp(dir=_scratch))

    def make_uow() -> UnitOfWork:
        return SqlUnitOfWork(sqlite_engine(folder / f"{next(_counter)}.db"))

    try:
        yield make_uow
    finally:
        shutil.rmtree(folder, ignore_errors=True)


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


class _SchemaPool:
    """Migrated schemas of this process, handed out empty, taken back once unused."""

    def __init__(self) -> None:
        self.free: list[tuple[str, sa.Engine]] = []
        self.created: list[str] = []
        self.admin: sa.Engine | None = None

    def _admin(self, url: str) -> sa.Engine:
        if self.admin is None:
            self.admin = make_engine(url, poolclass=NullPool)
            try:
                with self.admin.connect() as connection:
                    connection.execute(sa.text("SELECT 1"))
            except sa.exc.OperationalError as exc:
                self.admin = None
                message = f"no PostgreSQL server at {POSTGRES_URL_VAR}: {exc.orig}"
                if os.environ.get("CI", "").lower() == "true":
                    pytest.fail(message)
                pytest.skip(message)
            atexit.register(self.drop_all)
        return self.admin

    def _new(self, url: str) -> tuple[str, sa.Engine]:
        admin = self._admin(url)
        schema = f"nq_test_{os.getpid()}_{len(self.created)}"
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        self.created.append(schema)
        engine = make_engine(
            url,
            pool_size=2,
            max_overflow=8,
            connect_args={"options": f"-c search_path={schema}"},
        )
        upgrade(engine)
        return schema, engine

    def take(self, url: str) -> tuple[str, sa.Engine]:
        with _lock:
            if self.free:
                schema, engine = self.free.pop()
                with engine.begin() as connection:
                    for table in reversed(metadata.sorted_tables):
                        connection.execute(table.delete())
                return schema, engine
            return self._new(url)

    def give_back(self, schema: str, engine: sa.Engine) -> None:
        # Called by the garbage collector at any point, possibly while this
        # thread holds ``_lock`` in take(): no lock here (append is atomic).
        self.free.append((schema, engine))

    def drop_all(self) -> None:
        for _, engine in self.free:
            engine.dispose()
        if self.admin is None:
            return
        with contextlib.suppress(sa.exc.SQLAlchemyError), self.admin.begin() as connection:
            for schema in self.created:
                connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        self.admin.dispose()


_schemas = _SchemaPool()


def postgres_uow() -> SqlUnitOfWork:
    """A unit of work over a fresh, empty, migrated schema of the test server."""
    schema, engine = _schemas.take(postgres_url())
    uow = SqlUnitOfWork(engine)
    weakref.finalize(uow, _schemas.give_back, schema, engine)
    return uow


@contextlib.contextmanager
def postgres_backend() -> Iterator[Callable[[], UnitOfWork]]:
    postgres_url()  # skip (or fail) before the test body runs
    yield postgres_uow
