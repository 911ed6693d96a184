"""The bare dispatcher of issue 15, as a whole process: what no dispatcher can beat by much.

A loop a developer writes by hand over the library's own ``messages`` table:
claim the oldest due row (by ``send_at``, which the ``(status, send_at)`` index
serves without a sort) with one conditional ``UPDATE .. RETURNING`` (SQLite, under
``BEGIN IMMEDIATE``; PostgreSQL: its ``SELECT .. FOR UPDATE SKIP LOCKED``), call
the provider, record the sid and status. No re-check of any rule, no refunds.
The "provider" is the sandbox's own work, written out in SQL: one row in
``sandbox_messages``, kept only if the sender is a number of the account, in a
transaction of its own — what ``neariq-sms dispatch --sandbox`` pays per send
too, so that both sides pay the same provider and are counted the same way.
No library code: only the standard library and the driver are imported.

    python -m bench.bare_dispatch sqlite PATH.db
    python -m bench.bare_dispatch postgresql DSN
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime
from typing import Any

SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"

_CLAIM = (
    "UPDATE messages SET status = 'submitting', updated_at = {p}"
    " WHERE id = (SELECT id FROM messages WHERE status = 'scheduled' AND send_at <= {p}"
    " ORDER BY send_at LIMIT 1{lock}) AND status = 'scheduled'"
    " RETURNING id, from_phone, to_phone, body"
)
_RECORD_CALL = (
    "INSERT INTO sandbox_messages (sid, from_phone, to_phone, body, sent_at, message_id)"
    " SELECT {p}, {p}, {p}, {p}, {p}, {p}"
    " WHERE EXISTS (SELECT 1 FROM sandbox_numbers WHERE number = {p}) RETURNING sid"
)
_RECORD_SENT = (
    "UPDATE messages SET status = 'queued', provider_sid = {p}, updated_at = {p}"
    " WHERE id = {p} AND status = 'submitting'"
)


def _sqlite(path: str) -> int:
    import sqlite3

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    claim = _CLAIM.format(p="?", lock="")
    call, sent = (s.format(p="?") for s in (_RECORD_CALL, _RECORD_SENT))

    def now() -> str:
        return datetime.now(UTC).replace(tzinfo=None).strftime(SQLITE_TIME)

    def write(sql: str, params: tuple[Any, ...]) -> Any:
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute(sql, params).fetchone()
        conn.execute("COMMIT")
        return row

    done = 0
    while (row := write(claim, (now(), now()))) is not None:
        message_id, from_phone, to_phone, body = row
        sid = f"SM{uuid.uuid4().hex}"
        if write(call, (sid, from_phone, to_phone, body, now(), message_id, from_phone)) is None:
            raise SystemExit(f"{from_phone} is not a sandbox number")
        write(sent, (sid, now(), message_id))
        done += 1
    conn.close()
    return done


def _postgresql(dsn: str) -> int:
    import psycopg

    claim = _CLAIM.format(p="%s", lock=" FOR UPDATE SKIP LOCKED")
    call, sent = (s.format(p="%s") for s in (_RECORD_CALL, _RECORD_SENT))
    done = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            with conn.transaction():
                t = datetime.now(UTC)
                row = conn.execute(claim, (t, t)).fetchone()
            if row is None:
                break
            message_id, from_phone, to_phone, body = row
            sid = f"SM{uuid.uuid4().hex}"
            with conn.transaction():
                at = datetime.now(UTC)
                params = (sid, from_phone, to_phone, body, at, message_id, from_phone)
                if conn.execute(call, params).fetchone() is None:
                    raise SystemExit(f"{from_phone} is not a sandbox number")
            with conn.transaction():
                conn.execute(sent, (sid, datetime.now(UTC), message_id))
            done += 1
    return done


if __name__ == "__main__":
    backend, target = sys.argv[1:3]
    print(_sqlite(target) if backend == "sqlite" else _postgresql(target))
