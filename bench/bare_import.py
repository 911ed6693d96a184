"""The bare loop of issue 15, as a whole process: what no CSV consent import can beat by much.

``csv.reader`` -> ``phonenumbers.parse``, ``is_possible_number``, E.164 ->
``sqlite3`` ``executemany`` ``INSERT OR IGNORE`` in batches of 5,000 into a
table with ``UNIQUE(business_id, phone)``, WAL mode, one commit per batch.
No library code: only the standard library and phonenumbers are imported.

    python -m bench.bare_import FILE.csv DB BUSINESS_ID
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/bare_import.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bare_rows import Row, valid_batches

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
    for batch in valid_batches(path, business_id):
        _flush(conn, batch)
        accepted += len(batch)
    conn.close()
    return accepted


def _flush(conn: sqlite3.Connection, batch: list[Row]) -> None:
    conn.execute("BEGIN")
    conn.executemany(INSERT, batch)
    conn.execute("COMMIT")


if __name__ == "__main__":
    print(bare_import(*sys.argv[1:4]))
