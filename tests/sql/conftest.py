from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.sql.backends import postgres_engine, sqlite_engine


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    """A migrated, empty database of its own on each SQL engine."""
    made = sqlite_engine() if request.param == "sqlite" else postgres_engine()
    yield made
    made.dispose()
