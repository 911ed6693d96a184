"""The bare PostgreSQL loop of issue 15, as a whole process: psycopg ``COPY`` + ``INSERT ..
ON CONFLICT DO NOTHING``.

``csv.reader`` -> ``phonenumbers`` parse, ``is_possible_number``, E.164 ->
``COPY`` of 5,000 rows into a temporary staging table -> ``INSERT INTO ..
SELECT .. ON CONFLICT DO NOTHING`` into a table with ``UNIQUE(business_id,
phone)``, one commit per batch. No library code.

    python bench/bare_copy.py FILE.csv CONNINFO BUSINESS_ID
"""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg

if __package__ in (None, ""):  # run as a script: python bench/bare_copy.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bare_rows import Row, valid_batches

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bare_consents (business_id text NOT NULL, phone text NOT NULL,"
    " consented_at text, source text, UNIQUE (business_id, phone))"
)
STAGE = (
    "CREATE TEMPORARY TABLE IF NOT EXISTS bare_stage (business_id text, phone text,"
    " consented_at text, source text) ON COMMIT DELETE ROWS"
)
MERGE = "INSERT INTO bare_consents SELECT * FROM bare_stage ON CONFLICT DO NOTHING"


def bare_copy(path: str, conninfo: str, business_id: str) -> int:
    """Import ``path``; returns the rows accepted (duplicates included)."""
    accepted = 0
    with psycopg.connect(conninfo) as conn:
        conn.execute(SCHEMA)
        conn.commit()
        for batch in valid_batches(path, business_id):
            accepted += _flush(conn, batch)
    return accepted


def _flush(conn: psycopg.Connection, batch: list[Row]) -> int:
    conn.execute(STAGE)
    with conn.cursor() as cursor, cursor.copy("COPY bare_stage FROM STDIN") as copy:
        for row in batch:
            copy.write_row(row)
    conn.execute(MERGE)
    conn.commit()
    return len(batch)


if __name__ == "__main__":
    print(bare_copy(*sys.argv[1:4]))
