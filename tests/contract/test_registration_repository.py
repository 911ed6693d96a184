"""The registration repository's contract, on every storage backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock
from neariq_sms.domain.errors import RegistrationInProgress
from neariq_sms.domain.registration import (
    RegistrationIssue,
    RegistrationKind,
    SenderRegistration,
    StepName,
    StepState,
)
from neariq_sms.domain.registration_input import RegistrationDetails, parse_registration_details
from neariq_sms.ports import UnitOfWork
from tests.registration_data import STANDARD

NOW = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


def details() -> RegistrationDetails:
    return parse_registration_details(
        sole_proprietor=False,
        business=STANDARD["business"],
        representative=STANDARD["representative"],
        campaign=STANDARD["campaign"],
    )


def registration(business_id: str, id: str = "reg-1") -> SenderRegistration:
    return SenderRegistration.draft(
        id=id, business_id=business_id, kind=RegistrationKind.STANDARD, details=details(), now=NOW
    ).submit(NOW)


@pytest.fixture
def business_id(uow: UnitOfWork, clock: ManualClock) -> str:
    return uc.create_business("Acme Plumbing", "growth", uow=uow, clock=clock).id


def test_a_registration_round_trips_whole(uow: UnitOfWork, business_id: str) -> None:
    """Details, steps, issues, counters and times come back exactly as stored."""
    stored = (
        registration(business_id)
        .with_step(StepName.BRAND, StepState.REJECTED, sid="BN1", provider_status="FAILED", now=NOW)
        .reject([RegistrationIssue(30795, "EIN mismatch", "EIN")], NOW)
        .count_blocked_send(30034, NOW + timedelta(seconds=1))
    )
    with uow:
        uow.registrations.add(stored)
        uow.commit()
    with uow:
        assert uow.registrations.current(business_id) == stored
        assert uow.registrations.get(stored.id) == stored
        assert uow.registrations.current("nobody") is None


def test_a_business_holds_one_registration(uow: UnitOfWork, business_id: str) -> None:
    """A second add for the same business is refused with registration_in_progress."""
    with uow:
        uow.registrations.add(registration(business_id))
        uow.commit()
    with uow, pytest.raises(RegistrationInProgress):
        uow.registrations.add(registration(business_id, id="reg-2"))


def test_update_and_in_flight(uow: UnitOfWork, business_id: str, clock: ManualClock) -> None:
    """In-flight registrations are listed least recently updated first; approved ones not."""
    other = uc.create_business("Other", "growth", uow=uow, clock=clock).id
    first, second = registration(business_id), registration(other, id="reg-2")
    with uow:
        uow.registrations.add(first)
        uow.registrations.add(attrs.evolve(second, updated_at=NOW - timedelta(minutes=1)))
        uow.commit()
    with uow:
        assert [r.id for r in uow.registrations.in_flight(limit=10)] == ["reg-2", "reg-1"]
        assert [r.id for r in uow.registrations.in_flight(limit=1)] == ["reg-2"]
        uow.registrations.update(first.approve(NOW))
        uow.commit()
    with uow:
        assert [r.id for r in uow.registrations.in_flight(limit=10)] == ["reg-2"]


def test_a_lease_has_one_owner_until_it_runs_out(uow: UnitOfWork, business_id: str) -> None:
    """claim is won by one owner; another gets None until the lease expires or is released."""
    until = NOW + timedelta(minutes=5)
    with uow:
        uow.registrations.add(registration(business_id))
        uow.commit()
    with uow:
        won = uow.registrations.claim("reg-1", owner="a", now=NOW, until=until)
        assert won is not None
        assert won.lease_owner == "a"
        assert uow.registrations.claim("reg-1", owner="b", now=NOW, until=until) is None
        assert uow.registrations.claim("reg-1", owner="a", now=NOW, until=until) is not None
        late = uow.registrations.claim("reg-1", owner="b", now=until, until=NOW + timedelta(1))
        assert late is not None
        uow.registrations.release("reg-1", owner="a")  # not a's any more: nothing
        stored = uow.registrations.get("reg-1")
        assert stored is not None
        assert stored.lease_owner == "b"
        uow.registrations.release("reg-1", owner="b")
        assert uow.registrations.claim("reg-1", owner="c", now=NOW, until=until) is not None
        assert uow.registrations.claim("nothing", owner="c", now=NOW, until=until) is None


def test_leaving_without_commit_undoes_the_writes(uow: UnitOfWork, business_id: str) -> None:
    with uow:
        uow.registrations.add(registration(business_id))
    with uow:
        assert uow.registrations.current(business_id) is None
