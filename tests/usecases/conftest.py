from __future__ import annotations

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock
from neariq_sms.ports import UnitOfWork


@pytest.fixture
def business_id(uow: UnitOfWork, clock: ManualClock) -> str:
    """An active Growth business without a number."""
    return uc.create_business("Aster Grove Fitness", "growth", uow=uow, clock=clock).id
