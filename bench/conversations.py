"""The conversation list and a thread page, with a million stored messages (SQLite).

    python -m bench.conversations [--messages 1000000] [--requests 400]

A fresh migrated SQLite file gets ``--messages`` messages, half outbound and
half inbound, for 10 businesses: the measured one has 20,000 customer threads,
one of them 2,000 messages long; the other businesses hold the rest, so every
index is as large as a 1M-message database makes it. Rows are written in bulk
with the thread rows the library would have written (the seeding is not what
is measured).

Then ``GET /api/sms/conversations`` (first pages and pages deep into the list,
by cursor) and ``GET /api/sms/conversations/messages`` (the long thread and
random short ones, first and later pages) are answered by the contract function
``handle`` in-process, on the SQL unit of work, one after the other. It prints
p50 and p99 of each; the target is p99 under 5 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BENCH_POLICY, NoopTelephony, fresh_sqlite, new_uow, percentile
from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import SystemClock
from neariq_sms.adapters.http import create_session, handle
from neariq_sms.adapters.sql.tables import conversations, inbound_messages, messages
from neariq_sms.ports.services import Services

TARGET_P99_MS = 5.0
BUSINESSES = 10
THREADS = 20_000
LONG_THREAD = 2_000
BATCH = 20_000
START = datetime(2026, 1, 1, tzinfo=UTC)
BUSINESS_NUMBER = "+15125550100"


def _phone(business: int, i: int) -> str:
    """A valid US number per (business, index): area codes 201-210, exchanges from 200."""
    return f"+1{201 + business}{2_000_000 + i:07d}"


def _rows(business_ids: list[str], total: int) -> Iterator[tuple[str, str, str, datetime, int]]:
    """(business, phone, direction, at, n) for every message: the measured business
    (index 0) gets its threads and the long one, the others the rest."""
    measured = business_ids[0]
    for n in range(LONG_THREAD):
        yield (
            measured,
            _phone(0, 0),
            "inbound" if n % 2 else "outbound",
            START + timedelta(minutes=n),
            n,
        )
    per_thread = max(1, (total // 4) // THREADS)
    n = LONG_THREAD
    for t in range(1, THREADS):
        for k in range(per_thread):
            yield (
                measured,
                _phone(0, t),
                "inbound" if k % 2 else "outbound",
                START + timedelta(seconds=n),
                n,
            )
            n += 1
    others = business_ids[1:]
    while n < total:
        business = n % len(others)
        yield (
            others[business],
            _phone(business + 1, n % 50_000),
            ("inbound" if n % 2 else "outbound"),
            START + timedelta(seconds=n),
            n,
        )
        n += 1


def seed(url: str, business_ids: list[str], total: int) -> None:
    engine = sa.create_engine(url)
    threads: dict[tuple[str, str], dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    inc: list[dict[str, Any]] = []

    def flush(conn: sa.Connection) -> None:
        if out:
            conn.execute(messages.insert(), out)
        if inc:
            conn.execute(inbound_messages.insert(), inc)
        out.clear()
        inc.clear()

    with engine.begin() as conn:
        for business_id, phone, direction, at, n in _rows(business_ids, total):
            body = f"Message {n}: thanks for stopping by, see you soon."
            if direction == "outbound":
                out.append(
                    {
                        "id": uuid.uuid4().hex,
                        "business_id": business_id,
                        "to_phone": phone,
                        "from_phone": BUSINESS_NUMBER,
                        "body": body,
                        "segments": 1,
                        "units": 1,
                        "period": at.strftime("%Y-%m"),
                        "status": "delivered",
                        "created_at": at,
                        "updated_at": at,
                        "kind": "reply",
                        "automatic": False,
                    }
                )
            else:
                inc.append(
                    {
                        "id": uuid.uuid4().hex,
                        "business_id": business_id,
                        "from_phone": phone,
                        "to_phone": BUSINESS_NUMBER,
                        "body": body,
                        "received_at": at,
                        "provider_sid": "SM" + uuid.uuid4().hex,
                    }
                )
            thread = threads.setdefault(
                (business_id, phone),
                {"business_id": business_id, "phone": phone, "unread": 0, "last_inbound_at": None},
            )
            thread.update(
                last_message_at=at,
                last_direction=direction,
                last_body=body,
                last_kind="inbound" if direction == "inbound" else "reply",
            )
            if direction == "inbound":
                thread["unread"] += 1
                thread["last_inbound_at"] = at
            if len(out) + len(inc) >= BATCH:
                flush(conn)
        flush(conn)
        rows = list(threads.values())
        for i in range(0, len(rows), BATCH):
            conn.execute(conversations.insert(), rows[i : i + BATCH])
    engine.dispose()


def _timed(calls: list[tuple[str, str]], services: Services, business_id: str) -> list[float]:
    took = []
    for path, query in calls:
        started = time.perf_counter()
        status, _, body = handle("GET", path, query, {}, b"", business_id, services=services)
        took.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise AssertionError(f"{path}?{query} answered {status}: {body[:200]!r}")
    return took


def measure(url: str, business_id: str, requests: int) -> dict[str, Any]:
    services = Services(
        uow=new_uow(url), telephony=NoopTelephony(), clock=SystemClock(), policy=BENCH_POLICY
    )
    rng = random.Random(7)  # noqa: S311 - a reproducible sample, not a secret
    # Cursors deep into the list and the long thread, collected once (not timed).
    list_cursors, thread_cursors = [""], [""]
    for path, query, cursors in (
        ("/api/sms/conversations", "limit=20", list_cursors),
        ("/api/sms/conversations/messages", f"phone={_phone(0, 0)}&limit=50", thread_cursors),
    ):
        cursor = ""
        for _ in range(30):
            _, _, body = handle(
                "GET", path, f"{query}&cursor={cursor}", {}, b"", business_id, services=services
            )
            cursor = json.loads(body)["nextCursor"] or ""
            if not cursor:
                break
            cursors.append(cursor)
    lists = [
        ("/api/sms/conversations", f"limit=20&cursor={rng.choice(list_cursors)}")
        for _ in range(requests)
    ]
    threads = [
        (
            "/api/sms/conversations/messages",
            f"phone={_phone(0, 0)}&limit=50&cursor={rng.choice(thread_cursors)}"
            if i % 2
            else f"phone={_phone(0, rng.randrange(1, THREADS))}&limit=50",
        )
        for i in range(requests)
    ]
    _timed(lists[:20] + threads[:20], services, business_id)  # warm the caches
    list_ms = _timed(lists, services, business_id)
    thread_ms = _timed(threads, services, business_id)
    return {
        "conversations": {"p50_ms": percentile(list_ms, 0.5), "p99_ms": percentile(list_ms, 0.99)},
        "thread": {"p50_ms": percentile(thread_ms, 0.5), "p99_ms": percentile(thread_ms, 0.99)},
    }


def bench_conversations(workdir: Path, total: int, requests: int) -> dict[str, Any]:
    url = fresh_sqlite(workdir / "conversations.db")
    uow = new_uow(url)
    clock = SystemClock()
    ids = [
        uc.create_business(f"Shop {i}", "growth", uow=uow, clock=clock).id
        for i in range(BUSINESSES)
    ]
    started = time.perf_counter()
    seed(url, ids, total)
    seeded_s = time.perf_counter() - started
    create_session(ids[0], uow=uow, clock=clock)
    uow.engine.dispose()
    result = measure(url, ids[0], requests)
    worst = max(result["conversations"]["p99_ms"], result["thread"]["p99_ms"])
    return {
        "messages": total,
        "seeded_s": seeded_s,
        **result,
        "met": worst < TARGET_P99_MS,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.conversations")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = bench_conversations(Path(tmp), args.messages, args.requests)
    for case in ("conversations", "thread"):
        r = result[case]
        print(
            f"{case:<14} at {result['messages']:,} messages: "
            f"p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  (target p99 < {TARGET_P99_MS} ms)"
        )
    print("met" if result["met"] else "MISSED")
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
