"""Section 2: ``neariq-sms consent import`` against the limit loop, and its peak memory.

The library side is the CLI command (``cli.main``, in process): the CSV
reader, header detection, the reject file, ``import_consents`` in batches of
1,000 — existing-record check, record insert, audit-event insert. The limit
loop is what no importer can beat by much: ``csv.reader``, phonenumbers
parse / is_possible / format, ``datetime.fromisoformat``, and one
``INSERT .. ON CONFLICT DO NOTHING`` per 1,000 rows on the same engine.

Peak RSS runs in fresh subprocesses (``python -m bench.consent_import FILE
URL``), each importing its whole file; the figure is the kernel's high-water
mark (``VmHWM``) at the end.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from bench.common import Sizes, create_shop, fresh_sqlite, new_uow, write_consent_csv
from neariq_sms import cli
from neariq_sms.adapters.sql.tables import consent_events, consents

BATCH = 1_000
E164 = phonenumbers.PhoneNumberFormat.E164


def limit_loop(path: Path, engine: sa.Engine, business_id: str, *, events: bool = False) -> int:
    """csv + phonenumbers + batched insert: the floor of any CSV consent import.

    ``events=True`` also writes one audit row per record, as DESIGN.md asks of
    the library (a reference figure, not the target's limit).
    """
    insert = sqlite.insert(consents).on_conflict_do_nothing()
    audit = consent_events.insert()
    now = datetime.now(UTC)
    stored = 0
    batch: list[dict[str, Any]] = []
    with path.open(encoding="utf-8", newline="") as handle, engine.connect() as conn:
        reader = csv.reader(handle)
        next(reader)
        for row in reader:
            try:
                parsed = phonenumbers.parse(row[0], "US")
            except phonenumbers.NumberParseException:
                continue
            if not phonenumbers.is_possible_number(parsed):
                continue
            batch.append(
                {
                    "business_id": business_id,
                    "phone": phonenumbers.format_number(parsed, E164),
                    "source": row[2] or "import",
                    "consented_at": datetime.fromisoformat(row[1]),
                    "updated_at": now,
                    "opted_out_at": None,
                    "opt_out_source": None,
                }
            )
            if len(batch) == BATCH:
                _flush(conn, insert, audit if events else None, batch, now)
                stored += len(batch)
                batch.clear()
        if batch:
            _flush(conn, insert, audit if events else None, batch, now)
            stored += len(batch)
    return stored


def _flush(
    conn: sa.Connection,
    insert: Any,
    audit: Any,
    batch: list[dict[str, Any]],
    now: datetime,
) -> None:
    conn.execute(insert, batch)
    if audit is not None:
        conn.execute(
            audit,
            [
                {
                    "business_id": r["business_id"],
                    "phone": r["phone"],
                    "kind": "consented",
                    "source": r["source"],
                    "at": now,
                }
                for r in batch
            ],
        )
    conn.commit()


def library_import(path: Path, url: str, business_id: str) -> str:
    """``neariq-sms consent import FILE --business ID`` in this process; its stdout."""
    previous = os.environ.get("NEARIQ_SMS_DATABASE_URL")
    os.environ["NEARIQ_SMS_DATABASE_URL"] = url
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            status = cli.main(["consent", "import", str(path), "--business", business_id])
    finally:
        if previous is None:
            del os.environ["NEARIQ_SMS_DATABASE_URL"]
        else:
            os.environ["NEARIQ_SMS_DATABASE_URL"] = previous
    if status != 0:
        raise RuntimeError(f"consent import failed: {out.getvalue()}")
    return out.getvalue()


def _count(url: str, business_id: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).where(consents.c.business_id == business_id)
                ).scalar_one()
            )
    finally:
        engine.dispose()


def bench_import(workdir: Path, sizes: Sizes) -> dict[str, Any]:
    """Best of ``rounds`` (at most 2) alternating runs, each into a fresh SQLite file."""
    csv_path = workdir / "consents-throughput.csv"
    write_consent_csv(csv_path, sizes.import_rows)
    best = {"library": 0.0, "limit": 0.0, "limit + audit events": 0.0}
    for attempt in range(min(2, sizes.rounds)):
        order = list(best) if attempt % 2 else list(reversed(best))
        for side in order:
            url = fresh_sqlite(workdir / f"import-{side.replace(' ', '')}.db")
            uow = new_uow(url)
            shop = create_shop(uow, f"Import {side}")
            started = time.perf_counter()
            if side == "library":
                library_import(csv_path, url, shop.business_id)
            else:
                limit_loop(csv_path, uow.engine, shop.business_id, events=side != "limit")
            seconds = time.perf_counter() - started
            stored = _count(url, shop.business_id)
            uow.engine.dispose()
            if stored != sizes.import_rows:
                raise AssertionError(f"{side} stored {stored} of {sizes.import_rows} rows")
            best[side] = max(best[side], stored / seconds)
    share = best["library"] / best["limit"]
    return {
        "rows": sizes.import_rows,
        "library_rows_per_s": round(best["library"]),
        "limit_rows_per_s": round(best["limit"]),
        "limit_with_events_rows_per_s": round(best["limit + audit events"]),
        "share_of_limit_with_events": round(best["library"] / best["limit + audit events"], 3),
        "share_of_limit": round(share, 3),
        "target": "library >= 0.85 of the limit's rows/s",
        "met": share >= 0.85,
    }


def bench_rss(workdir: Path, sizes: Sizes) -> tuple[dict[str, Any], Path, str]:
    """Peak RSS of a fresh process importing each size; returns the largest database too."""
    runs: list[dict[str, Any]] = []
    largest_db = workdir / "rss-0.db"
    largest_business = ""
    for rows in sizes.rss_rows:
        csv_path = workdir / f"consents-{rows}.csv"
        write_consent_csv(csv_path, rows)
        db = workdir / f"rss-{rows}.db"
        url = fresh_sqlite(db)
        uow = new_uow(url)
        shop = create_shop(uow, f"RSS {rows}")
        uow.engine.dispose()
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bench.consent_import", str(csv_path), url, shop.business_id],
            capture_output=True,
            text=True,
            check=False,
            timeout=1800,
            cwd=Path(__file__).resolve().parent.parent,
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise RuntimeError(f"import child failed: {done.stderr[-2000:]}")
        child = json.loads(done.stdout.strip().splitlines()[-1])
        runs.append(
            {
                "rows": rows,
                "peak_rss_mib": round(child["vm_hwm_kib"] / 1024, 1),
                "baseline_rss_mib": round(child["rss_before_kib"] / 1024, 1),
                "seconds": round(seconds, 1),
            }
        )
        csv_path.unlink()
        largest_db, largest_business = db, shop.business_id
    small, big = runs[0]["peak_rss_mib"], runs[-1]["peak_rss_mib"]
    growth = big / small - 1
    result = {
        "runs": runs,
        "growth": round(growth, 3),
        "target": "peak RSS flat within 20% from the small to the large import",
        "met": growth <= 0.20,
    }
    return result, largest_db, largest_business


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def _child(csv_path: str, url: str, business_id: str) -> None:
    import neariq_sms.adapters.sql  # noqa: F401 - loaded before the baseline figure

    rss_before = _status_kib("VmRSS")
    library_import(Path(csv_path), url, business_id)
    print(json.dumps({"vm_hwm_kib": _status_kib("VmHWM"), "rss_before_kib": rss_before}))


if __name__ == "__main__":
    _child(*sys.argv[1:4])
