"""Section 2: ``neariq-sms consent import`` as a user runs it, against the bare loop.

Both sides run as whole processes, each from a fresh empty directory, on the
deterministic file of issue 15 (:func:`bench.common.write_import_csv`:
``phone,consented_at,source``, per 200,000 rows 198,000 distinct valid US
numbers in seven formats and 2,000 invalid rows). The library side is the
``neariq-sms`` command into a freshly migrated SQLite file and a fresh
business; the bare side is :mod:`bench.bare_import` (csv, phonenumbers,
``sqlite3`` ``executemany`` ``INSERT OR IGNORE`` by 5,000, WAL). Runs
interleave; the figure is the median. Each child's peak RSS comes from
``wait4`` (the kernel's high-water mark of that process alone).

On PostgreSQL the same command imports through ``COPY`` and one merge per
batch, against :mod:`bench.bare_copy` (psycopg ``COPY`` + ``INSERT .. ON
CONFLICT DO NOTHING``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.common import (
    Shop,
    Sizes,
    create_shop,
    fresh_postgres,
    fresh_sqlite,
    import_rows_valid,
    new_uow,
    write_import_csv,
)
from neariq_sms.adapters.sql.tables import consents

HERE = Path(__file__).resolve().parent
CLI = Path(sys.executable).with_name("neariq-sms")


#: CPU seconds (user + system) of the last process :func:`_run` ran: on a shared
#: machine they move less with the load than the wall time does.
LAST_CPU_S = [0.0]


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run a whole process; (wall seconds, its peak RSS in MiB)."""
    cwd.mkdir(parents=True)
    started = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and scripts
        argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read().decode() if child.stderr else ""
    if child.returncode != 0:
        raise RuntimeError(f"{argv[:3]} failed ({child.returncode}): {stderr[-2000:]}")
    LAST_CPU_S[0] = usage.ru_utime + usage.ru_stime
    return seconds, usage.ru_maxrss / 1024


