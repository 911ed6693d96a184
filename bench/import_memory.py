"""Peak memory of ``import_consents`` on the SQL adapter: flat from 100k to 1M rows.

Each size runs in a fresh child process that imports a generated stream of
rows (never a list) into a fresh database and reports its peak RSS
(``ru_maxrss``). SQLite always; PostgreSQL too when
``NEARIQ_SMS_TEST_POSTGRES_URL`` is set (a schema of its own, dropped after).

    python -m bench.import_memory [ROWS ...]        # default: 100000 1000000
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import ManualClock
from neariq_sms.adapters.sql import SqlUnitOfWork, make_engine, upgrade

SIZES = (100_000, 1_000_000)


def _rows(count: int) -> Iterator[dict[str, object]]:
    for i in range(count):
        yield {"phone": f"+1555{200 + i // 10_000 % 800:03d}{i % 10_000:04d}", "consented_at": None}


def child(url: str, schema: str, rows: int) -> None:
    """Import ``rows`` rows into a fresh database; print peak RSS and timing as JSON."""
    kwargs = {"connect_args": {"options": f"-c search_path={schema}"}} if schema else {}
    engine = make_engine(url, **kwargs)
    upgrade(engine)
    uow, clock = SqlUnitOfWork(engine), ManualClock()
    shop = uc.create_business("Import shop", "growth", uow=uow, clock=clock)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    report = uc.import_consents(shop.id, _rows(rows), uow=uow, clock=clock)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "rows": rows,
                "imported": report.imported,
                "skipped": report.skipped,
                "peak_rss_mib": round(peak / 1024, 1),
                "rss_before_import_mib": round(before / 1024, 1),
                "seconds": round(seconds, 1),
                "rows_per_s": round(rows / seconds),
            }
        )
    )


def _run(url: str, schema: str, rows: int) -> dict[str, object]:
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.import_memory", "--child", url, schema, str(rows)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(sizes: tuple[int, ...]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        for rows in sizes:
            print("sqlite", _run(f"sqlite:///{folder}/import-{rows}.db", "", rows), flush=True)
    pg_url = os.environ.get("NEARIQ_SMS_TEST_POSTGRES_URL")
    if not pg_url:
        print("postgres: NEARIQ_SMS_TEST_POSTGRES_URL not set, skipped")
        return
    admin = make_engine(pg_url)
    for rows in sizes:
        schema = f"bench_import_{os.getpid()}_{rows}"
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            print("postgres", _run(pg_url, schema, rows), flush=True)
        finally:
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
