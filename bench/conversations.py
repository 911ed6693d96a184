"""Section 6: the conversation list and a thread page at a million stored messages (SQLite).

    python -m bench.conversations [--messages 1000000] [--requests 1000] [--db FILE]

A fresh migrated SQLite file gets ``--messages`` messages, half outbound and
half inbound, for 10 businesses: the measured one has 20,000 customer threads,
one of them 2,000 messages long; the other businesses hold the rest, so every
index is as large as a 1M-message database makes it. Rows are written in bulk
with the thread rows the library would have written (the seeding is not what
is measured; ``--db`` keeps the file and reuses it on the next run).

Then one ``neariq-sms serve`` process (waitress) serves the file, and one
client asks over a keep-alive connection, one request after the other, as a
dashboard does: ``GET /api/sms/conversations`` (first pages and pages deep into
the list, by cursor), then ``GET /api/sms/conversations/messages`` (the long
thread's first and deeper pages, random short threads). After a warm-up, each
is timed from the request to the last byte of the answer; it prints p50 and
p99 of each. Last, the same number of GETs of an unknown path (404, no
storage) give the floor of that server on that machine at that moment.

The file is read through once first, so that both passes answer from the
operating system's page cache, as the database of a dashboard in use all day
does: a reused ``--db`` file may have been evicted since it was seeded, and
then a random short thread waits for the disk (which is not what this measures).

It runs twice, each time with a server of its own:

* ``one core``: the client and the server share one CPU (Linux affinity, which
  the server process inherits). The target, p99 under 5 ms, is judged here.
  Every hop of a request (client, waitress's I/O thread, its worker, back to
  the client) is then a switch on a core that is running.
* ``free``: the scheduler places both processes as it likes, so most hops wake
  another vCPU. On a shared virtual machine an idle vCPU waits for the
  hypervisor to run it again, which takes from microseconds to several
  milliseconds depending on the other guests: the p99 of this pass (and of its
  404 floor) says more about the host at that moment than about the library.
  It is printed, with the CPU time stolen meanwhile, and has no target.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    compile_package,
    fresh_sqlite,
    new_uow,
    percentile,
    sqlite_url,
    steal_share,
)
from bench.http_load import REQUEST_TIMEOUT_S, serving
from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import SystemClock
from neariq_sms.adapters.http.sessions import create_session
from neariq_sms.adapters.sql.tables import conversations, inbound_messages, messages

TARGET_P99_MS = 5.0
#: Timed requests of each page by default (p99 is then the 10th slowest).
REQUESTS = 1_000
#: Untimed requests of each page first.
WARM_UP = 50
CONVERSATIONS = "/api/sms/conversations"
THREAD = "/api/sms/conversations/messages"
FLOOR_PATH = "/api/sms/no-such-path"
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


def _get(
    conn: http.client.HTTPConnection, target: str, headers: dict[str, str], expect: int = 200
) -> bytes:
    conn.request("GET", target, headers=headers)
    response = conn.getresponse()
    body = response.read()
    if response.status != expect:
        raise AssertionError(f"GET {target} answered {response.status}: {body[:200]!r}")
    return body


def _timed(
    conn: http.client.HTTPConnection,
    targets: list[str],
    headers: dict[str, str],
    expect: int = 200,
) -> list[float]:
    took = []
    for target in targets:
        started = time.perf_counter()
        _get(conn, target, headers, expect)
        took.append((time.perf_counter() - started) * 1000)
    return took


def plan(
    conn: http.client.HTTPConnection, headers: dict[str, str], requests: int
) -> tuple[list[str], list[str]]:
    """The requests to time: list pages (first and deep, by cursor) and thread pages
    (the long thread's first and deep pages, random short threads)."""
    rng = random.Random(7)  # noqa: S311 - a reproducible sample, not a secret
    # Cursors deep into the list and the long thread, collected once (not timed).
    list_cursors, thread_cursors = [""], [""]
    for path, query, cursors in (
        (CONVERSATIONS, "limit=20", list_cursors),
        (THREAD, f"phone={quote(_phone(0, 0))}&limit=50", thread_cursors),
    ):
        cursor = ""
        for _ in range(30):
            body = _get(conn, f"{path}?{query}&cursor={quote(cursor)}", headers)
            cursor = json.loads(body)["nextCursor"] or ""
            if not cursor:
                break
            cursors.append(cursor)
    lists = [
        f"{CONVERSATIONS}?limit=20&cursor={quote(rng.choice(list_cursors))}"
        for _ in range(requests)
    ]
    threads = [
        f"{THREAD}?phone={quote(_phone(0, 0))}&limit=50&cursor={quote(rng.choice(thread_cursors))}"
        if i % 2
        else f"{THREAD}?phone={quote(_phone(0, rng.randrange(1, THREADS)))}&limit=50"
        for i in range(requests)
    ]
    return lists, threads


def measure(port: int, token: str, requests: int) -> dict[str, Any]:
    """Sequential GETs over one keep-alive connection, as a dashboard asks them."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    headers = {"Cookie": f"neariq_session={token}"}
    try:
        lists, threads = plan(conn, headers, requests)
        # Warm-up: the server's pools, statement caches and the page cache of the file.
        _timed(conn, lists[:WARM_UP] + threads[:WARM_UP], headers)
        list_ms = _timed(conn, lists, headers)
        thread_ms = _timed(conn, threads, headers)
        # The floor: an unknown path (404, no storage) through the same server and
        # connection. On a shared machine its p99 is mostly the wait for a core.
        floor_ms = _timed(conn, [FLOOR_PATH] * requests, headers, expect=404)
    finally:
        conn.close()
    return {
        "conversations": _stats(list_ms),
        "thread": _stats(thread_ms),
        "floor": _stats(floor_ms),
    }


def _stats(ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(ms, 0.5), 2),
        "p99_ms": round(percentile(ms, 0.99), 2),
        "requests": len(ms),
    }


def prepare(db: Path, total: int) -> tuple[str, str]:
    """A seeded database (reused when ``db`` holds one of that size); (url, business id)."""
    meta = db.with_suffix(".json")
    if db.exists() and meta.exists():
        known = json.loads(meta.read_text(encoding="utf-8"))
        if known["messages"] == total:
            return sqlite_url(db), str(known["business_id"])
    url = fresh_sqlite(db)
    uow = new_uow(url)
    clock = SystemClock()
    ids = [
        uc.create_business(f"Shop {i}", "growth", uow=uow, clock=clock).id
        for i in range(BUSINESSES)
    ]
    uow.engine.dispose()
    seed(url, ids, total)
    meta.write_text(json.dumps({"messages": total, "business_id": ids[0]}), encoding="utf-8")
    return url, ids[0]


@contextmanager
def one_core() -> Iterator[int | None]:
    """This thread on one CPU, and every process it starts meanwhile (affinity is
    inherited); that CPU, or ``None`` where affinity cannot be set (then nothing is
    pinned, and the pass is not judged)."""
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    allowed = os.sched_getaffinity(0)
    cpu = max(allowed)
    os.sched_setaffinity(0, {cpu})
    try:
        yield cpu
    finally:
        os.sched_setaffinity(0, allowed)


def warm_page_cache(db: Path) -> None:
    """Read the database file (and its WAL) once, into the OS page cache."""
    for path in (db, db.with_name(db.name + "-wal")):
        if path.exists():
            with path.open("rb", buffering=0) as file:
                while file.read(1 << 20):
                    pass


def _pass(env: dict[str, str], logs: Path, token: str, requests: int) -> dict[str, Any]:
    with serving(1, env, logs) as servers, steal_share() as machine:
        result = measure(servers[0][0], token, requests)
    return {**result, **machine}


def bench_conversations(
    workdir: Path, total: int, requests: int, db: Path | None = None
) -> dict[str, Any]:
    """Seed (or reuse ``db``), then time the two pages through a ``neariq-sms serve``
    process: once free to move across cores, once sharing one core with the client."""
    started = time.perf_counter()
    db = db or workdir / "conversations.db"
    url, business_id = prepare(db, total)
    seeded_s = time.perf_counter() - started
    warm_page_cache(db)
    uow = new_uow(url)
    token = create_session(business_id, uow=uow, clock=SystemClock())
    uow.engine.dispose()
    env = {**os.environ, "NEARIQ_SMS_DATABASE_URL": url}
    free = _pass(env, workdir / "conversations-free", token, requests)
    with one_core() as cpu:
        pinned = _pass(env, workdir / "conversations-one-core", token, requests)
    worst = max(pinned["conversations"]["p99_ms"], pinned["thread"]["p99_ms"])
    # Without pinning the "one core" pass is a second free one: no verdict.
    met = None if cpu is None else worst < TARGET_P99_MS
    return {
        "messages": total,
        "seeded_s": round(seeded_s, 1),
        "one_core": {**pinned, "cpu": cpu},
        "free": free,
        "target": (
            f"p99 of both pages < {TARGET_P99_MS} ms at {total:,} messages (SQLite, HTTP;"
            " client and server pinned to one CPU, which leaves out vCPU wake-up delays)"
        ),
        "met": met,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.conversations")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument(
        "--db", type=Path, default=None, help="keep the seeded file here (reused when it exists)"
    )
    args = parser.parse_args(argv)
    compile_package()
    with tempfile.TemporaryDirectory() as tmp:
        result = bench_conversations(Path(tmp), args.messages, args.requests, args.db)
    for name, label in (("one_core", "one core: client and server on one CPU"), ("free", "free")):
        run = result[name]
        print(f"{label}:")
        for case in ("conversations", "thread"):
            r = run[case]
            aim = f"  (target p99 < {TARGET_P99_MS} ms)" if name == "one_core" else ""
            print(
                f"  {case:<14} at {result['messages']:,} messages: "
                f"p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms{aim}"
            )
        f = run["floor"]
        print(
            f"  {'404 floor':<14} (no storage): p50 {f['p50_ms']:.2f} ms  p99 {f['p99_ms']:.2f} ms"
        )
        if "steal_pct" in run:
            print(f"  {'steal':<14} {run['steal_pct']:.1f} % of CPU time went to other guests")
    verdicts = {True: "met", False: "MISSED", None: "not judged: the one-core pass was not pinned"}
    print(verdicts[result["met"]])
    return 1 if result["met"] is False else 0


if __name__ == "__main__":
    sys.exit(main())
