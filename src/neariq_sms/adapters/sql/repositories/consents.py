"""Consent records and their audit trail."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from neariq_sms.adapters.sql.mapping import CONSENT, CONSENT_EVENT
from neariq_sms.adapters.sql.statements import CHUNK, Db, per_dialect, sorts_before
from neariq_sms.adapters.sql.tables import consent_events, consents
from neariq_sms.domain.consent import ConsentEvent, ConsentRecord
from neariq_sms.domain.phone import PhoneNumber

_BY_KEY = sa.select(consents).where(
    consents.c.business_id == sa.bindparam("business_id"),
    consents.c.phone == sa.bindparam("phone"),
)
_BY_KEY_FOR_UPDATE = _BY_KEY.with_for_update()
# ON CONFLICT DO NOTHING waits for a concurrent inserter of the same key to
# end, then skips: no unique-key error, no aborted transaction.
_ADD_NEW = per_dialect(
    lambda insert: (
        insert(consents)
        .on_conflict_do_nothing(index_elements=["business_id", "phone"])
        .returning(consents.c.phone)
    )
)
_UPDATE = (
    sa.update(consents)
    .where(
        consents.c.business_id == sa.bindparam("key_business_id"),
        consents.c.phone == sa.bindparam("key_phone"),
    )
    .values(
        source=sa.bindparam("source"),
        consented_at=sa.bindparam("consented_at"),
        updated_at=sa.bindparam("updated_at"),
        opted_out_at=sa.bindparam("opted_out_at"),
        opt_out_source=sa.bindparam("opt_out_source"),
    )
)


class SqlConsents:
    def __init__(self, db: Db) -> None:
        self._db = db

    def _all(self, query: sa.Select[Any]) -> Sequence[ConsentRecord]:
        return [CONSENT.load(row) for row in self._db.conn.execute(query)]

    def get(
        self, business_id: str, phone: PhoneNumber, *, for_update: bool = False
    ) -> ConsentRecord | None:
        # FOR UPDATE: PostgreSQL locks the row; SQLite ignores it (a writing
        # transaction already holds the database's write lock).
        query = _BY_KEY_FOR_UPDATE if for_update else _BY_KEY
        row = self._db.conn.execute(
            query, {"business_id": business_id, "phone": phone.e164}
        ).first()
        return None if row is None else CONSENT.load(row)

    def get_many(
        self, business_id: str, phones: Collection[PhoneNumber], *, for_update: bool = False
    ) -> Mapping[PhoneNumber, ConsentRecord]:
        wanted = sorted(p.e164 for p in phones)  # one lock order for every importer
        found: dict[PhoneNumber, ConsentRecord] = {}
        for start in range(0, len(wanted), CHUNK):
            query = sa.select(consents).where(
                consents.c.business_id == business_id,
                consents.c.phone.in_(wanted[start : start + CHUNK]),
            )
            if for_update:
                query = query.order_by(consents.c.phone).with_for_update()
            for record in self._all(query):
                found[record.phone] = record
        return found

    def add_or_lock(self, records: Sequence[ConsentRecord]) -> Mapping[PhoneNumber, ConsentRecord]:
        if not records:
            return {}
        # Sorted: one lock order for every writer, so two batches never deadlock.
        ordered = sorted(records, key=lambda r: r.phone.e164)
        inserted = set(
            self._db.conn.execute(
                self._db.pick(_ADD_NEW), [CONSENT.values(r) for r in ordered]
            ).scalars()
        )
        business_id = records[0].business_id
        stored = [r.phone for r in ordered if r.phone.e164 not in inserted]
        # Rows are never deleted, so every skipped insert has a committed row to
        # lock; READ COMMITTED reads it as it is once the lock is held.
        return self.get_many(business_id, stored, for_update=True)

    def update_many(self, records: Sequence[ConsentRecord]) -> None:
        if not records:
            return
        params = []
        for record in records:
            values = CONSENT.values(record)
            values["key_business_id"] = values.pop("business_id")
            values["key_phone"] = values.pop("phone")
            params.append(values)
        self._db.conn.execute(_UPDATE, params)

    def append_events(self, events: Sequence[ConsentEvent]) -> None:
        if events:
            self._db.conn.execute(
                consent_events.insert(), [CONSENT_EVENT.values(e) for e in events]
            )

    def events(self, business_id: str, phone: PhoneNumber) -> Sequence[ConsentEvent]:
        rows = self._db.conn.execute(
            sa.select(consent_events)
            .where(
                consent_events.c.business_id == business_id,
                consent_events.c.phone == phone.e164,
            )
            .order_by(consent_events.c.id)
        )
        return [CONSENT_EVENT.load(row) for row in rows]

    def page(
        self, business_id: str, *, after: tuple[datetime, str] | None, limit: int
    ) -> Sequence[ConsentRecord]:
        query = sa.select(consents).where(consents.c.business_id == business_id)
        if after is not None:
            query = query.where(sorts_before(consents.c.updated_at, consents.c.phone, after))
        return self._all(
            query.order_by(consents.c.updated_at.desc(), consents.c.phone.desc()).limit(limit)
        )

    def in_phone_order(
        self, business_id: str, *, after: str | None, limit: int
    ) -> Sequence[ConsentRecord]:
        query = sa.select(consents).where(consents.c.business_id == business_id)
        if after is not None:
            query = query.where(consents.c.phone > after)
        return self._all(query.order_by(consents.c.phone).limit(limit))
