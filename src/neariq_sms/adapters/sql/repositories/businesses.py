"""Businesses and their dashboard sessions."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from neariq_sms.adapters.sql.mapping import BUSINESS, NUMBER, SESSION
from neariq_sms.adapters.sql.repositories.numbers import NUMBER_HOLDS_SLOT
from neariq_sms.adapters.sql.statements import Db
from neariq_sms.adapters.sql.tables import businesses, dashboard_sessions, sms_numbers
from neariq_sms.domain.business import Business, DashboardSession, SmsNumber
from neariq_sms.domain.errors import BusinessConflict

_BUSINESS_BY_ID = sa.select(businesses).where(businesses.c.id == sa.bindparam("business_id"))
# Every dashboard request looks its session up: built once, bound per call.
_SESSION_BY_HASH = sa.select(dashboard_sessions).where(
    dashboard_sessions.c.token_hash == sa.bindparam("token_hash")
)
# A send reads both: one statement (the primary key, then the business's held slot).
_BUSINESS_WITH_NUMBER = (
    sa.select(businesses, sms_numbers)
    .outerjoin(
        sms_numbers,
        sa.and_(sms_numbers.c.business_id == businesses.c.id, NUMBER_HOLDS_SLOT),
    )
    .where(businesses.c.id == sa.bindparam("business_id"))
)
_BUSINESS_WIDTH = len(businesses.c)
_NUMBER_ID = list(sms_numbers.c).index(sms_numbers.c.id)
# SQLite renders no FOR UPDATE: its writing transactions take the write lock up front.
_BUSINESS_BY_ID_FOR_UPDATE = _BUSINESS_BY_ID.with_for_update()


class SqlBusinesses:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, business: Business) -> None:
        violated = self._db.guarded(businesses.insert(), BUSINESS.values(business))
        if violated == businesses.primary_key.name:
            raise BusinessConflict(business_id=business.id)
        if violated is not None:
            raise AssertionError(f"unexpected constraint {violated}")

    def get(self, business_id: str, *, for_update: bool = False) -> Business | None:
        params = {"business_id": business_id}
        if for_update:
            row = self._db.conn.execute(_BUSINESS_BY_ID_FOR_UPDATE, params).first()
            return None if row is None else BUSINESS.load(row)
        # Every request reads its business: the driver's path on SQLite.
        rows = self._db.rows(_BUSINESS_BY_ID, params)
        return BUSINESS.load(rows[0]) if rows else None

    def with_number(self, business_id: str) -> tuple[Business, SmsNumber | None] | None:
        rows = self._db.rows(_BUSINESS_WITH_NUMBER, {"business_id": business_id})
        if not rows:
            return None
        # Storage holds at most one pending or active number per business: one row.
        row = tuple(rows[0])
        business = BUSINESS.load(row[:_BUSINESS_WIDTH])
        held = row[_BUSINESS_WIDTH:]
        return business, None if held[_NUMBER_ID] is None else NUMBER.load(held)

    def update(self, business: Business) -> None:
        values = BUSINESS.values(business)
        del values["id"]
        self._db.conn.execute(
            sa.update(businesses).where(businesses.c.id == business.id).values(values)
        )

    def list(self) -> Sequence[Business]:
        rows = self._db.conn.execute(
            sa.select(businesses).order_by(businesses.c.created_at, businesses.c.id)
        )
        return [BUSINESS.load(row) for row in rows]


class SqlSessions:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, session: DashboardSession) -> None:
        values = SESSION.values(session)
        self._db.conn.execute(
            self._db.insert(dashboard_sessions)
            .values(values)
            .on_conflict_do_update(
                index_elements=["token_hash"],
                set_={k: v for k, v in values.items() if k != "token_hash"},
            )
        )

    def get(self, token_hash: str) -> DashboardSession | None:
        # Every dashboard request: the driver's path on SQLite.
        rows = self._db.rows(_SESSION_BY_HASH, {"token_hash": token_hash})
        return SESSION.load(rows[0]) if rows else None

    def delete(self, token_hash: str) -> None:
        self._db.conn.execute(
            sa.delete(dashboard_sessions).where(dashboard_sessions.c.token_hash == token_hash)
        )

    def delete_for_business(self, business_id: str) -> int:
        result = self._db.conn.execute(
            sa.delete(dashboard_sessions).where(dashboard_sessions.c.business_id == business_id)
        )
        return int(result.rowcount)
