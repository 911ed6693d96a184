"""Differential testing: the in-memory adapter against SQL, step by step.

After fakeredis' ``test/test_hypothesis/base.py``: a state machine runs every
use case twice, once on ``InMemoryUnitOfWork`` and once on ``SqlUnitOfWork``,
each with its own ``SimulatedTelephony`` and the same clock, and demands the
same result or the same error type after every step, and the same stored
state. Identity is an input here too: each side draws its ids (``uuid4``)
from its own counter, so both sides name their rows alike and ties in
``(time, id)`` orderings break alike.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import ManualClock
from neariq_sms.adapters.memory import InMemoryUnitOfWork, SimulatedTelephony
from neariq_sms.adapters.twilio import status_report
from neariq_sms.domain import Plan, Policy, ProviderError, RecipientOptedOut, SmsError
from neariq_sms.ports import UnitOfWork
from tests.conftest import NOON_IN_AUSTIN
from tests.sql.backends import postgres_uow, sqlite_uow
from tests.strategies import clock_steps, inbound_bodies, plans, provider_statuses
from tests.usecases.support import snapshot

PHONES = ["+15557650101", "+15557650102", "+12085550100"]
NUMBERS = ["+15125550123", "+15125550124"]
KEYS = [None, "k1", "k2"]
POLICY = Policy(monthly_allowance={Plan.GROWTH: 3, Plan.PRO: 5, Plan.ENTERPRISE: 8})
PERIODS = ["2026-03", "2026-04", "2026-05"]

business_ids = st.sampled_from(["b1", "b2", "b3"])
phones = st.sampled_from([*PHONES, "not a phone"])
sources = st.sampled_from(["web_form", "point_of_sale", "Bad Source!"])
failures = st.sampled_from(
    [
        None,
        ("send", ProviderError(reason="rejected", provider_code=30007)),
        ("send", RecipientOptedOut()),
        ("purchase", ProviderError(reason="down")),
    ]
)


class _Side:
    """One storage under test with its own provider and its own id counter."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.telephony = SimulatedTelephony()
        self._ids = itertools.count(1)

    @contextlib.contextmanager
    def ids(self) -> Iterator[None]:
        real = uuid.uuid4
        uuid.uuid4 = lambda: uuid.UUID(int=next(self._ids))  # type: ignore[assignment]
        try:
            yield
        finally:
            uuid.uuid4 = real


