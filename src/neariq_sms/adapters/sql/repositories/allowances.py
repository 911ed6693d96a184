"""The monthly allowance: consumed by one conditional upsert."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from neariq_sms.adapters.sql.statements import Db, per_dialect
from neariq_sms.adapters.sql.tables import allowances


def _consume(insert: Any) -> sa.Executable:
    """Create the month's row or add to it, only while ``used + units <= limit``: one statement."""
    upsert = insert(allowances).values(
        business_id=sa.bindparam("business_id"),
        period=sa.bindparam("period"),
        used=sa.bindparam("units"),
    )
    statement: sa.Executable = upsert.on_conflict_do_update(
        index_elements=["business_id", "period"],
        set_={"used": allowances.c.used + upsert.excluded.used},
        where=allowances.c.used + upsert.excluded.used <= sa.bindparam("limit"),
    ).returning(allowances.c.used)
    return statement


_CONSUME = per_dialect(_consume)


def _key(business_id: str, period: str) -> sa.ColumnElement[bool]:
    return sa.and_(allowances.c.business_id == business_id, allowances.c.period == period)


class SqlAllowances:
    def __init__(self, db: Db) -> None:
        self._db = db

    def used(self, business_id: str, period: str) -> int:
        used = self._db.conn.execute(
            sa.select(allowances.c.used).where(_key(business_id, period))
        ).scalar_one_or_none()
        return 0 if used is None else int(used)

    def try_consume(self, business_id: str, period: str, units: int, limit: int) -> bool:
        if units > limit:
            return False  # the upsert's first insert checks no limit
        # The one conditional statement: the row lock (PostgreSQL) or the
        # database write lock (SQLite) makes check and add a single step.
        consumed = self._db.conn.execute(
            self._db.pick(_CONSUME),
            {"business_id": business_id, "period": period, "units": units, "limit": limit},
        )
        return consumed.first() is not None

    def give_back(self, business_id: str, period: str, units: int) -> None:
        if units == 0:
            return
        returned = self._db.conn.execute(
            sa.update(allowances)
            .where(_key(business_id, period), allowances.c.used >= units)
            .values(used=allowances.c.used - units)
            .returning(allowances.c.used)
        )
        if returned.first() is None:
            raise ValueError("cannot give back more units than were used")
