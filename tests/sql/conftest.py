from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from multiprocessing.managers import SyncManager
from multiprocessing.pool import Pool

import pytest
import sqlalchemy as sa

from tests.sql.backends import postgres_engine, sqlite_engine


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    """A migrated, empty database of its own on each SQL engine."""
    made = sqlite_engine() if request.param == "sqlite" else postgres_engine()
    yield made
    made.dispose()


@pytest.fixture(scope="module")
def processes(request: pytest.FixtureRequest) -> Iterator[tuple[Pool, SyncManager]]:
    """The module's ``WORKERS`` spawned worker processes and a manager, shared by its races."""
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(request.module.WORKERS) as pool:
        yield pool, manager
