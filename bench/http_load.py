"""Section 4: ``neariq-sms serve`` on PostgreSQL under 8 concurrent clients.

Several ``serve --sandbox`` processes (waitress, 8 threads each) share one
fresh PostgreSQL database. A Growth business (allowance 500) has a consenting
recipient per request; the clients post ``send_review_request`` over
keep-alive connections on loopback until the planned number of requests is
spent — well past the allowance. Then the database is asked: the accepted
sends must equal the allowance exactly, and so must the stored usage.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.common import (
    Sizes,
    chunks,
    create_shop,
    fresh_postgres,
    new_uow,
    percentile,
    phone_e164,
    seed_consents,
)
from neariq_sms.adapters.clock import SystemClock
from neariq_sms.adapters.http.sessions import create_session
from neariq_sms.adapters.sql.tables import allowances, messages
from neariq_sms.domain.plans import DEFAULT_POLICY, Plan

READY_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve_command() -> list[str]:
    script = Path(sys.executable).with_name("neariq-sms")
    if script.exists():
        return [str(script)]
    found = shutil.which("neariq-sms")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from neariq_sms.cli import main; sys.exit(main())"]


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"serve on port {port} exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/sms/openapi.json")
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"serve on port {port} not ready after {READY_TIMEOUT_S} s")


@contextlib.contextmanager
def serving(
    count: int, env: dict[str, str], logs: Path, *args: str
) -> Iterator[list[tuple[int, subprocess.Popen[bytes]]]]:
    """``count`` ``neariq-sms serve [args]`` processes on free loopback ports, each
    logging to ``logs``-N.log, all answering; stopped (SIGINT, then kill) on exit."""
    servers: list[tuple[int, subprocess.Popen[bytes]]] = []
    with contextlib.ExitStack() as files:
        try:
            for n in range(count):
                port = _free_port()
                log = files.enter_context(logs.with_name(f"{logs.name}-{n}.log").open("wb"))
                proc = subprocess.Popen(  # noqa: S603 - our own entry point
                    [*_serve_command(), "serve", *args, "--host", "127.0.0.1", "--port", str(port)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                servers.append((port, proc))
            for port, proc in servers:
                _wait_ready(port, proc)
            yield servers
        finally:
            for _, proc in servers:
                proc.send_signal(signal.SIGINT)
            for _, proc in servers:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=15)


def _client(
    port: int,
    token: str,
    phones: list[str],
    latencies: list[float],
    outcomes: Counter[str],
    lock: threading.Lock,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
    headers = {
        "Content-Type": "application/json",
        "Cookie": f"neariq_session={token}",
    }
    mine: list[float] = []
    seen: Counter[str] = Counter()
    try:
        for phone in phones:
            body = json.dumps(
                {"action": "send_review_request", "to": phone, "customerName": "Jane Doe"}
            )
            started = time.perf_counter()
            conn.request("POST", "/api/sms", body=body, headers=headers)
            response = conn.getresponse()
            payload = json.loads(response.read())
            mine.append(time.perf_counter() - started)
            seen[f"{response.status} {payload.get('status') or payload.get('code')}"] += 1
    finally:
        conn.close()
        with lock:
            latencies.extend(mine)
            outcomes.update(seen)


def bench_http(base_url: str, sizes: Sizes, workdir: Path) -> dict[str, Any]:
    url = fresh_postgres(base_url)
    uow = new_uow(url)
    shop = create_shop(uow, "HTTP load", plan="growth")
    allowance = DEFAULT_POLICY.allowance_for(Plan.GROWTH)
    phones = [phone_e164(i) for i in range(sizes.http_requests)]
    seed_consents(uow.engine, shop.business_id, phones)
    token = create_session(shop.business_id, uow=uow, clock=SystemClock())

    env = {
        **os.environ,
        "NEARIQ_SMS_DATABASE_URL": url,
        "NEARIQ_SMS_QUIET_HOURS": "off",
    }
    with serving(sizes.http_servers, env, workdir / "serve", "--sandbox") as servers:
        latencies: list[float] = []
        outcomes: Counter[str] = Counter()
        lock = threading.Lock()
        threads = []
        offset = 0
        for c, share in enumerate(chunks(len(phones), sizes.http_clients)):
            port = servers[c % len(servers)][0]
            mine = phones[offset : offset + share]
            offset += share
            threads.append(
                threading.Thread(
                    target=_client, args=(port, token, mine, latencies, outcomes, lock)
                )
            )
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        seconds = time.perf_counter() - started

    with uow.engine.connect() as conn:
        accepted_rows = conn.execute(
            sa.select(sa.func.count()).where(
                messages.c.business_id == shop.business_id,
                messages.c.status.not_in(["failed", "canceled"]),
            )
        ).scalar_one()
        used = conn.execute(
            sa.select(sa.func.sum(allowances.c.used)).where(
                allowances.c.business_id == shop.business_id
            )
        ).scalar_one()
    uow.engine.dispose()
    accepted_http = sum(n for key, n in outcomes.items() if key.startswith("200 "))
    exact = accepted_rows == allowance == used == accepted_http
    return {
        "servers": sizes.http_servers,
        "threads_per_server": 8,
        "clients": sizes.http_clients,
        "requests": len(latencies),
        "seconds": round(seconds, 2),
        "requests_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "outcomes": dict(sorted(outcomes.items())),
        "allowance": allowance,
        "accepted_http": accepted_http,
        "accepted_in_db": accepted_rows,
        "allowance_used_in_db": used,
        "target": "accepted sends == allowance exactly",
        "met": bool(exact) and len(latencies) == sizes.http_requests,
    }
