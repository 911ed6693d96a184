"""Races between real processes on one database: the invariants hold in the database.

Every worker is a separate process (multiprocessing, spawn) with its own
engine; a barrier releases them together. The provider fake logs each call to
a file, so the provider calls of all processes can be counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from multiprocessing.managers import SyncManager
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import ManualClock
from neariq_sms.adapters.memory import SimulatedTelephony
from neariq_sms.adapters.sql import SqlUnitOfWork
from neariq_sms.adapters.sql.sandbox import SqlSandboxState
from neariq_sms.adapters.sql.tables import allowances, messages, sandbox_messages
from neariq_sms.domain.allowance import period_of
from neariq_sms.domain.messages import MessageStatus
from neariq_sms.domain.phone import PhoneNumber
from tests.sql import race
from tests.sql.backends import postgres_engine, sqlite_engine

pytestmark = pytest.mark.slow

WORKERS = 16
ATTEMPTS_PER_WORKER = 3
LIMIT = 10
CONTENDERS = 8
#: 20 rounds of 15 concurrent sends: the 300 of the carrier-opt-out race.
OPTED_OUT_ROUNDS, OPTED_OUT_WORKERS = 20, 15
TIMEOUT = 120
NUMBER = "+15125550123"
#: Two dispatchers race over this many due messages of this many businesses.
DUE_MESSAGES, DISPATCH_SHOPS = 200, 4


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[race.DbSpec]:
    """A migrated, empty database, described so that other processes can open it."""
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


def _race(processes: tuple[Pool, SyncManager], worker: Any, calls: list[tuple[Any, ...]]) -> Any:
    pool, manager = processes
    barrier = manager.Barrier(len(calls))
    return pool.starmap_async(worker, [(c[0], barrier, *c[1:]) for c in calls]).get(TIMEOUT)


def _business(uow: SqlUnitOfWork, clock: ManualClock, log: Path, *, number: bool) -> str:
    business = uc.create_business("Aster Grove Fitness", "growth", uow=uow, clock=clock)
    if number:
        telephony = race.FileTelephony(log)
        uc.provision_number(business.id, NUMBER, uow=uow, telephony=telephony, clock=clock)
    return business.id


def _due_messages(uow: SqlUnitOfWork) -> list[str]:
    """DUE_MESSAGES review requests asked for in quiet hours two days ago, across
    DISPATCH_SHOPS businesses holding numbers of this database's sandbox: each
    stored ``scheduled`` with its units reserved, and due now."""
    asked = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    clock = ManualClock(asked - timedelta(days=2))  # 02:00-05:00 across the US
    telephony = SimulatedTelephony(state=SqlSandboxState(uow.engine), clock=clock)
    per_shop = DUE_MESSAGES // DISPATCH_SHOPS
    due = []
    for b in range(DISPATCH_SHOPS):
        shop = uc.create_business(f"Shop {b}", "growth", uow=uow, clock=clock).id
        [first, *_] = uc.search_numbers(shop, "512", uow=uow, telephony=telephony)
        uc.provision_number(shop, first.number, uow=uow, telephony=telephony, clock=clock)
        phones = [f"+1512200{b:02d}{i:02d}" for i in range(per_shop)]
        uc.import_consents(shop, [{"phone": p} for p in phones], uow=uow, clock=clock)
        for phone in phones:
            sent = uc.send_review_request(
                shop, phone, "Jane", uow=uow, telephony=telephony, clock=clock
            )
            assert sent.status is MessageStatus.SCHEDULED
            due.append(sent.message_id)
    return due


def _report(engine: str, race_name: str, **figures: object) -> None:
    shown = ", ".join(f"{k}={v}" for k, v in figures.items())
    print(f"\n[race] {engine} {race_name}: {shown}")


def test_racing_sends_never_use_more_than_the_limit(
    processes: tuple[Pool, SyncManager], database: race.DbSpec, tmp_path: Path
) -> None:
    """16 workers race past a limit L: exactly L units used, exactly L sends accepted."""
    uow, clock = race.open_uow(database), ManualClock(race.NOON_IN_AUSTIN)
    business = _business(uow, clock, tmp_path / "setup.log", number=True)
    recipients = [
        [f"+1555765{w:02d}{a:02d}" for a in range(ATTEMPTS_PER_WORKER)] for w in range(WORKERS)
    ]
    uc.import_consents(
        business, [{"phone": p} for ps in recipients for p in ps], uow=uow, clock=clock
    )
    log = tmp_path / "provider.log"

    outcomes = _race(
        processes, race.send, [(database, log, business, ps, LIMIT) for ps in recipients]
    )

    counts = Counter(o.split(":")[0] for per_worker in outcomes for o in per_worker)
    with uow:
        used = uow.allowances.used(business, period_of(race.NOON_IN_AUSTIN))
    sends = race.FileTelephony.calls(log, "send")
    _report(
        "sqlite" if database[1] is None else "postgres",
        "send",
        workers=WORKERS,
        attempts=WORKERS * ATTEMPTS_PER_WORKER,
        limit=LIMIT,
        accepted=counts["ok"],
        used=used,
        provider_sends=sends,
        other=dict(counts),
    )
    assert counts == {"ok": LIMIT, "allowance_exhausted": WORKERS * ATTEMPTS_PER_WORKER - LIMIT}
    assert used == LIMIT
    assert sends == LIMIT


def test_one_number_raced_by_many_businesses_goes_to_exactly_one(
    processes: tuple[Pool, SyncManager], database: race.DbSpec, tmp_path: Path
) -> None:
    """8 businesses provision the same number at once: one wins, the rest duplicate_number."""
    uow, clock = race.open_uow(database), ManualClock(race.NOON_IN_AUSTIN)
    businesses = [_business(uow, clock, tmp_path / "setup.log", number=False) for _ in range(8)]
    log = tmp_path / "provider.log"

    outcomes = _race(processes, race.provision, [(database, log, b, NUMBER) for b in businesses])

    counts = Counter(o.split(":")[0] for o in outcomes)
    purchases = race.FileTelephony.calls(log, "purchase")
    _report(
        "sqlite" if database[1] is None else "postgres",
        "provision-one-number",
        workers=CONTENDERS,
        accepted=counts["ok"],
        purchases=purchases,
        other=dict(counts),
    )
    assert counts == {"ok": 1, "duplicate_number": CONTENDERS - 1}
    assert purchases == 1
    with uow:
        holder = uow.numbers.holder_of(PhoneNumber(NUMBER))
    assert holder is not None
    assert holder.business_id == businesses[outcomes.index(f"ok:{NUMBER}")]


def test_one_business_raced_for_many_numbers_gets_exactly_one(
    processes: tuple[Pool, SyncManager], database: race.DbSpec, tmp_path: Path
) -> None:
    """8 workers provision different numbers for one business: one wins, the rest
    number_already_provisioned."""
    uow, clock = race.open_uow(database), ManualClock(race.NOON_IN_AUSTIN)
    business = _business(uow, clock, tmp_path / "setup.log", number=False)
    numbers = [f"+1512555{150 + i:04d}" for i in range(CONTENDERS)]
    log = tmp_path / "provider.log"

    outcomes = _race(processes, race.provision, [(database, log, business, n) for n in numbers])

    counts = Counter(o.split(":")[0] for o in outcomes)
    purchases = race.FileTelephony.calls(log, "purchase")
    _report(
        "sqlite" if database[1] is None else "postgres",
        "provision-one-business",
        workers=CONTENDERS,
        accepted=counts["ok"],
        purchases=purchases,
        other=dict(counts),
    )
    assert counts == {"ok": 1, "number_already_provisioned": CONTENDERS - 1}
    assert purchases == 1
    with uow:
        assert len(uow.numbers.history(business)) == 1


def test_one_idempotency_key_raced_by_many_workers_calls_the_provider_once(
    processes: tuple[Pool, SyncManager], database: race.DbSpec, tmp_path: Path
) -> None:
    """8 workers send with one idempotency key at once: one provider call, one message,
    and every worker answers with that message."""
    uow, clock = race.open_uow(database), ManualClock(race.NOON_IN_AUSTIN)
    business = _business(uow, clock, tmp_path / "setup.log", number=True)
    customer = "+15557654321"
    uc.record_consent(business, customer, "point_of_sale", uow=uow, clock=clock)
    log = tmp_path / "provider.log"

    outcomes = _race(
        processes,
        race.send,
        [(database, log, business, [customer], LIMIT, "visit-8812")] * CONTENDERS,
    )

    flat = [o for per_worker in outcomes for o in per_worker]
    sends = race.FileTelephony.calls(log, "send")
    with uow:
        stored = uow.messages.for_business(business)
        used = uow.allowances.used(business, period_of(race.NOON_IN_AUSTIN))
    _report(
        "sqlite" if database[1] is None else "postgres",
        "idempotency-key",
        workers=CONTENDERS,
        provider_sends=sends,
        messages=len(stored),
        used=used,
        outcomes=dict(Counter(o.split(":")[0] for o in flat)),
    )
    assert sends == 1
    assert len(stored) == 1
    assert used == stored[0].segments
    assert flat == [f"ok:{stored[0].id}"] * CONTENDERS


def test_racing_sends_to_a_carrier_opted_out_recipient_never_deadlock(
    processes: tuple[Pool, SyncManager], database: race.DbSpec, tmp_path: Path
) -> None:
    """300 sends through the HTTP contract, in rounds of 15 at once to one recipient who
    opted out at the carrier (no cooldown, so all reach the provider until the opt-out is
    stored): the refusal path and the sends take the locks in one order, so no deadlock,
    no 5xx, nothing left submitting, every unit given back."""
    uow, clock = race.open_uow(database), ManualClock(race.NOON_IN_AUSTIN)
    business = _business(uow, clock, tmp_path / "setup.log", number=True)
    recipients = [f"+1555765{r:04d}" for r in range(OPTED_OUT_ROUNDS)]
    uc.import_consents(business, [{"phone": p} for p in recipients], uow=uow, clock=clock)
    log = tmp_path / "provider.log"

    outcomes = _race(
        processes,
        race.send_over_http_each_round,
        [(database, log, business, recipients)] * OPTED_OUT_WORKERS,
    )

    counts = Counter(o for per_worker in outcomes for o in per_worker)
    with uow:
        stored = uow.messages.for_business(business)
        used = uow.allowances.used(business, period_of(race.NOON_IN_AUSTIN))
        consents = [uow.consents.get(business, PhoneNumber(p)) for p in recipients]
    sends = race.FileTelephony.calls(log, "send")
    _report(
        "sqlite" if database[1] is None else "postgres",
        "carrier-opted-out",
        sends=OPTED_OUT_ROUNDS * OPTED_OUT_WORKERS,
        provider_sends=sends,
        messages=len(stored),
        left_submitting=sum(m.status is MessageStatus.SUBMITTING for m in stored),
        answers=dict(counts),
    )
    assert counts == {"400:recipient_opted_out": OPTED_OUT_ROUNDS * OPTED_OUT_WORKERS}
    assert {m.status for m in stored} == {MessageStatus.FAILED}
    assert len(stored) == sends >= OPTED_OUT_ROUNDS
    assert (used, sum(m.units for m in stored)) == (0, 0)
    assert {(c.opted_out, c.opt_out_source) for c in consents if c is not None} == {
        (True, "provider")
    }


def test_two_dispatchers_at_once_send_every_due_message_exactly_once(
    processes: tuple[Pool, SyncManager], database: race.DbSpec
) -> None:
    """Two ``neariq-sms dispatch --sandbox`` at once on 200 due messages: each sent
    once (counted at the shared sandbox, by message id), none left, units as reserved."""
    uow = race.open_uow(database)
    due = _due_messages(uow)

    outcomes = _race(processes, race.dispatch_cli, [(database,), (database,)])

    with uow.engine.connect() as conn:
        calls = Counter(conn.execute(sa.select(sandbox_messages.c.message_id)).scalars())
        statuses = Counter(conn.execute(sa.select(messages.c.status)).scalars())
        used = sum(conn.execute(sa.select(allowances.c.used)).scalars())
        units = sum(conn.execute(sa.select(messages.c.units)).scalars())
    _report(
        "sqlite" if database[1] is None else "postgres",
        "dispatch",
        due=len(due),
        dispatchers=outcomes,
        provider_calls=sum(calls.values()),
        statuses=dict(statuses),
    )
    assert [o.split(":")[0] for o in outcomes] == ["0", "0"]
    assert calls == Counter(due)  # every message once: no double send, none missing
    assert statuses == {MessageStatus.QUEUED.value: len(due)}
    assert used == units == len(due)
