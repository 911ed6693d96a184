"""Section 5: GET ``/api/sms`` latency on SQLite, idle and while eight clients send.

Two ``neariq-sms serve --sandbox`` processes (waitress, 8 threads each) on one
SQLite file (WAL). One reader asks GET ``/api/sms`` (status: business, number,
allowance) over a keep-alive connection, first alone, then while eight
clients post review requests as fast as they get answers. Reads open
deferred transactions (``uow.reading()``), so they never queue behind the
senders' write lock: the busy p99 stays near the idle one.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import Sizes, create_shop, fresh_sqlite, new_uow, percentile, seed_consents
from bench.http_load import REQUEST_TIMEOUT_S, serving
from neariq_sms.adapters.clock import SystemClock
from neariq_sms.adapters.http.sessions import create_session

SENDERS = 8


def _connect(port: int, token: str) -> tuple[http.client.HTTPConnection, dict[str, str]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    return conn, {"Content-Type": "application/json", "Cookie": f"neariq_session={token}"}


def _gets(port: int, token: str, count: int) -> list[float]:
    conn, headers = _connect(port, token)
    latencies = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            conn.request("GET", "/api/sms", headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"GET /api/sms answered {response.status}")
            latencies.append(time.perf_counter() - started)
    finally:
        conn.close()
    return latencies


def _sender(port: int, token: str, phones: list[str], stop: threading.Event) -> None:
    conn, headers = _connect(port, token)
    try:
        for phone in phones:
            if stop.is_set():
                return
            body = json.dumps({"action": "send_review_request", "to": phone, "customerName": "Jo"})
            conn.request("POST", "/api/sms", body=body, headers=headers)
            conn.getresponse().read()
    finally:
        conn.close()


def bench_reads(workdir: Path, sizes: Sizes) -> dict[str, Any]:
    url = fresh_sqlite(workdir / "reads.db")
    uow = new_uow(url)
    shop = create_shop(uow, "Reads under load")
    per_sender = sizes.read_gets * 4
    phones = [f"+1512{3_000_000 + i:07d}" for i in range(SENDERS * per_sender)]
    seed_consents(uow.engine, shop.business_id, phones)
    token = create_session(shop.business_id, uow=uow, clock=SystemClock())
    uow.engine.dispose()
    env = {**os.environ, "NEARIQ_SMS_DATABASE_URL": url, "NEARIQ_SMS_QUIET_HOURS": "off"}
    with serving(2, env, workdir / "reads-serve", "--sandbox") as servers:
        reader_port = servers[0][0]
        _gets(reader_port, token, 20)  # warm-up
        idle = _gets(reader_port, token, sizes.read_gets)
        stop = threading.Event()
        senders = [
            threading.Thread(
                target=_sender,
                args=(
                    servers[n % 2][0],
                    token,
                    phones[n * per_sender : (n + 1) * per_sender],
                    stop,
                ),
            )
            for n in range(SENDERS)
        ]
        for t in senders:
            t.start()
        time.sleep(0.5)  # the senders are under way
        busy = _gets(reader_port, token, sizes.read_gets)
        stop.set()
        for t in senders:
            t.join(timeout=120)
    idle_p99, busy_p99 = percentile(idle, 0.99), percentile(busy, 0.99)
    ratio = busy_p99 / idle_p99
    return {
        "gets": sizes.read_gets,
        "senders": SENDERS,
        "idle_p50_ms": round(percentile(idle, 0.5) * 1000, 2),
        "idle_p99_ms": round(idle_p99 * 1000, 2),
        "busy_p50_ms": round(percentile(busy, 0.5) * 1000, 2),
        "busy_p99_ms": round(busy_p99 * 1000, 2),
        "ratio": round(ratio, 2),
        "target": "GET p99 while 8 clients send <= 2x the idle p99 (SQLite)",
        "met": ratio <= 2.0,
    }
