"""Section 3: the consent lookup inside a send, with a million consent rows.

Runs on the database the 1M-row memory run imported (SQLite file, WAL):
``send_review_request`` to random recipients among the million, timing each
call of the SQL consent repository's ``get`` (the lookup the send makes in
its first transaction) and each whole send. The timing wrapper is bench-only
instrumentation of a private class; nothing in the library changes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.common import BENCH_POLICY, NoopTelephony, Sizes, import_phone_e164, new_uow, percentile
from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import SystemClock
from neariq_sms.adapters.sql.repositories import SqlConsents
from neariq_sms.adapters.sql.tables import consents


def bench_lookup(db: Path, business_id: str, total_rows: int, sizes: Sizes) -> dict[str, Any]:
    uow = new_uow(f"sqlite:///{db}")
    with uow.engine.connect() as conn:
        rows = conn.execute(sa.select(sa.func.count()).select_from(consents)).scalar_one()
    telephony = NoopTelephony()
    clock = SystemClock()
    lookups: list[float] = []
    sends: list[float] = []
    original: Callable[..., Any] = SqlConsents.get

    def timed_get(self: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            lookups.append(time.perf_counter() - started)

    picks = random.Random(6).sample(range(total_rows), sizes.lookups + 50)  # noqa: S311
    SqlConsents.get = timed_get  # type: ignore[method-assign]
    try:
        for n, i in enumerate(picks):
            started = time.perf_counter()
            uc.send_review_request(
                business_id,
                import_phone_e164(i),
                "Jane Doe",
                uow=uow,
                telephony=telephony,
                clock=clock,
                policy=BENCH_POLICY,
            )
            if n == 49:  # warm-up: statement caches, pool, page cache
                lookups.clear()
            elif n > 49:
                sends.append(time.perf_counter() - started)
    finally:
        SqlConsents.get = original  # type: ignore[method-assign]
        uow.engine.dispose()
    p99 = percentile(lookups, 0.99)
    return {
        "consent_rows": rows,
        "lookups": len(lookups),
        "lookup_p50_ms": round(percentile(lookups, 0.5) * 1000, 3),
        "lookup_p99_ms": round(p99 * 1000, 3),
        "send_p50_ms": round(percentile(sends, 0.5) * 1000, 3),
        "send_p99_ms": round(percentile(sends, 0.99) * 1000, 3),
        "target": "consent lookup p99 < 1 ms on SQLite",
        "met": p99 < 0.001,
    }