def _stored(url: str, table: sa.Table | str, business_id: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            name = table if isinstance(table, str) else table.name
            return int(
                conn.exec_driver_sql(
                    f"SELECT count(*) FROM {name} WHERE business_id = ?"  # noqa: S608 - ours
                    if engine.dialect.name == "sqlite"
                    else f"SELECT count(*) FROM {name} WHERE business_id = %s",  # noqa: S608
                    (business_id,),
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _cli_side(csv_path: Path, url: str, shop: Shop, cwd: Path) -> tuple[float, float]:
    argv = [str(CLI), "consent", "import", str(csv_path), "--business", shop.business_id]
    return _run(argv, cwd, {"NEARIQ_SMS_DATABASE_URL": url})


def _check(side: str, stored: int, rows: int) -> None:
    if stored != import_rows_valid(rows):
        raise AssertionError(f"{side} stored {stored} of {import_rows_valid(rows)} valid rows")


def bench_import(workdir: Path, sizes: Sizes) -> tuple[dict[str, Any], Path, str]:
    """SQLite: both sizes, ``rounds`` interleaved runs of each side at the small one."""
    small, large = sizes.import_rows
    results: dict[str, Any] = {"runs": {}}
    largest: tuple[Path, str] = (workdir, "")
    for rows in (small, large):
        csv_path = workdir / f"consents-{rows}.csv"
        write_import_csv(csv_path, rows)
        cli: list[float] = []
        bare: list[float] = []
        rss: list[float] = []
        cpu: list[float] = []
        rounds = sizes.import_rounds if rows == small else 1
        for attempt in range(rounds):
            for side in ("cli", "bare") if attempt % 2 == 0 else ("bare", "cli"):
                run_dir = workdir / f"run-{rows}-{attempt}-{side}"
                if side == "cli":
                    db = workdir / f"cli-{rows}-{attempt}.db"
                    url = fresh_sqlite(db)
                    uow = new_uow(url)
                    shop = create_shop(uow, f"Import {rows} {attempt}")
                    uow.engine.dispose()
                    seconds, peak = _cli_side(csv_path, url, shop, run_dir)
                    _check("cli", _stored(url, consents, shop.business_id), rows)
                    cli.append(seconds)
                    cpu.append(LAST_CPU_S[0])
                    rss.append(peak)
                    largest = (db, shop.business_id)
                else:
                    db = workdir / f"bare-{rows}-{attempt}.db"
                    argv = [sys.executable, str(HERE / "bare_import.py"), str(csv_path), str(db)]
                    seconds, _ = _run([*argv, "B1"], run_dir)
                    _check("bare", _stored(f"sqlite:///{db}", "bare_consents", "B1"), rows)
                    bare.append(seconds)
                    db.unlink()
        csv_path.unlink()
        results["runs"][str(rows)] = {
            "rows": rows,
            "cli_s": round(statistics.median(cli), 2),
            "bare_s": round(statistics.median(bare), 2),
            "ratio": round(statistics.median(bare) / statistics.median(cli), 3),
            "cli_peak_rss_mib": round(max(rss), 1),
            "cli_cpu_s": round(statistics.median(cpu), 2),
            "rounds": rounds,
        }
    s, big = results["runs"][str(small)], results["runs"][str(large)]
    results["rss_growth"] = round(big["cli_peak_rss_mib"] / s["cli_peak_rss_mib"] - 1, 3)
    results["time_growth"] = round(big["cli_s"] / s["cli_s"], 2)
    results["cpu_growth"] = round(big["cli_cpu_s"] / s["cli_cpu_s"], 2)
    results["bare_time_growth"] = round(big["bare_s"] / s["bare_s"], 2)
    results["size_growth"] = large / small
    results["target"] = (
        "small: cli >= 0.9x bare speed; large: peak RSS within 10%, time within 5.5x of small"
    )
    results["met"] = (
        s["ratio"] >= 0.9 and results["rss_growth"] <= 0.10 and results["time_growth"] <= 5.5
    )
    return results, largest[0], largest[1]


def bench_import_postgres(pg_url: str, workdir: Path, sizes: Sizes) -> dict[str, Any]:
    """PostgreSQL, the small size: the CLI (COPY + merge) against the bare COPY loop."""
    rows = sizes.import_rows[0]
    csv_path = workdir / f"consents-pg-{rows}.csv"
    write_import_csv(csv_path, rows)
    cli: list[float] = []
    bare: list[float] = []
    for attempt in range(sizes.import_rounds):
        for side in ("cli", "bare") if attempt % 2 == 0 else ("bare", "cli"):
            url = fresh_postgres(pg_url)
            run_dir = workdir / f"run-pg-{attempt}-{side}"
            if side == "cli":
                uow = new_uow(url)
                shop = create_shop(uow, f"PG import {attempt}")
                uow.engine.dispose()
                seconds, _ = _cli_side(csv_path, url, shop, run_dir)
                _check("cli", _stored(url, consents, shop.business_id), rows)
                cli.append(seconds)
            else:
                conninfo = sa.make_url(url).set(drivername="postgresql")
                dsn = conninfo.render_as_string(hide_password=False)
                argv = [sys.executable, str(HERE / "bare_copy.py"), str(csv_path), dsn, "B1"]
                seconds, _ = _run(argv, run_dir)
                _check("bare", _stored(url, "bare_consents", "B1"), rows)
                bare.append(seconds)
    csv_path.unlink()
    ratio = statistics.median(bare) / statistics.median(cli)
    return {
        "rows": rows,
        "cli_s": round(statistics.median(cli), 2),
        "bare_s": round(statistics.median(bare), 2),
        "ratio": round(ratio, 3),
        "rounds": sizes.import_rounds,
        "target": "cli >= 0.8x the bare COPY loop's speed",
        "met": ratio >= 0.8,
    }
