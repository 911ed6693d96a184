"""Consent records and their audit trail."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from neariq_sms.adapters.sql.mapping import CONSENT, CONSENT_EVENT, CONSENT_IMPORT
from neariq_sms.adapters.sql.statements import CHUNK, Db, per_dialect, sorts_before
from neariq_sms.adapters.sql.tables import consent_events, consent_imports, consents
from neariq_sms.domain.consent import ConsentEvent, ConsentImport, ConsentRecord
from neariq_sms.domain.phone import PhoneNumber

_BY_KEY = sa.select(consents).where(
    consents.c.business_id == sa.bindparam("business_id"),
    consents.c.phone == sa.bindparam("phone"),
)
_BY_KEY_FOR_UPDATE = _BY_KEY.with_for_update()
# Built once, the phones an expanding parameter: a dispatcher re-checks each batch
# with one read per business, and building the statement per call cost more
# Python time than SQLite took to run it.
_BY_PHONES = sa.select(consents).where(
    consents.c.business_id == sa.bindparam("business_id"),
    consents.c.phone.in_(sa.bindparam("phones", expanding=True)),
)
_BY_PHONES_FOR_UPDATE = _BY_PHONES.order_by(consents.c.phone).with_for_update()
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


_PENDING = consents.c.pending_import_id
_KEY = ("business_id", "phone")
#: A bulk-loaded row: the record's columns, then the import whose event it holds.
_IMPORTED_COLUMNS = (*CONSENT.columns, _PENDING.name)
# PostgreSQL loads a batch into a staging table (temporary: one per connection,
# emptied at each commit) with COPY, then merges it in one statement: the new
# records in phone order (one lock order for every writer), answering the
# phones skipped.
_STAGE = "neariq_consent_stage"
_CREATE_STAGE = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} (LIKE consents) ON COMMIT DELETE ROWS"
)
_COPY_STAGE = f"COPY {_STAGE} ({', '.join(_IMPORTED_COLUMNS)}) FROM STDIN"
_MERGE_STAGE = f"""
WITH inserted AS (
    INSERT INTO consents ({", ".join(_IMPORTED_COLUMNS)})
    SELECT {", ".join(_IMPORTED_COLUMNS)} FROM {_STAGE} ORDER BY phone
    ON CONFLICT (business_id, phone) DO NOTHING
    RETURNING phone
)
SELECT s.phone FROM {_STAGE} s WHERE NOT EXISTS (SELECT FROM inserted i WHERE i.phone = s.phone)
"""  # noqa: S608 - names from our own metadata, no values


class SqlConsents:
    def __init__(self, db: Db) -> None:
        self._db = db

    def _all(
        self, query: sa.Select[Any], params: Mapping[str, Any] | None = None
    ) -> Sequence[ConsentRecord]:
        return [CONSENT.load(row) for row in self._db.conn.execute(query, params)]

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
        query = _BY_PHONES_FOR_UPDATE if for_update else _BY_PHONES
        found: dict[PhoneNumber, ConsentRecord] = {}
        for start in range(0, len(wanted), CHUNK):
            params = {"business_id": business_id, "phones": wanted[start : start + CHUNK]}
            for record in self._all(query, params):
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

    def add_import(self, of: ConsentImport) -> None:
        self._db.conn.execute(consent_imports.insert(), CONSENT_IMPORT.values(of))

    def get_import(self, import_id: str) -> ConsentImport | None:
        row = self._db.conn.execute(
            sa.select(consent_imports).where(consent_imports.c.id == import_id)
        ).first()
        return None if row is None else CONSENT_IMPORT.load(row)

    def add_imported(
        self, of: ConsentImport, records: Sequence[ConsentRecord]
    ) -> Mapping[PhoneNumber, ConsentRecord]:
        if not records:
            return {}
        ordered = sorted(records, key=lambda r: r.phone.e164)  # one lock order
        rows = [(*row, of.id) for row in CONSENT.driver_rows(ordered, self._db.conn.dialect)]
        if self._db.dialect == "postgresql":
            skipped = self._merge_staged(rows)
            # As in add_or_lock: a skipped insert has a committed row to lock.
            return self.get_many(of.business_id, skipped, for_update=True)
        # SQLite: the inserts answer which phones they stored, so only the phones
        # already there are read (none, in a first import), not the whole batch:
        # each lookup is a random read of the phone index. The writing
        # transaction holds the write lock from its first statement (BEGIN
        # IMMEDIATE): a skipped phone's row is as it was before this batch.
        added = self._db.insert_new_rows(
            consents, _IMPORTED_COLUMNS, rows, key=_KEY, answer="phone"
        )
        skipped = [r.phone for r in ordered if r.phone.e164 not in added]
        return self.get_many(of.business_id, skipped) if skipped else {}

    def _merge_staged(self, rows: list[tuple[object, ...]]) -> list[PhoneNumber]:
        """PostgreSQL: COPY ``rows`` into the staging table, merge; the phones skipped."""
        conn = self._db.conn
        conn.exec_driver_sql(_CREATE_STAGE)
        # Rows of an earlier call in this transaction.
        conn.exec_driver_sql(f"DELETE FROM {_STAGE}")  # noqa: S608 - a constant name
        driver = conn.connection.driver_connection
        assert driver is not None  # an open connection
        with driver.cursor() as cursor, cursor.copy(_COPY_STAGE) as copy:
            for row in rows:
                copy.write_row(row)
        skipped = conn.exec_driver_sql(_MERGE_STAGE).scalars()
        return [PhoneNumber(phone) for phone in skipped]

    def _write_out_pending(self, business_id: str, phones: Collection[str]) -> None:
        """Store the import events these phones' records still stand for, and clear
        the mark: a phone's next event must come after its first."""
        wanted = sorted(set(phones))
        for start in range(0, len(wanted), CHUNK):
            key = sa.and_(
                consents.c.business_id == business_id,
                consents.c.phone.in_(wanted[start : start + CHUNK]),
                _PENDING.is_not(None),
            )
            rows = self._db.conn.execute(sa.select(consents).where(key)).all()
            if not rows:
                continue
            events = [CONSENT.load(row).imported_event(row.pending_import_id) for row in rows]
            self._db.conn.execute(
                consent_events.insert(), [CONSENT_EVENT.values(e) for e in events]
            )
            self._db.conn.execute(sa.update(consents).where(key).values(pending_import_id=None))

    def update_many(self, records: Sequence[ConsentRecord]) -> None:
        if not records:
            return
        for business_id in {r.business_id for r in records}:
            phones = [r.phone.e164 for r in records if r.business_id == business_id]
            self._write_out_pending(business_id, phones)
        params = []
        for record in records:
            values = CONSENT.values(record)
            values["key_business_id"] = values.pop("business_id")
            values["key_phone"] = values.pop("phone")
            params.append(values)
        self._db.conn.execute(_UPDATE, params)

    def append_events(self, events: Sequence[ConsentEvent]) -> None:
        for business_id in {e.business_id for e in events}:
            phones = [e.phone.e164 for e in events if e.business_id == business_id]
            self._write_out_pending(business_id, phones)
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
        stored = [CONSENT_EVENT.load(row) for row in rows]
        pending = self._db.conn.execute(
            _BY_KEY.where(_PENDING.is_not(None)), {"business_id": business_id, "phone": phone.e164}
        ).first()
        if pending is None:
            return stored
        # Written out before any later event: it comes first.
        return [CONSENT.load(pending).imported_event(pending.pending_import_id), *stored]

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
