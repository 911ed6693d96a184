"""The database fails at every transaction of a send, a dispatch, a provisioning and a release.

For each operation a dry run counts its transactions; then, for every n, the
n-th fails — unreachable when the block opens, or failing at its commit; once,
or staying down from there on. Afterwards a job runner retries the operation
(a send with the same idempotency key), reconcile runs past its threshold, and
every invariant of ``tests/faults/support.py`` must hold; a send never reaches
the provider twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta

import attrs
import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock
from neariq_sms.adapters.memory.telephony import Operation as ProviderOperation
from neariq_sms.domain import NumberUnavailable, PhoneNumber, ProviderError, SmsError
from neariq_sms.ports import UnitOfWork
from tests.backends import UowFactory
from tests.conftest import NOON_IN_AUSTIN
from tests.faults.support import (
    FaultyUnitOfWork,
    GuardedTelephony,
    ProviderView,
    Where,
    violations,
)
from tests.usecases.support import AUSTIN_NUMBER, CUSTOMER, ready_business

KEY = "job-42"
#: 22:00 in Austin: a send is scheduled for the morning.
EVENING = timedelta(hours=10)
NEXT_MORNING = timedelta(hours=12)
PAST_THRESHOLD = timedelta(minutes=16)
TIMEOUT = ProviderError(reason="timeout", ambiguous=True)


@attrs.define
class World:
    uow: UnitOfWork
    telephony: GuardedTelephony
    clock: ManualClock
    business: str = ""


Setup = Callable[[World], None]
Operation = Callable[[World, UnitOfWork], object]


def _ready(world: World) -> None:
    world.business = ready_business(world.uow, world.telephony, world.clock).id


def _scheduled(world: World) -> None:
    _ready(world)
    world.clock.advance(EVENING)
    uc.send_review_request(
        world.business,
        CUSTOMER,
        "Jane",
        uow=world.uow,
        telephony=world.telephony,
        clock=world.clock,
        idempotency_key=KEY,
    )
    world.clock.advance(NEXT_MORNING)


def _bare(world: World) -> None:
    world.business = uc.create_business("Shop", "growth", uow=world.uow, clock=world.clock).id


def _send(world: World, uow: UnitOfWork) -> object:
    return uc.send_review_request(
        world.business,
        CUSTOMER,
        "Jane",
        uow=uow,
        telephony=world.telephony,
        clock=world.clock,
        idempotency_key=KEY,
    )


def _dispatch(world: World, uow: UnitOfWork) -> object:
    return uc.dispatch_due(uow=uow, telephony=world.telephony, clock=world.clock)


def _provision(world: World, uow: UnitOfWork) -> object:
    return uc.provision_number(
        world.business, AUSTIN_NUMBER, uow=uow, telephony=world.telephony, clock=world.clock
    )


def _release(world: World, uow: UnitOfWork) -> object:
    return uc.release_number(world.business, uow=uow, telephony=world.telephony, clock=world.clock)


def _then(prepare: Callable[[World], None], setup: Setup) -> Setup:
    def both(world: World) -> None:
        setup(world)
        prepare(world)

    return both


def _provider_fails(
    operation: ProviderOperation, error: SmsError, *, after_effect: bool = False
) -> Callable[[World], None]:
    return lambda w: w.telephony.fail_next(operation, error, after_effect=after_effect)


def _opts_out(world: World) -> None:
    uc.opt_out(world.business, CUSTOMER, "web_form", uow=world.uow, clock=world.clock)


def _carrier_opt_out(world: World) -> None:
    world.telephony.carrier_opted_out.add(PhoneNumber(CUSTOMER))


def _evening(world: World) -> None:
    world.clock.advance(EVENING)


SCENARIOS: dict[str, tuple[Setup, Operation]] = {
    "send": (_ready, _send),
    "send, provider times out after sending": (
        _then(_provider_fails("send", TIMEOUT, after_effect=True), _ready),
        _send,
    ),
    "send, provider times out before sending": (
        _then(_provider_fails("send", TIMEOUT), _ready),
        _send,
    ),
    "send, provider refuses": (
        _then(_provider_fails("send", ProviderError(reason="no", provider_code=30007)), _ready),
        _send,
    ),
    "send, carrier opt-out (21610)": (_then(_carrier_opt_out, _ready), _send),
    "send in quiet hours": (_then(_evening, _ready), _send),
    "dispatch": (_scheduled, _dispatch),
    "dispatch after an opt-out": (_then(_opts_out, _scheduled), _dispatch),
    "dispatch, provider times out after sending": (
        _then(_provider_fails("send", TIMEOUT, after_effect=True), _scheduled),
        _dispatch,
    ),
    "provision": (_bare, _provision),
    "provision, purchase times out after buying": (
        _then(_provider_fails("purchase", TIMEOUT, after_effect=True), _bare),
        _provision,
    ),
    "provision, number unavailable": (
        _then(_provider_fails("purchase", NumberUnavailable(number=AUSTIN_NUMBER)), _bare),
        _provision,
    ),
    "release": (_scheduled, _release),
    "release, provider times out after releasing": (
        _then(_provider_fails("release", TIMEOUT, after_effect=True), _scheduled),
        _release,
    ),
}


def _world(make_uow: UowFactory) -> World:
    uow = make_uow()
    clock = ManualClock(NOON_IN_AUSTIN)
    return World(uow, GuardedTelephony(uow, clock=clock), clock)


def _attempt(operation: Operation, world: World, uow: UnitOfWork) -> None:
    # The caller sees an error; what matters is what storage and the provider hold.
    with contextlib.suppress(SmsError, ConnectionError):
        operation(world, uow)


def _job_runner(operation: Operation, world: World) -> None:
    """Retries what failed for a transient reason (storage, provider), a few times.

    Safe for each of these operations: a send carries its idempotency key,
    provisioning claims before it buys, a release of a released number succeeds.
    """
    for _ in range(3):
        try:
            operation(world, world.uow)
        except (ProviderError, ConnectionError):
            continue
        except SmsError:
            return
        return


def _failure_points(
    make_uow: UowFactory, setup: Setup, operation: Operation
) -> list[tuple[int, Where]]:
    """Every transaction can fail to open; every commit can fail."""
    world = _world(make_uow)
    setup(world)
    counting = FaultyUnitOfWork(world.uow)
    _attempt(operation, world, counting)
    opens: list[tuple[int, Where]] = [(n, "enter") for n in range(1, counting.transactions + 1)]
    return opens + [(n, "commit") for n in range(1, counting.commits + 1)]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_storage_failing_at_any_transaction_breaks_no_invariant(
    uow_factory: UowFactory, scenario: str
) -> None:
    """Every (transaction, where, once-or-down) combination; then retry, reconcile, check."""
    setup, operation = SCENARIOS[scenario]
    points = _failure_points(uow_factory, setup, operation)
    assert len(points) >= 2
    for n, where in points:
        for stays_down in (False, True):
            world = _world(uow_factory)
            setup(world)
            sends_before = world.telephony.calls["send"]
            faulty = FaultyUnitOfWork(world.uow, fail_at=n, where=where, stays_down=stays_down)
            _attempt(operation, world, faulty)
            assert faulty.failed, (n, where)
            _job_runner(operation, world)
            world.clock.advance(PAST_THRESHOLD)
            uc.reconcile(uow=world.uow, telephony=world.telephony, clock=world.clock)
            context = f"{scenario}: {where} number {n} fails, stays down {stays_down}"
            assert violations(world.uow, ProviderView.of(world.telephony)) == [], context
            assert world.telephony.calls["send"] - sends_before <= 1, context
            again = uc.reconcile(uow=world.uow, telephony=world.telephony, clock=world.clock)
            assert not again.changed, context
