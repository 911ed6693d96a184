"""The bare loop of issue 15, as a whole process: what no CSV consent import can beat by much.

``csv.reader`` -> ``phonenumbers.parse``, ``is_possible_number``, E.164 ->
``sqlite3`` ``executemany`` ``INSERT OR IGNORE`` in batches of 5,000 into a
table with ``UNIQUE(business_id, phone)``, WAL mode, one commit per batch.
No library code: only the standard library and phonenumbers are imported.

    python -m bench.bare_import FILE.csv DB BUSINESS_ID
"""

from __future__ import annotations

import csv
import sqlite3
import sys

import phonenumbers

BATCH = 5_000
E164 = phonenumbers.PhoneNumberFormat.E164
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bare_consents (business_id TEXT NOT NULL, phone TEXT NOT NULL,"
    " consented_at TEXT, source TEXT, UNIQUE (business_id, phone))"
)
INSERT = "INSERT OR IGNORE INTO bare_consents VALUES (?, ?, ?, ?)"


def bare_import(path: str, db: str, business_id: str) -> int:
    """Import ``path``; returns the rows accepted (duplicates included)."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(SCHEMA)
    accepted = 0
    batch: list[tuple[str, str, str, str]] = []
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for phone, consented_at, source in reader:
            try:
                parsed = phonenumbers.parse(phone, "US")
            except phonenumbers.NumberParseException:
                continue
            if not phonenumbers.is_possible_number(parsed):
                continue
            e164 = phonenumbers.format_number(parsed, E164)
            batch.append((business_id, e164, consented_at, source))
            if len(batch) == BATCH:
                _flush(conn, batch)
                accepted += len(batch)
                batch.clear()
    if batch:
        _flush(conn, batch)
        accepted += len(batch)
    conn.close()
    return accepted


def _flush(conn: sqlite3.Connection, batch: list[tuple[str, str, str, str]]) -> None:
    conn.execute("BEGIN")
    conn.executemany(INSERT, batch)
    conn.execute("COMMIT")


if __name__ == "__main__":
    print(bare_import(*sys.argv[1:4]))
