"""Section 6: two ``neariq-sms dispatch`` processes at once, against two bare loops.

The fixture is made once per backend through the library's own use cases:
``businesses`` businesses on a plan, each with a sandbox number and
consenting recipients, and ``messages`` review requests asked for in quiet
hours two days ago, so each is stored ``scheduled`` with its units reserved
and is due now. Every run starts from a copy of it (SQLite: the file;
PostgreSQL: ``CREATE DATABASE .. TEMPLATE``).

The library side is two ``neariq-sms dispatch --sandbox`` processes started
together, each from a fresh empty directory; the bare side is two
:mod:`bench.bare_dispatch` processes (claim one row, the sandbox's provider
work written out in SQL, record). Rounds interleave the sides; the figure
is the median wall time from the first start to the last exit. After each
run the database must hold every message ``queued`` with exactly one
provider call (``sandbox_messages`` rows per message id across both
processes) and, per business and month, allowance used == Σ units.

    python -m bench.dispatch [--smoke] [--backend sqlite|postgresql] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import sqlalchemy as sa

if __package__ in (None, ""):  # run as a script: bench/dispatch.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    BENCH_DB_NAME,
    FULL,
    SMOKE,
    Sizes,
    create_shop,
    fresh_postgres,
    fresh_sqlite,
    new_uow,
    phone_e164,
    seed_consents,
)
from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import ManualClock
from neariq_sms.adapters.memory import SimulatedTelephony
from neariq_sms.adapters.sql.sandbox import SqlSandboxState
from neariq_sms.domain.plans import Plan, Policy

HERE = Path(__file__).resolve().parent
CLI = Path(sys.executable).with_name("neariq-sms")
#: Area codes of the sandbox's localities: 77 numbers each, enough for 100 businesses.
_SHOP_AREAS = ("512", "206", "303", "415", "617", "702", "713", "305", "312", "404")
#: Quiet hours at every recipient (02:00-05:00 across the US): each send is scheduled.
_ASKED_HOUR = 10


def _asked_at() -> datetime:
    """Two days ago at 10:00 UTC: the messages went out of quiet hours that morning."""
    day = (datetime.now(UTC) - timedelta(days=2)).date()
    return datetime(day.year, day.month, day.day, _ASKED_HOUR, tzinfo=UTC)


def seed(url: str, businesses: int, messages: int) -> int:
    """The fixture, through the use cases; how many messages are due."""
    uow = new_uow(url)
    clock = ManualClock(_asked_at())
    telephony = SimulatedTelephony(state=SqlSandboxState(uow.engine), clock=clock)
    policy = Policy(monthly_allowance={Plan.ENTERPRISE: 10**9})  # quiet hours on
    per_shop = -(-messages // businesses)
    sent = 0
    for b in range(businesses):
        shop = create_shop(uow, f"Dispatch {b}", area_code=_SHOP_AREAS[b % len(_SHOP_AREAS)])
        count = min(per_shop, messages - sent)
        recipients = [phone_e164(b * per_shop + i) for i in range(count)]
        seed_consents(uow.engine, shop.business_id, recipients)
        for to in recipients:
            result = uc.send_review_request(
                shop.business_id, to, "Jane", uow=uow, telephony=telephony, clock=clock,
                policy=policy,
            )  # fmt: skip
            if result.status.value != "scheduled":
                raise AssertionError(f"seeding sent a message at once: {result}")
        sent += count
    uow.engine.dispose()
    return sent


def _pg_clone(url: str, template: str, name: str) -> str:
    server = sa.make_url(url).set(database="postgres")
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        admin.dispose()
    return sa.make_url(url).set(database=name).render_as_string(hide_password=False)


def _sqlite_clone(source: Path, target: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    return f"sqlite:///{target}"


def _start(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    cwd.mkdir(parents=True)
    return subprocess.Popen(  # noqa: S603 - our own interpreter and scripts
        argv,
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def run_pair(
    argvs: list[list[str]], workdir: Path, env: dict[str, str]
) -> tuple[float, float, list[str]]:
    """Start the processes together; (wall seconds to the last exit, CPU seconds of
    them all — less moved by a shared machine's load —, their outputs)."""
    started = time.perf_counter()
    children = [_start(argv, workdir / f"p{i}", env) for i, argv in enumerate(argvs)]
    cpu = 0.0
    outputs = []
    for child in children:
        _, status, usage = os.wait4(child.pid, 0)  # the few lines they print fit a pipe
        cpu += usage.ru_utime + usage.ru_stime
        child.returncode = os.waitstatus_to_exitcode(status)
        out, err = (
            stream.read().decode() if stream else "" for stream in (child.stdout, child.stderr)
        )
        if child.returncode != 0:
            raise RuntimeError(f"dispatcher failed ({child.returncode}): {err[-2000:]}")
        outputs.append(out.strip())
    return time.perf_counter() - started, cpu, outputs


def check(url: str, expected: int) -> dict[str, Any]:
    """The final state: ``correct`` when every message was sent exactly once and
    allowance used == Σ units."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            statuses = dict(
                conn.exec_driver_sql("SELECT status, count(*) FROM messages GROUP BY status").all()
            )
            calls, distinct = conn.exec_driver_sql(
                "SELECT count(*), count(DISTINCT message_id) FROM sandbox_messages"
            ).one()
            uncalled = conn.exec_driver_sql(
                "SELECT count(*) FROM messages m WHERE NOT EXISTS"
                " (SELECT 1 FROM sandbox_messages s WHERE s.message_id = m.id)"
            ).scalar_one()
            allowance_off = conn.exec_driver_sql(
                "SELECT count(*) FROM allowances a WHERE a.used <>"
                " (SELECT coalesce(sum(m.units), 0) FROM messages m"
                " WHERE m.business_id = a.business_id AND m.period = a.period)"
            ).scalar_one()
    finally:
        engine.dispose()
    figures = {
        "queued": statuses.get("queued", 0),
        "provider_calls": calls,
        "double_sends": calls - distinct,
        "never_sent": uncalled,
        "allowance_rows_off": allowance_off,
    }
    figures["statuses"] = statuses
    figures["correct"] = not (
        statuses != {"queued": expected} or figures["double_sends"] or uncalled or allowance_off
    )
    return figures


def _library_argv() -> list[str]:
    return [str(CLI), "dispatch", "--sandbox"]


def _bare_argv(backend: str, url: str) -> list[str]:
    script = str(HERE / "bare_dispatch.py")
    if backend == "sqlite":
        return [sys.executable, script, "sqlite", sa.make_url(url).database or ""]
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    return [sys.executable, script, "postgresql", dsn]


def bench_dispatch(
    backend: str, workdir: Path, sizes: Sizes, pg_url: str | None = None
) -> dict[str, Any]:
    """``rounds`` interleaved runs of each side on copies of one fixture."""
    total, shops = sizes.dispatch_messages, sizes.dispatch_businesses
    if backend == "sqlite":
        template_path = workdir / "dispatch-fixture.db"
        seed_url = fresh_sqlite(template_path)
    else:
        assert pg_url is not None
        seed_url = fresh_postgres(pg_url)
    due = seed(seed_url, shops, total)
    times: dict[str, list[float]] = {"library": [], "bare": []}
    cpus: dict[str, list[float]] = {"library": [], "bare": []}
    checks: dict[str, dict[str, Any]] = {}
    splits: dict[str, list[str]] = {}
    for attempt in range(sizes.dispatch_rounds):
        for side in ("library", "bare") if attempt % 2 == 0 else ("bare", "library"):
            run_dir = workdir / f"dispatch-{backend}-{attempt}-{side}"
            if backend == "sqlite":
                url = _sqlite_clone(template_path, workdir / f"dispatch-{attempt}-{side}.db")
            else:
                url = _pg_clone(seed_url, BENCH_DB_NAME, f"{BENCH_DB_NAME}_run")
            argv = _library_argv() if side == "library" else _bare_argv(backend, url)
            seconds, cpu, outputs = run_pair(
                [argv, argv], run_dir, {"NEARIQ_SMS_DATABASE_URL": url}
            )
            cpus[side].append(cpu)
            figures = check(url, due)
            if side not in checks or not figures["correct"]:
                checks[side] = figures  # a wrong state in any round is the one shown
            splits[side] = [" ".join(o.split()) for o in outputs]
            times[side].append(seconds)
            if backend == "sqlite":
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{sa.make_url(url).database}{suffix}").unlink(missing_ok=True)
    library, bare = statistics.median(times["library"]), statistics.median(times["bare"])
    ratio = bare / library
    return {
        "backend": backend,
        "messages": due,
        "businesses": shops,
        "processes": 2,
        "library_s": round(library, 2),
        "bare_s": round(bare, 2),
        "library_runs_s": [round(t, 2) for t in times["library"]],
        "bare_runs_s": [round(t, 2) for t in times["bare"]],
        "ratio": round(ratio, 3),
        "library_cpu_s": round(statistics.median(cpus["library"]), 2),
        "bare_cpu_s": round(statistics.median(cpus["bare"]), 2),
        "cpu_ratio": round(statistics.median(cpus["bare"]) / statistics.median(cpus["library"]), 3),
        "library_per_s": round(due / library),
        "bare_per_s": round(due / bare),
        "double_sends": checks["library"]["double_sends"] + checks["bare"]["double_sends"],
        "checks": checks,
        "outputs": splits,
        "rounds": sizes.dispatch_rounds,
        "load": os.getloadavg(),
        "target": "library >= 0.8x the bare loop's speed; 0 double sends",
        "correct": checks["library"]["correct"] and checks["bare"]["correct"],
        "met": ratio >= 0.8 and checks["library"]["correct"] and checks["bare"]["correct"],
    }


def main(argv: list[str] | None = None) -> int:
    import tempfile

    from bench.common import compile_package, postgres_base_url

    parser = argparse.ArgumentParser(prog="python -m bench.dispatch")
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), action="append")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--messages", type=int, default=None)
    args = parser.parse_args(argv)
    compile_package()
    sizes = SMOKE if args.smoke else FULL
    if args.rounds is not None:
        sizes = attrs.evolve(sizes, dispatch_rounds=args.rounds)
    if args.messages is not None:
        sizes = attrs.evolve(sizes, dispatch_messages=args.messages)
    pg_url = postgres_base_url()
    for backend in args.backend or ("sqlite", "postgresql"):
        if backend == "postgresql" and not pg_url:
            print("postgresql: skipped (no URL)")
            continue
        with tempfile.TemporaryDirectory(prefix="neariq-bench-dispatch-") as tmp:
            result = bench_dispatch(backend, Path(tmp), sizes, pg_url)
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
