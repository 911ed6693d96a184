"""The bare PostgreSQL loop of issue 15, as a whole process: psycopg ``COPY`` + ``INSERT ..
ON CONFLICT DO NOTHING``.

``csv.reader`` -> ``phonenumbers`` parse, ``is_possible_number``, E.164 ->
``COPY`` of 5,000 rows into a temporary staging table -> ``INSERT INTO ..
SELECT .. ON CONFLICT DO NOTHING`` into a table with ``UNIQUE(business_id,
phone)``, one commit per batch. No library code.

    python bench/bare_copy.py FILE.csv CONNINFO BUSINESS_ID
"""

from __future__ import annotations

import csv
import sys

import phonenumbers
import psycopg

BATCH = 5_000
E164 = phonenumbers.PhoneNumberFormat.E164
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
    batch: list[tuple[str, str, str, str]] = []
    with psycopg.connect(conninfo) as conn:
        conn.execute(SCHEMA)
        conn.commit()
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
                    accepted += _flush(conn, batch)
        if batch:
            accepted += _flush(conn, batch)
    return accepted


def _flush(conn: psycopg.Connection, batch: list[tuple[str, str, str, str]]) -> int:
    conn.execute(STAGE)
    with conn.cursor() as cursor, cursor.copy("COPY bare_stage FROM STDIN") as copy:
        for row in batch:
            copy.write_row(row)
    conn.execute(MERGE)
    conn.commit()
    done = len(batch)
    batch.clear()
    return done


if __name__ == "__main__":
    print(bare_copy(*sys.argv[1:4]))
