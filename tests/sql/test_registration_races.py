"""Registration syncs racing in real processes on one database make every provider
object once: the lease keeps all but one of them off the registration."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from multiprocessing.managers import SyncManager
from multiprocessing.pool import Pool
from pathlib import Path

import pytest
import sqlalchemy as sa

from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import ManualClock
from neariq_sms.adapters.memory.registry import SimulatedRegistry
from neariq_sms.adapters.sql import SqlUnitOfWork
from neariq_sms.adapters.sql.sandbox import SqlRegistryState
from neariq_sms.domain.registration import RegistrationStatus
from tests.registration_data import STANDARD
from tests.sql import race, registration_race
from tests.sql.backends import postgres_engine, sqlite_engine
from tests.usecases.test_registration import ONE_EACH

pytestmark = pytest.mark.slow

WORKERS = 4
TIMEOUT = 120


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[race.DbSpec]:
    if request.param == "sqlite":
        path = tmp_path / "race.db"
        sqlite_engine(path).dispose()
        yield (f"sqlite:///{path}", None)
        return
    engine = postgres_engine()
    with engine.connect() as connection:
        schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one()
    engine.dispose()
    yield (engine.url.render_as_string(hide_password=False), schema)


def test_racing_syncs_make_each_object_once(
    database: race.DbSpec, processes: tuple[Pool, SyncManager]
) -> None:
    """Four sync processes released together on one submitted registration, then one
    more sync: approved, with one provider object of each kind."""
    uow: SqlUnitOfWork = race.open_uow(database)
    clock = ManualClock(race.NOON_IN_AUSTIN)
    business = uc.create_business("Acme Plumbing", "growth", uow=uow, clock=clock)
    registry = SimulatedRegistry(state=SqlRegistryState(uow.engine))
    registration = uc.register_sender(
        business.id, STANDARD, uow=uow, registry=registry, clock=clock
    )
    pool, manager = processes
    barrier = manager.Barrier(WORKERS)
    outcomes = pool.starmap_async(registration_race.sync, [(database, barrier)] * WORKERS).get(
        TIMEOUT
    )
    assert outcomes == ["ok"] * WORKERS
    # One worker claims it first and the others find it leased; one arriving after the
    # first finished takes the next run's step (the brand's approval, the campaign).
    clock.advance(timedelta(minutes=10))
    uc.sync_registrations(uow=uow, registry=registry, clock=clock)
    stored = uc.get_registration(business.id, uow=uow)
    assert stored is not None
    assert stored.status is RegistrationStatus.APPROVED
    assert dict(registry.made(registration.id)) == ONE_EACH
