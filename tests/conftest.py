from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, settings

from neariq_sms.adapters.memory import ManualClock, SimulatedTelephony
from neariq_sms.ports import UnitOfWork
from tests.backends import BACKENDS, UowFactory

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

#: Tuesday 2026-03-10 17:00 UTC: noon in Austin, inside sending hours.
NOON_IN_AUSTIN = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)


@pytest.fixture(params=sorted(BACKENDS))
def uow_factory(request: pytest.FixtureRequest) -> Iterator[UowFactory]:
    """Every storage backend; each call of the factory gives fresh, empty storage."""
    with BACKENDS[request.param]() as make_uow:
        yield make_uow


@pytest.fixture
def uow(uow_factory: UowFactory) -> UnitOfWork:
    return uow_factory()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOON_IN_AUSTIN)


@pytest.fixture
def telephony() -> SimulatedTelephony:
    return SimulatedTelephony()