class Differential(RuleBasedStateMachine):
    make_sql: ClassVar[Callable[[], UnitOfWork]]
    businesses = Bundle("businesses")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(NOON_IN_AUSTIN)
        self.memory = _Side(InMemoryUnitOfWork())
        self.sql = _Side(type(self).make_sql())

    def run(self, work: Callable[[_Side], Any]) -> Any:
        """Run one use case on both sides; the same result or the same error."""
        outcomes = []
        for side in (self.memory, self.sql):
            with side.ids():
                try:
                    outcomes.append(("ok", _comparable(work(side))))
                except SmsError as exc:
                    outcomes.append(("error", type(exc), exc.code))
        assert outcomes[0] == outcomes[1]
        return outcomes[0]

    @invariant()
    def both_stores_hold_the_same(self) -> None:
        states = [snapshot(s.uow, phones=PHONES, periods=PERIODS) for s in (self.memory, self.sql)]
        assert states[0] == states[1]

    # --- rules -------------------------------------------------------------------

    @initialize(target=businesses, plan=st.sampled_from([Plan.GROWTH, Plan.PRO]))
    def first_business(self, plan: Plan) -> str:
        # Start where most rules do something: an SMS plan, a number, consent.
        business = self.create_business("b1", plan)
        self.provision(business, NUMBERS[0], None)
        for phone in PHONES[:2]:
            self.record_consent(business, phone, "web_form")
        return business

    @rule(target=businesses, business_id=business_ids, plan=plans)
    def create_business(self, business_id: str, plan: Plan) -> str:
        self.run(
            lambda s: uc.create_business(
                "Aster Grove", plan.value, uow=s.uow, clock=self.clock, business_id=business_id
            )
        )
        return business_id

    @rule(business=businesses, plan=plans)
    def change_plan(self, business: str, plan: Plan) -> None:
        self.run(lambda s: uc.change_plan(business, plan.value, uow=s.uow))

    @rule(business=businesses)
    def deactivate(self, business: str) -> None:
        self.run(
            lambda s: uc.deactivate_business(
                business, uow=s.uow, clock=self.clock, telephony=s.telephony
            )
        )

    @rule(business=businesses, number=st.sampled_from(NUMBERS), failure=failures)
    def provision(self, business: str, number: str, failure: Any) -> None:
        self._fail_next(failure)
        self.run(
            lambda s: uc.provision_number(
                business, number, uow=s.uow, telephony=s.telephony, clock=self.clock, policy=POLICY
            )
        )

    @rule(business=businesses)
    def release(self, business: str) -> None:
        self.run(
            lambda s: uc.release_number(
                business, uow=s.uow, telephony=s.telephony, clock=self.clock
            )
        )

    @rule(business=businesses, phone=phones, source=sources)
    def record_consent(self, business: str, phone: str, source: str) -> None:
        self.run(
            lambda s: uc.record_consent(
                business, phone, source, uow=s.uow, clock=self.clock, policy=POLICY
            )
        )

    @rule(business=businesses, phone=phones)
    def opt_out(self, business: str, phone: str) -> None:
        self.run(lambda s: uc.opt_out(business, phone, uow=s.uow, clock=self.clock))

    @rule(business=businesses, phone=phones)
    def opt_in(self, business: str, phone: str) -> None:
        self.run(
            lambda s: uc.opt_in(
                business, phone, "web_form", self.clock.now(), uow=s.uow, clock=self.clock
            )
        )

    @rule(business=businesses, rows=st.lists(phones, max_size=5))
    def import_consents(self, business: str, rows: list[str]) -> None:
        self.run(
            lambda s: uc.import_consents(
                business, [{"phone": p} for p in rows], uow=s.uow, clock=self.clock, batch_size=2
            )
        )

    @rule(
        business=businesses,
        phone=phones,
        name=st.sampled_from(["Jane", "Zoë 😀", ""]),
        key=st.sampled_from(KEYS),
        failure=failures,
    )
    def send(self, business: str, phone: str, name: str, key: str | None, failure: Any) -> None:
        self._fail_next(failure)
        self.run(
            lambda s: uc.send_review_request(
                business,
                phone,
                name,
                uow=s.uow,
                telephony=s.telephony,
                clock=self.clock,
                policy=POLICY,
                idempotency_key=key,
            )
        )

    @rule()
    def dispatch(self) -> None:
        self.run(lambda s: uc.dispatch_due(uow=s.uow, telephony=s.telephony, clock=self.clock))

    @rule(index=st.integers(0, 5), status=provider_statuses, code=st.sampled_from([None, 21610]))
    def status_callback(self, index: int, status: str, code: int | None) -> None:
        def callback(side: _Side) -> bool:
            sids = [m.sid for m in side.telephony.sent] or ["SMunknown"]
            sid = sids[index % len(sids)]
            return uc.handle_status_callback(
                status_report(sid, status, code), uow=side.uow, clock=self.clock
            )

        self.run(callback)

    @rule(number=st.sampled_from(NUMBERS), phone=st.sampled_from(PHONES), body=inbound_bodies)
    def inbound(self, number: str, phone: str, body: str) -> None:
        self.run(
            lambda s: uc.handle_inbound_message(
                number, phone, body, f"SMin{len(body)}{phone[-2:]}", uow=s.uow, clock=self.clock
            )
        )

    @rule(business=businesses)
    def read_everything(self, business: str) -> None:
        self.run(
            lambda s: uc.get_status(business, uow=s.uow, telephony=s.telephony, clock=self.clock)
        )
        self.run(lambda s: uc.list_consents(business, limit=2, uow=s.uow))
        self.run(lambda s: list(uc.export_consents(business, uow=s.uow)))
        self.run(lambda s: uc.list_conversation(business, PHONES[0], limit=3, uow=s.uow))
        self.run(lambda s: uc.consent_history(business, PHONES[0], uow=s.uow))

    @rule(step=clock_steps | st.just(timedelta(hours=13)))
    def advance_clock(self, step: timedelta) -> None:
        self.clock.advance(step)

    def _fail_next(self, failure: Any) -> None:
        if failure is not None:
            operation, error = failure
            for side in (self.memory, self.sql):
                side.telephony.fail_next(operation, error)


def _comparable(value: Any) -> Any:
    """Results as values: generators drained (the export), everything else as is."""
    if isinstance(value, Iterator):
        return list(value)
    return value


@pytest.mark.parametrize("make_sql", [sqlite_uow, postgres_uow], ids=["sqlite", "postgres"])
def test_sql_storage_answers_exactly_as_memory_does(make_sql: Callable[[], UnitOfWork]) -> None:
    """Random use-case sequences give the same results, errors and state on both."""

    make_sql()  # skips (or fails under CI) here when the database is missing

    class Machine(Differential):
        pass

    Machine.make_sql = staticmethod(make_sql)  # type: ignore[assignment]
    # Capped: each example runs every step twice plus two full snapshots per step
    # (60 x 25 steps keeps the whole CI suite inside its 15 minutes).
    examples = min(settings.default.max_examples, 60)
    run_state_machine_as_test(
        Machine, settings=settings(stateful_step_count=25, max_examples=examples)
    )
