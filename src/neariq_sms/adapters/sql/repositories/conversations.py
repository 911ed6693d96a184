"""Conversation threads: one summary row per (business, phone).

The rows are written when the unit of work commits, one upsert per thread
that computes the new row from the stored one in the statement itself (no
read-modify-write): concurrent messages of one thread never lose a count,
and thread rows are always the last rows a transaction locks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from neariq_sms.adapters.sql.statements import Db, per_dialect, sorts_before
from neariq_sms.adapters.sql.tables import UtcDateTime, conversations
from neariq_sms.domain.conversations import Conversation, Direction
from neariq_sms.domain.phone import PhoneNumber

_C = conversations.c


def _note(insert: Any) -> Any:
    statement = insert(conversations).values(
        business_id=sa.bindparam("p_business_id"),
        phone=sa.bindparam("p_phone"),
        last_message_at=sa.bindparam("p_at", type_=UtcDateTime),
        last_direction=sa.bindparam("p_direction"),
        last_body=sa.bindparam("p_body"),
        last_kind=sa.bindparam("p_kind"),
        unread=sa.bindparam("p_unread"),
        last_inbound_at=sa.bindparam("p_inbound_at", type_=UtcDateTime),
    )
    new = statement.excluded
    later = new.last_message_at >= _C.last_message_at

    def latest(column: str) -> Any:
        return sa.case((later, new[column]), else_=_C[column])

    return statement.on_conflict_do_update(
        index_elements=["business_id", "phone"],
        set_={
            "last_message_at": latest("last_message_at"),
            "last_direction": latest("last_direction"),
            "last_body": latest("last_body"),
            "last_kind": latest("last_kind"),
            "unread": _C.unread + new.unread,
            "last_inbound_at": sa.case(
                (_C.last_inbound_at.is_(None), new.last_inbound_at),
                (new.last_inbound_at > _C.last_inbound_at, new.last_inbound_at),
                else_=_C.last_inbound_at,
            ),
        },
    )


_NOTE = per_dialect(_note)
_GET = sa.select(conversations).where(
    _C.business_id == sa.bindparam("p_business_id"), _C.phone == sa.bindparam("p_phone")
)
_MARK_READ = (
    sa.update(conversations)
    .where(
        _C.business_id == sa.bindparam("p_business_id"),
        _C.phone == sa.bindparam("p_phone"),
        _C.unread > 0,
    )
    .values(unread=0)
)


def _load(row: sa.Row[Any]) -> Conversation:
    return Conversation(
        business_id=row.business_id,
        phone=PhoneNumber(row.phone),
        last_message_at=row.last_message_at,
        last_direction=Direction(row.last_direction),
        last_body=row.last_body,
        last_kind=row.last_kind,
        unread=row.unread,
        last_inbound_at=row.last_inbound_at,
    )


class SqlConversations:
    def __init__(self, db: Db) -> None:
        self._db = db
        self._pending: list[dict[str, Any]] = []

    def note(
        self,
        business_id: str,
        phone: PhoneNumber,
        *,
        at: datetime,
        direction: Direction,
        body: str,
        kind: str,
    ) -> None:
        """Queue the thread update of a message just stored (written by :meth:`flush`)."""
        inbound = direction is Direction.INBOUND
        self._pending.append(
            {
                "p_business_id": business_id,
                "p_phone": phone.e164,
                "p_at": at,
                "p_direction": direction.value,
                "p_body": body,
                "p_kind": kind,
                "p_unread": 1 if inbound else 0,
                "p_inbound_at": at if inbound else None,
            }
        )

    def flush(self) -> None:
        """Write the queued thread updates: just before the commit, in key order
        (so that transactions touching several threads lock them in one order)."""
        if not self._pending:
            return
        pending = sorted(self._pending, key=lambda p: (p["p_business_id"], p["p_phone"]))
        self._pending = []
        statement = self._db.pick(_NOTE)
        for params in pending:  # one at a time: two updates of one thread in one batch
            self._db.conn.execute(statement, params)

    def discard(self) -> None:
        self._pending = []

    def get(self, business_id: str, phone: PhoneNumber) -> Conversation | None:
        row = self._db.conn.execute(
            _GET, {"p_business_id": business_id, "p_phone": phone.e164}
        ).first()
        return None if row is None else _load(row)

    def page(
        self, business_id: str, *, before: tuple[datetime, str] | None, limit: int
    ) -> Sequence[Conversation]:
        query = sa.select(conversations).where(_C.business_id == business_id)
        if before is not None:
            query = query.where(sorts_before(_C.last_message_at, _C.phone, before))
        query = query.order_by(_C.last_message_at.desc(), _C.phone.desc()).limit(limit)
        return [_load(row) for row in self._db.conn.execute(query)]

    def mark_read(self, business_id: str, phone: PhoneNumber) -> None:
        self._db.conn.execute(_MARK_READ, {"p_business_id": business_id, "p_phone": phone.e164})


__all__ = ["SqlConversations"]
