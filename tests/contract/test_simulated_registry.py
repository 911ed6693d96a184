"""The sandbox registry: deterministic, the same in memory and in the SQL sandbox tables."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import attrs
import pytest

from neariq_sms.adapters.memory.registry import (
    INVALID_EIN,
    MemoryRegistryState,
    SimulatedRegistry,
)
from neariq_sms.adapters.sql.sandbox import SqlRegistryState
from neariq_sms.domain.errors import ProviderError
from neariq_sms.domain.registration import (
    RegistrationKind,
    SenderRegistration,
    StepName,
    StepState,
)
from neariq_sms.domain.registration_input import parse_registration_details
from tests.registration_data import SOLE_PROPRIETOR, STANDARD, payload
from tests.sql.backends import sqlite_engine

NOW = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "sqlite"])
def registry(request: pytest.FixtureRequest) -> Iterator[SimulatedRegistry]:
    if request.param == "memory":
        yield SimulatedRegistry(state=MemoryRegistryState())
        return
    engine = sqlite_engine()
    yield SimulatedRegistry(state=SqlRegistryState(engine))
    engine.dispose()


def registration(data: dict[str, object] = STANDARD) -> SenderRegistration:
    sole = data is SOLE_PROPRIETOR
    details = parse_registration_details(
        sole_proprietor=sole,
        business=data["business"],
        representative=data["representative"],
        campaign=STANDARD["campaign"],
    )
    return SenderRegistration.draft(
        id="reg-1",
        business_id="b1",
        kind=RegistrationKind.SOLE_PROPRIETOR if sole else RegistrationKind.STANDARD,
        details=details,
        now=NOW,
    )


def made(registry: SimulatedRegistry, r: SenderRegistration, step: StepName) -> SenderRegistration:
    sid = registry.create(step, r, resume=False)
    return r.with_step(step, StepState.SUBMITTED, sid=sid, now=NOW)


def test_a_brand_is_approved_on_its_second_poll(registry: SimulatedRegistry) -> None:
    r = registration()
    for step in (StepName.CUSTOMER_PROFILE, StepName.TRUST_PRODUCT, StepName.BRAND):
        r = made(registry, r, step)
    assert registry.status(StepName.BRAND, r).state is StepState.IN_REVIEW
    assert registry.status(StepName.BRAND, r).state is StepState.APPROVED
    registry.status(StepName.CUSTOMER_PROFILE, r)
    assert registry.status(StepName.CUSTOMER_PROFILE, r).state is StepState.APPROVED
    counts = registry.made("reg-1")
    assert counts["customer_profile"] == counts["trust_product"] == counts["brand"] == 1
    assert counts["address"] == counts["end_user_representative"] == 1


def test_the_ein_of_zeros_is_rejected_with_a_brand_error(registry: SimulatedRegistry) -> None:
    data = payload(**{"business.ein": "000000000"})
    r = made(registry, registration(data), StepName.BRAND)
    registry.status(StepName.BRAND, r)
    answer = registry.status(StepName.BRAND, r)
    assert (answer.state, answer.issues) == (StepState.REJECTED, (INVALID_EIN,))
    corrected = attrs.evolve(r, details=registration().details)
    assert registry.create(StepName.BRAND, corrected, resume=False) == r.step(StepName.BRAND).sid
    assert registry.status(StepName.BRAND, corrected).state is StepState.APPROVED


def test_a_sole_proprietors_brand_waits_one_poll_for_the_owner(registry: SimulatedRegistry) -> None:
    r = made(registry, registration(SOLE_PROPRIETOR), StepName.BRAND)
    assert registry.status(StepName.BRAND, r).state is StepState.IN_REVIEW
    assert registry.status(StepName.BRAND, r).state is StepState.VERIFYING
    registry.resend_otp(r.step(StepName.BRAND).sid or "")
    assert registry.status(StepName.BRAND, r).state is StepState.APPROVED


def test_resume_finds_what_an_interrupted_call_made(registry: SimulatedRegistry) -> None:
    """After an ambiguous failure the retry with resume makes nothing twice; without
    resume the simulator, like a real provider, makes a second object."""
    r = registration()
    registry.fail_next("create", ProviderError(ambiguous=True), after_effect=True)
    with pytest.raises(ProviderError):
        registry.create(StepName.CUSTOMER_PROFILE, r, resume=False)
    sid = registry.create(StepName.CUSTOMER_PROFILE, r, resume=True)
    assert registry.made("reg-1")["customer_profile"] == 1
    assert sid.startswith("BU")
    registry.create(StepName.CUSTOMER_PROFILE, r, resume=False)
    assert registry.made("reg-1")["customer_profile"] == 2


def test_numbers_join_one_service_idempotently(registry: SimulatedRegistry) -> None:
    registry.add_number("MG1", "PN1")
    registry.add_number("MG1", "PN1")
    assert registry.service_of("PN1") == "MG1"
    with pytest.raises(ProviderError) as exc:
        registry.add_number("MG2", "PN1")
    assert exc.value.provider_code == 21712
    registry.remove_number("MG2", "PN1")  # not there: nothing
    assert registry.service_of("PN1") == "MG1"
    registry.remove_number("MG1", "PN1")
    registry.remove_number("MG1", "PN1")
    assert registry.service_of("PN1") is None
