"""A hypothesis state machine over the registration use cases: random sequences of
register, resubmit, sync (some interrupted by an ambiguous provider failure), the
owner's confirmation text and blocked-send callbacks, on every storage backend."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock
from neariq_sms.adapters.memory.registry import SimulatedRegistry
from neariq_sms.domain.errors import (
    InvalidField,
    ProviderError,
    RegistrationInProgress,
    RegistrationRequired,
    SmsError,
)
from neariq_sms.domain.registration import (
    RESUBMITTABLE,
    RegistrationStatus,
    StepName,
    StepState,
)
from neariq_sms.ports import UnitOfWork
from tests.backends import UowFactory
from tests.conftest import NOON_IN_AUSTIN
from tests.registration_data import SOLE_PROPRIETOR, STANDARD, payload

PAYLOADS = {
    "standard": STANDARD,
    "zero_ein": payload(**{"business.ein": "000000000"}),
    "low_volume": payload(kind="low_volume"),
    "sole_proprietor": SOLE_PROPRIETOR,
}
#: Status moves a sync may make (a resubmission goes back to submitted).
FORWARD = {
    RegistrationStatus.SUBMITTED: {RegistrationStatus.IN_REVIEW, RegistrationStatus.REJECTED,
                                   RegistrationStatus.APPROVED},
    RegistrationStatus.IN_REVIEW: {RegistrationStatus.REJECTED, RegistrationStatus.APPROVED},
}  # fmt: skip


class RegistrationMachine(RuleBasedStateMachine):
    make_uow: Any

    def __init__(self) -> None:
        super().__init__()
        self.uow: UnitOfWork = type(self).make_uow()
        self.clock = ManualClock(NOON_IN_AUSTIN)
        self.registry = SimulatedRegistry()
        self.businesses = [
            uc.create_business(f"Shop {i}", "growth", uow=self.uow, clock=self.clock).id
            for i in range(2)
        ]
        #: business -> (kind payload name, status the answers said it has)
        self.model: dict[str, tuple[str, RegistrationStatus]] = {}

    def _stored(self, business: str) -> Any:
        return uc.get_registration(business, uow=self.uow)

    @rule(which=st.integers(0, 1), data=st.sampled_from(sorted(PAYLOADS)))
    def register(self, which: int, data: str) -> None:
        business = self.businesses[which]
        before = self.model.get(business)
        try:
            uc.register_sender(
                business, PAYLOADS[data], uow=self.uow, registry=self.registry, clock=self.clock
            )
            outcome: SmsError | None = None
        except SmsError as exc:
            outcome = exc
        if isinstance(outcome, RegistrationInProgress):
            assert before is not None
            assert before[1] not in RESUBMITTABLE
        elif isinstance(outcome, InvalidField):  # another kind than the one resubmitted
            assert before is not None
            assert outcome.field == "kind"
        else:
            assert outcome is None, outcome
            assert before is None or before[1] in RESUBMITTABLE
            self.model[business] = (data, RegistrationStatus.SUBMITTED)

    @rule(interrupted=st.booleans(), after_effect=st.booleans())
    def sync(self, interrupted: bool, after_effect: bool) -> None:
        if interrupted:
            self.registry.fail_next(
                "create", ProviderError(reason="timeout", ambiguous=True), after_effect=after_effect
            )
        self.clock.advance(timedelta(minutes=5))
        # An injected failure a run did not meet stays queued for a later one: still fine.
        uc.sync_registrations(uow=self.uow, registry=self.registry, clock=self.clock)
        for business, (data, status) in list(self.model.items()):
            now = self._stored(business).status
            assert now == status or now in FORWARD.get(status, set()), (status, now)
            self.model[business] = (data, now)

    @rule(which=st.integers(0, 1))
    def resend_otp(self, which: int) -> None:
        business = self.businesses[which]
        try:
            uc.resend_registration_otp(business, uow=self.uow, registry=self.registry)
        except (RegistrationRequired, InvalidField):
            stored = self._stored(business)
            assert stored is None or stored.step(StepName.BRAND).state is not StepState.VERIFYING

    @rule(which=st.integers(0, 1), code=st.sampled_from([30034, 30007, 30990]))
    def blocked_send(self, which: int, code: int) -> None:
        business = self.businesses[which]
        stored = self._stored(business)
        if stored is None:
            return
        with self.uow:
            self.uow.registrations.update(stored.count_blocked_send(code, self.clock.now()))
            self.uow.commit()
        if code == 30990 and stored.approved:
            self.model[business] = (self.model[business][0], RegistrationStatus.SUSPENDED)

    @invariant()
    def each_object_once_and_the_chain_is_whole_when_approved(self) -> None:
        for business, (data, status) in self.model.items():
            stored = self._stored(business)
            assert stored.status is status
            made = self.registry.made(stored.id)
            assert all(count == 1 for count in made.values()), made
            if status is RegistrationStatus.APPROVED:
                assert stored.step(StepName.CAMPAIGN).state is StepState.APPROVED
                assert all(stored.step(n).made for n in StepName if n is not StepName.NUMBER)
                assert data != "zero_ein"
            if status is RegistrationStatus.REJECTED:
                assert stored.issues
            if stored.kind.value == "sole_proprietor" and status is RegistrationStatus.APPROVED:
                assert stored.step(StepName.BRAND).state is StepState.APPROVED


#: Examples per backend: memory runs the profile's count; SQL pays real transactions.
SQL_EXAMPLES = {"sqlite": 15, "postgres": 10}


def test_random_registration_sequences_keep_every_invariant(
    uow_factory: UowFactory, request: pytest.FixtureRequest
) -> None:
    """Objects made once, statuses only forward, approved means the whole chain."""

    class Machine(RegistrationMachine):
        make_uow = staticmethod(uow_factory)

    backend = request.node.callspec.params["uow_factory"]
    examples = min(settings.default.max_examples, SQL_EXAMPLES.get(backend, 10**6))
    run_state_machine_as_test(
        Machine, settings=settings(max_examples=examples, stateful_step_count=20)
    )
