"""SMS numbers: the one-number rules are two partial unique indexes.

A violated index becomes the domain error the in-memory adapter raises, in
its order (the business's slot first, then the number's).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from neariq_sms.adapters.sql.mapping import NUMBER
from neariq_sms.adapters.sql.statements import Db, one_of
from neariq_sms.adapters.sql.tables import sms_numbers
from neariq_sms.domain.business import NumberStatus, SmsNumber
from neariq_sms.domain.errors import DuplicateNumber, NumberAlreadyProvisioned
from neariq_sms.domain.phone import PhoneNumber

#: A row that holds its business's one slot (the businesses repository joins on it too).
NUMBER_HOLDS_SLOT = one_of(
    sms_numbers.c.status, (NumberStatus.PENDING.value, NumberStatus.ACTIVE.value)
)
_NUMBER_HELD_BY_BUSINESS = sa.select(sms_numbers).where(
    sms_numbers.c.business_id == sa.bindparam("business_id"), NUMBER_HOLDS_SLOT
)


class SqlNumbers:
    def __init__(self, db: Db) -> None:
        self._db = db

    def _all(self, query: sa.Select[Any]) -> Sequence[SmsNumber]:
        return [NUMBER.load(row) for row in self._db.conn.execute(query)]

    def _check_slots(self, number: SmsNumber) -> None:
        """The memory adapter's order: the business's slot first, then the number's."""
        if not number.holds_slot:
            return
        rows = self._db.conn.execute(
            sa.select(sms_numbers.c.business_id, sms_numbers.c.number).where(
                NUMBER_HOLDS_SLOT,
                sms_numbers.c.id != number.id,
                sa.or_(
                    sms_numbers.c.business_id == number.business_id,
                    sms_numbers.c.number == number.number.e164,
                ),
            )
        ).all()
        if any(row.business_id == number.business_id for row in rows):
            raise NumberAlreadyProvisioned(number=number.number.e164)
        if rows:
            raise DuplicateNumber(number=number.number.e164)

    def _write(self, number: SmsNumber, statement: sa.Executable, params: Any) -> None:
        self._check_slots(number)
        violated = self._db.guarded(statement, params)
        if violated is None:
            return
        # A concurrent transaction took a slot after our check and committed:
        # the savepoint is rolled back, and a fresh read sees the winner.
        self._check_slots(number)
        if violated == "uq_sms_numbers_business_holds":
            raise NumberAlreadyProvisioned(number=number.number.e164)
        if violated == "uq_sms_numbers_number_held":
            raise DuplicateNumber(number=number.number.e164)
        raise AssertionError(f"unexpected constraint {violated}")

    def add(self, number: SmsNumber) -> None:
        self._write(number, sms_numbers.insert(), NUMBER.values(number))

    def get(self, number_id: str) -> SmsNumber | None:
        row = self._db.conn.execute(
            sa.select(sms_numbers).where(sms_numbers.c.id == number_id)
        ).first()
        return None if row is None else NUMBER.load(row)

    def holding(self, business_id: str) -> SmsNumber | None:
        # Every send and status read asks: the driver's path on SQLite.
        rows = self._db.rows(_NUMBER_HELD_BY_BUSINESS, {"business_id": business_id})
        return NUMBER.load(rows[0]) if rows else None

    def holder_of(self, number: PhoneNumber) -> SmsNumber | None:
        row = self._db.conn.execute(
            sa.select(sms_numbers).where(sms_numbers.c.number == number.e164, NUMBER_HOLDS_SLOT)
        ).first()
        return None if row is None else NUMBER.load(row)

    def rows_of(self, number: PhoneNumber) -> Sequence[SmsNumber]:
        # Read only for an opt-out; the partial index on number covers held rows only.
        return self._all(
            sa.select(sms_numbers)
            .where(sms_numbers.c.number == number.e164)
            .order_by(sms_numbers.c.created_at, sms_numbers.c.id)
        )

    def update(self, number: SmsNumber) -> None:
        if self.get(number.id) is None:
            return
        values = NUMBER.values(number)
        del values["id"]
        self._write(
            number, sa.update(sms_numbers).where(sms_numbers.c.id == number.id).values(values), None
        )

    def delete(self, number_id: str) -> None:
        self._db.conn.execute(sa.delete(sms_numbers).where(sms_numbers.c.id == number_id))

    def history(self, business_id: str) -> Sequence[SmsNumber]:
        return self._all(
            sa.select(sms_numbers)
            .where(sms_numbers.c.business_id == business_id)
            .order_by(sms_numbers.c.created_at, sms_numbers.c.id)
        )

    def pending_before(self, cutoff: datetime) -> Sequence[SmsNumber]:
        return self._all(
            sa.select(sms_numbers)
            .where(
                sms_numbers.c.status == NumberStatus.PENDING.value,
                sms_numbers.c.created_at < cutoff,
            )
            .order_by(sms_numbers.c.created_at, sms_numbers.c.id)
        )
