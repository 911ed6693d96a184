"""Outbound and inbound messages.

Statuses move by ``UPDATE .. WHERE status IN (..) RETURNING``: concurrent
callers cannot both win a transition.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from neariq_sms.adapters.sql.mapping import INBOUND, MESSAGE, answer_text
from neariq_sms.adapters.sql.repositories.conversations import SqlConversations
from neariq_sms.adapters.sql.statements import (
    Db,
    PerDialect,
    one_of,
    per_dialect,
    sorts_before,
)
from neariq_sms.adapters.sql.tables import UtcDateTime, inbound_messages, messages
from neariq_sms.domain.conversations import INBOUND_KIND, Direction
from neariq_sms.domain.errors import IdempotencyConflict, ReminderConflict
from neariq_sms.domain.messages import (
    NEVER_SENT,
    InboundMessage,
    MessageKind,
    MessageStatus,
    OutboundMessage,
    SendAnswer,
    SentMessage,
)
from neariq_sms.domain.phone import PhoneNumber

_LATEST_REVIEW_REQUEST = sa.select(sa.func.max(messages.c.created_at)).where(
    messages.c.business_id == sa.bindparam("business_id"),
    messages.c.to_phone == sa.bindparam("phone"),
    messages.c.kind == MessageKind.REVIEW_REQUEST.value,
    sa.not_(one_of(messages.c.status, (s.value for s in NEVER_SENT))),
)
# ON CONFLICT DO NOTHING instead of a savepoint: a duplicate key leaves the
# transaction usable on PostgreSQL without the two extra round trips.
_ADD = per_dialect(
    lambda insert: insert(messages).on_conflict_do_nothing().returning(messages.c.id)
)
# RETURNING rather than rowcount: drivers disagree on the rowcount of an
# insert that ON CONFLICT skipped.
_ADD_INBOUND = per_dialect(
    lambda insert: (
        insert(inbound_messages)
        .on_conflict_do_nothing(index_elements=["provider_sid"])
        .returning(inbound_messages.c.id)
    )
)


# The pending reminder of a reference first (at most one), then one that went out,
# then the newest: a reschedule inside one clock tick must still find the pending one.
_REMINDER_RANK = sa.case(
    (messages.c.status == MessageStatus.SCHEDULED.value, 0),
    (one_of(messages.c.status, (s.value for s in NEVER_SENT)), 2),
    else_=1,
)


_SCHEDULED = MessageStatus.SCHEDULED.value


def _claim_due(dialect: str) -> sa.Executable:
    """One statement claims a batch. PostgreSQL skips the rows another
    dispatcher's claim holds instead of waiting for them, and picks them in a
    MATERIALIZED CTE: as an ``IN (subquery)`` the planner may run the LIMIT
    subquery again per row, each run skipping the rows this very statement
    updated, and claim more than the limit; and it checks the status again,
    since a row it waited for may have moved on. SQLite renders no FOR UPDATE
    (its write lock already makes claims disjoint), runs the subquery once and
    has no status to check again: with ``status = 'scheduled'`` outside as well,
    its planner walked the status index over every scheduled row and tested
    each against the batch, so each claim grew with the backlog."""
    due = (
        sa.select(messages.c.id)
        .where(
            messages.c.status == _SCHEDULED,
            messages.c.send_at <= sa.bindparam("now", type_=UtcDateTime),
        )
        # By send_at alone: the (status, send_at) index gives that order, so a claim
        # reads its batch off the index; with id too, both engines sort every due row.
        .order_by(messages.c.send_at)
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .with_for_update(skip_locked=True)
    )
    if dialect == "postgresql":
        picked = sa.select(due.cte("due").prefix_with("MATERIALIZED").c.id)
        claimable = sa.and_(messages.c.id.in_(picked), messages.c.status == _SCHEDULED)
    else:
        claimable = messages.c.id.in_(due)
    return (
        sa.update(messages)
        .where(claimable)
        .values(
            status=MessageStatus.SUBMITTING.value,
            updated_at=sa.bindparam("now", type_=UtcDateTime),
        )
        .returning(*messages.c)
    )


_CLAIM_DUE = PerDialect(_claim_due)
_RECORD_SENT = (
    sa.update(messages)
    .where(
        messages.c.id == sa.bindparam("message_id"),
        messages.c.status == MessageStatus.SUBMITTING.value,
    )
    .values(
        status=sa.bindparam("new_status"),
        provider_sid=sa.bindparam("sid"),
        updated_at=sa.bindparam("now", type_=UtcDateTime),
    )
)
_RECORD_ANSWER = (
    sa.update(messages)
    .where(messages.c.id == sa.bindparam("message_id"), messages.c.answer.is_(None))
    .values(answer=sa.bindparam("answer"))
)


@functools.lru_cache(maxsize=256)
def _transition(allowed_from: frozenset[str], columns: frozenset[str]) -> sa.Executable:
    return (
        sa.update(messages)
        .where(
            messages.c.id == sa.bindparam("message_id"),
            one_of(messages.c.status, allowed_from),
        )
        .values({name: sa.bindparam(f"new_{name}") for name in sorted(columns)})
        .returning(*messages.c)
    )


class SqlMessages:
    def __init__(self, db: Db, threads: SqlConversations) -> None:
        self._db = db
        self._threads = threads

    def _one(self, condition: sa.ColumnElement[bool]) -> OutboundMessage | None:
        row = self._db.conn.execute(sa.select(messages).where(condition).limit(1)).first()
        return None if row is None else MESSAGE.load(row)

    def _all(self, query: sa.Select[Any]) -> Sequence[OutboundMessage]:
        return [MESSAGE.load(row) for row in self._db.conn.execute(query)]

    def add(self, message: OutboundMessage) -> None:
        key = message.idempotency_key
        added = self._db.conn.execute(self._db.pick(_ADD), MESSAGE.values(message))
        if added.first() is not None:
            self._threads.note(
                message.business_id,
                message.to,
                at=message.created_at,
                direction=Direction.OUTBOUND,
                body=message.body,
                kind=message.kind.value,
            )
            return
        if key is not None and self.by_idempotency_key(message.business_id, key) is not None:
            raise IdempotencyConflict(key=key)
        if message.reference is not None and message.status is MessageStatus.SCHEDULED:
            raise ReminderConflict(reference=message.reference)
        raise ValueError(f"duplicate message id {message.id}")

    def get(self, message_id: str) -> OutboundMessage | None:
        return self._one(messages.c.id == message_id)

    def by_idempotency_key(self, business_id: str, key: str) -> OutboundMessage | None:
        return self._one(
            sa.and_(messages.c.business_id == business_id, messages.c.idempotency_key == key)
        )

    def by_provider_sid(self, provider_sid: str) -> OutboundMessage | None:
        return self._one(messages.c.provider_sid == provider_sid)

    def transition(
        self,
        message_id: str,
        *,
        allowed_from: Collection[MessageStatus],
        to: MessageStatus,
        now: datetime,
        provider_sid: str | None = None,
        error_code: int | None = None,
        units: int | None = None,
    ) -> OutboundMessage | None:
        values: dict[str, Any] = {"status": to.value, "updated_at": now}
        if provider_sid is not None:
            values["provider_sid"] = provider_sid
        if error_code is not None:
            values["error_code"] = error_code
        if units is not None:
            values["units"] = units
        statement = _transition(frozenset(s.value for s in allowed_from), frozenset(values))
        params = {f"new_{name}": value for name, value in values.items()}
        params["message_id"] = message_id
        row = self._db.conn.execute(statement, params).first()
        return None if row is None else MESSAGE.load(row)

    def record_sent(self, sends: Sequence[tuple[str, SentMessage]], *, now: datetime) -> None:
        if sends:
            rows = [
                {"message_id": i, "new_status": s.status.value, "sid": s.provider_sid, "now": now}
                for i, s in sends
            ]
            self._db.conn.execute(_RECORD_SENT, rows)  # executemany: no RETURNING

    def record_answer(self, message_id: str, answer: SendAnswer) -> None:
        self._db.conn.execute(
            _RECORD_ANSWER, {"message_id": message_id, "answer": answer_text(answer)}
        )

    def forget_idempotency_key(self, message_id: str) -> None:
        self._db.conn.execute(
            sa.update(messages).where(messages.c.id == message_id).values(idempotency_key=None)
        )

    def latest_review_request_at(self, business_id: str, to: PhoneNumber) -> datetime | None:
        latest: datetime | None = self._db.conn.execute(
            _LATEST_REVIEW_REQUEST, {"business_id": business_id, "phone": to.e164}
        ).scalar_one()
        return latest

    def claim_due(self, now: datetime, limit: int) -> Sequence[OutboundMessage]:
        rows = self._db.conn.execute(self._db.pick(_CLAIM_DUE), {"now": now, "limit": limit})
        claimed = [MESSAGE.load(row) for row in rows]
        return sorted(claimed, key=lambda m: (m.send_at or now, m.id))  # RETURNING has no order

    def scheduled_for(self, business_id: str) -> Sequence[OutboundMessage]:
        return self._all(
            sa.select(messages)
            .where(
                messages.c.business_id == business_id,
                messages.c.status == MessageStatus.SCHEDULED.value,
            )
            .order_by(messages.c.created_at, messages.c.id)
        )

    def for_recipient(
        self,
        business_id: str,
        phone: PhoneNumber,
        *,
        before: tuple[datetime, str] | None,
        limit: int,
    ) -> Sequence[OutboundMessage]:
        query = sa.select(messages).where(
            messages.c.business_id == business_id, messages.c.to_phone == phone.e164
        )
        if before is not None:
            query = query.where(sorts_before(messages.c.created_at, messages.c.id, before))
        return self._all(
            query.order_by(messages.c.created_at.desc(), messages.c.id.desc()).limit(limit)
        )

    def for_business(self, business_id: str) -> Sequence[OutboundMessage]:
        return self._all(
            sa.select(messages)
            .where(messages.c.business_id == business_id)
            .order_by(messages.c.created_at, messages.c.id)
        )

    def latest_reminder(self, business_id: str, reference: str) -> OutboundMessage | None:
        return self._one_ordered(
            sa.and_(messages.c.business_id == business_id, messages.c.reference == reference),
            _REMINDER_RANK,
            messages.c.created_at.desc(),
            messages.c.id.desc(),
        )

    def _one_ordered(
        self, condition: sa.ColumnElement[bool], *order: sa.ColumnElement[Any]
    ) -> OutboundMessage | None:
        row = self._db.conn.execute(
            sa.select(messages).where(condition).order_by(*order).limit(1)
        ).first()
        return None if row is None else MESSAGE.load(row)

    def reminders(
        self,
        business_id: str,
        *,
        statuses: Collection[MessageStatus] | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> Sequence[OutboundMessage]:
        m = messages.c
        query = sa.select(messages).where(
            m.business_id == business_id, m.kind == MessageKind.REMINDER.value
        )
        if statuses is not None:
            query = query.where(one_of(m.status, (s.value for s in statuses)))
        if after is not None:
            at, tie = after
            query = query.where(sa.or_(m.send_at > at, sa.and_(m.send_at == at, m.id > tie)))
        return self._all(query.order_by(m.send_at, m.id).limit(limit))

    def submitting_before(self, cutoff: datetime, limit: int) -> Sequence[OutboundMessage]:
        since = sa.func.coalesce(messages.c.updated_at, messages.c.created_at)
        return self._all(
            sa.select(messages)
            .where(messages.c.status == MessageStatus.SUBMITTING.value, since < cutoff)
            .order_by(since, messages.c.id)
            .limit(limit)
        )


class SqlInbound:
    def __init__(self, db: Db, threads: SqlConversations) -> None:
        self._db = db
        self._threads = threads

    def add(self, message: InboundMessage) -> bool:
        stored = self._db.conn.execute(self._db.pick(_ADD_INBOUND), INBOUND.values(message))
        if stored.first() is None:
            return False
        self._threads.note(
            message.business_id,
            message.from_,
            at=message.received_at,
            direction=Direction.INBOUND,
            body=message.body,
            kind=INBOUND_KIND,
        )
        return True

    def get(self, message_id: str) -> InboundMessage | None:
        row = self._db.conn.execute(
            sa.select(inbound_messages).where(inbound_messages.c.id == message_id)
        ).first()
        return None if row is None else INBOUND.load(row)

    def for_sender(
        self,
        business_id: str,
        phone: PhoneNumber,
        *,
        before: tuple[datetime, str] | None,
        limit: int,
    ) -> Sequence[InboundMessage]:
        t = inbound_messages
        query = sa.select(t).where(t.c.business_id == business_id, t.c.from_phone == phone.e164)
        if before is not None:
            query = query.where(sorts_before(t.c.received_at, t.c.id, before))
        query = query.order_by(t.c.received_at.desc(), t.c.id.desc()).limit(limit)
        return [INBOUND.load(row) for row in self._db.conn.execute(query)]
