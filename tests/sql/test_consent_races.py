"""Consent writers racing in real processes: no writer fails on another's first
write, and the audit trail's times follow commit order."""

from __future__ import annotations

import itertools
from multiprocessing.managers import SyncManager
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import ManualClock
from neariq_sms.domain import ConsentEventKind
from tests.sql import consent_race, race
from tests.sql.test_concurrency import NUMBER, _business, database

pytestmark = pytest.mark.slow

WORKERS = 6
TIMEOUT = 180
__all__ = ["database"]  # the fixture, shared with the other races


def _start(processes: tuple[Pool, SyncManager], calls: list[tuple[Any, ...]]) -> list[Any]:
    pool, manager = processes
    barrier = manager.Barrier(len(calls))
    pending = [pool.apply_async(c[0], (c[1], barrier, *c[2:])) for c in calls]
    return [p.get(TIMEOUT) for p in pending]


def test_an_import_survives_live_stops_and_consent_writes_of_its_phones(
    processes: tuple[Pool, SyncManager], database: race.DbSpec, tmp_path: Path
) -> None:
    """An import of 1,500 phones races STOPs and consent writes of the same phones,
    in the same order: the import ends, every row counted, every STOP kept."""
    uow, clock = race.open_uow(database), ManualClock(race.NOON_IN_AUSTIN)
    business_id = _business(uow, clock, tmp_path / "calls.log", number=True)
    phones = [f"+1415555{3000 + i:04d}" for i in range(1500)]
    stopped, consented = phones[0::3], phones[1::3]
    writers = [
        (consent_race.live_writes, database, business_id, NUMBER, stopped[w::2], "stop")
        for w in range(2)
    ] + [
        (consent_race.live_writes, database, business_id, NUMBER, consented[w::2], "consent")
        for w in range(2)
    ]
    outcomes = _start(
        processes, [(consent_race.import_rows, database, business_id, phones), *writers]
    )
    imported = outcomes[0]
    assert imported.startswith("ok:"), imported
    counts = [int(n) for n in imported.split(":")[1:]]
    assert sum(counts[:3]) == len(phones), imported
    assert counts[3] == 0, imported
    for writes in outcomes[1:]:
        assert all(o.startswith("ok") or o == "recipient_opted_out" for o in writes), writes
    for phone in stopped:
        record = uc.get_consent(business_id, phone, uow=uow)
        assert record is not None, phone
        assert record.opted_out, phone
    for phone in phones:
        assert uc.get_consent(business_id, phone, uow=uow) is not None, phone


def test_audit_times_follow_commit_order_per_phone(
    processes: tuple[Pool, SyncManager], database: race.DbSpec, tmp_path: Path
) -> None:
    """START / STOP by text from four processes on the real clock, one phone: in
    the trail's order (its commit order) every event is no older than the one before."""
    uow, clock = race.open_uow(database), ManualClock(race.NOON_IN_AUSTIN)
    business_id = _business(uow, clock, tmp_path / "calls.log", number=True)
    phone = "+14155554000"
    outcomes = _start(
        processes, [(consent_race.flip_flop, database, NUMBER, phone, 25) for _ in range(4)]
    )
    assert all(o == "ok" for writes in outcomes for o in writes), outcomes
    events = uc.consent_history(business_id, phone, uow=uow)
    assert {e.kind for e in events} == {ConsentEventKind.OPTED_IN, ConsentEventKind.OPTED_OUT}
    backwards = [(a.at, b.at) for a, b in itertools.pairwise(events) if b.at < a.at]
    assert not backwards, f"{len(backwards)} of {len(events)} events older than the one before"
