"""What the worker processes of the registration races run (importable under spawn)."""

from __future__ import annotations

from threading import Barrier

from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import ManualClock
from neariq_sms.adapters.memory.registry import SimulatedRegistry
from neariq_sms.adapters.sql.sandbox import SqlRegistryState
from tests.sql.race import NOON_IN_AUSTIN, DbSpec, open_uow


def sync(spec: DbSpec, barrier: Barrier) -> str:
    """One ``registration sync`` run against the database's shared sandbox registry,
    every worker starting at once: ``ok``, or ``failed`` when a provider call failed."""
    uow = open_uow(spec)
    registry = SimulatedRegistry(state=SqlRegistryState(uow.engine))
    clock = ManualClock(NOON_IN_AUSTIN)
    barrier.wait()
    report = uc.sync_registrations(uow=uow, registry=registry, clock=clock)
    return "failed" if report.failed else "ok"
