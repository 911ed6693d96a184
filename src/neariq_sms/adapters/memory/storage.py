"""The in-memory unit of work.

Transactions are serialisable: one store-wide lock is held from ``with uow:``
to its end, which is what SQLite's ``BEGIN IMMEDIATE`` gives too. Every write
is journalled so that leaving a block without ``commit()`` undoes it exactly.
The uniqueness rules raise the same domain errors the SQL adapter raises.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from neariq_sms.adapters._unit_of_work import ThreadLocalUnitOfWork
from neariq_sms.adapters.memory.orders import noted, reminder_order, send_order
from neariq_sms.adapters.memory.registrations import MemoryRegistrations, MemorySessions
from neariq_sms.adapters.memory.threads import MemoryConversations
from neariq_sms.domain.business import Business, DashboardSession, NumberStatus, SmsNumber
from neariq_sms.domain.consent import ConsentEvent, ConsentImport, ConsentRecord
from neariq_sms.domain.conversations import INBOUND_KIND, Conversation, Direction
from neariq_sms.domain.errors import (
    BusinessConflict,
    DuplicateNumber,
    IdempotencyConflict,
    NumberAlreadyProvisioned,
    ReminderConflict,
)
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
from neariq_sms.domain.registration import SenderRegistration
from neariq_sms.ports.storage import UnitOfWork

_MISSING: Any = object()


class _Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.businesses: dict[str, Business] = {}
        self.numbers: dict[str, SmsNumber] = {}
        self.consents: dict[tuple[str, PhoneNumber], ConsentRecord] = {}
        self.events: list[ConsentEvent] = []
        self.imports: dict[str, ConsentImport] = {}
        self.allowances: dict[tuple[str, str], int] = {}
        self.messages: dict[str, OutboundMessage] = {}
        self.message_keys: dict[tuple[str, str], str] = {}
        self.message_sids: dict[str, str] = {}
        self.inbound: dict[str, InboundMessage] = {}
        self.inbound_sids: dict[str, str] = {}
        self.sessions: dict[str, DashboardSession] = {}
        self.conversations: dict[tuple[str, PhoneNumber], Conversation] = {}
        self.registrations: dict[str, SenderRegistration] = {}


class _Tx:
    """One open transaction: the journal of how to undo its writes."""

    def __init__(self, store: _Store) -> None:
        self.store = store
        self.undo: list[Callable[[], None]] = []
        #: Thread updates of the messages stored, applied at commit (as SQL does).
        self.notes: list[tuple[str, PhoneNumber, datetime, Direction, str, str]] = []

    def note(
        self,
        business_id: str,
        phone: PhoneNumber,
        at: datetime,
        direction: Direction,
        body: str,
        kind: str,
    ) -> None:
        self.notes.append((business_id, phone, at, direction, body, kind))

    def apply_notes(self) -> None:
        threads = self.store.conversations
        for business_id, phone, at, direction, body, kind in self.notes:
            key = (business_id, phone)
            thread = noted(
                threads.get(key),
                business_id,
                phone,
                at=at,
                direction=direction,
                body=body,
                kind=kind,
            )
            self.put(threads, key, thread)
        self.notes.clear()

    def put(self, table: dict[Any, Any], key: object, value: object) -> None:
        old = table.get(key, _MISSING)
        self.undo.append(
            lambda: table.__setitem__(key, old) if old is not _MISSING else table.pop(key)
        )
        table[key] = value

    def remove(self, table: dict[Any, Any], key: object) -> None:
        old = table.pop(key)
        self.undo.append(lambda: table.__setitem__(key, old))

    def append(self, items: list[Any], values: Sequence[object]) -> None:
        size = len(items)
        self.undo.append(lambda: items.__delitem__(slice(size, None)))
        items.extend(values)

    def rollback(self) -> None:
        self.notes.clear()
        while self.undo:
            self.undo.pop()()


class _Businesses:
    def __init__(self, tx: _Tx) -> None:
        self._tx, self._s = tx, tx.store

    def add(self, business: Business) -> None:
        if business.id in self._s.businesses:
            raise BusinessConflict(business_id=business.id)
        self._tx.put(self._s.businesses, business.id, business)

    def get(self, business_id: str, *, for_update: bool = False) -> Business | None:
        return self._s.businesses.get(business_id)

    def with_number(self, business_id: str) -> tuple[Business, SmsNumber | None] | None:
        business = self._s.businesses.get(business_id)
        if business is None:
            return None
        return business, _Numbers(self._tx).holding(business_id)

    def update(self, business: Business) -> None:
        if business.id in self._s.businesses:
            self._tx.put(self._s.businesses, business.id, business)

    def list(self) -> Sequence[Business]:
        return sorted(self._s.businesses.values(), key=lambda b: (b.created_at, b.id))


class _Numbers:
    def __init__(self, tx: _Tx) -> None:
        self._tx, self._s = tx, tx.store

    def _holding(self, predicate: Callable[[SmsNumber], bool]) -> SmsNumber | None:
        return next((n for n in self._s.numbers.values() if n.holds_slot and predicate(n)), None)

    def _check_slots(self, number: SmsNumber) -> None:
        if not number.holds_slot:
            return
        others = [n for n in self._s.numbers.values() if n.holds_slot and n.id != number.id]
        if any(n.business_id == number.business_id for n in others):
            raise NumberAlreadyProvisioned(number=number.number.e164)
        if any(n.number == number.number for n in others):
            raise DuplicateNumber(number=number.number.e164)

    def add(self, number: SmsNumber) -> None:
        self._check_slots(number)
        self._tx.put(self._s.numbers, number.id, number)

    def get(self, number_id: str) -> SmsNumber | None:
        return self._s.numbers.get(number_id)

    def holding(self, business_id: str) -> SmsNumber | None:
        return self._holding(lambda n: n.business_id == business_id)

    def holder_of(self, number: PhoneNumber) -> SmsNumber | None:
        return self._holding(lambda n: n.number == number)

    def rows_of(self, number: PhoneNumber) -> Sequence[SmsNumber]:
        rows = [n for n in self._s.numbers.values() if n.number == number]
        return sorted(rows, key=lambda n: (n.created_at, n.id))

    def update(self, number: SmsNumber) -> None:
        if number.id in self._s.numbers:
            self._check_slots(number)
            self._tx.put(self._s.numbers, number.id, number)

    def delete(self, number_id: str) -> None:
        if number_id in self._s.numbers:
            self._tx.remove(self._s.numbers, number_id)

    def history(self, business_id: str) -> Sequence[SmsNumber]:
        rows = [n for n in self._s.numbers.values() if n.business_id == business_id]
        return sorted(rows, key=lambda n: (n.created_at, n.id))

    def pending_before(self, cutoff: datetime) -> Sequence[SmsNumber]:
        rows = [
            n
            for n in self._s.numbers.values()
            if n.status is NumberStatus.PENDING and n.created_at < cutoff
        ]
        return sorted(rows, key=lambda n: (n.created_at, n.id))


class _Consents:
    def __init__(self, tx: _Tx) -> None:
        self._tx, self._s = tx, tx.store

    def get(
        self, business_id: str, phone: PhoneNumber, *, for_update: bool = False
    ) -> ConsentRecord | None:
        return self._s.consents.get((business_id, phone))

    def get_many(
        self, business_id: str, phones: Collection[PhoneNumber], *, for_update: bool = False
    ) -> Mapping[PhoneNumber, ConsentRecord]:
        found = ((p, self._s.consents.get((business_id, p))) for p in phones)
        return {p: r for p, r in found if r is not None}

    def add_or_lock(self, records: Sequence[ConsentRecord]) -> Mapping[PhoneNumber, ConsentRecord]:
        # The store-wide lock already serialises transactions: nothing to wait for.
        stored: dict[PhoneNumber, ConsentRecord] = {}
        for record in records:
            key = (record.business_id, record.phone)
            existing = self._s.consents.get(key)
            if existing is None:
                self._tx.put(self._s.consents, key, record)
            else:
                stored[record.phone] = existing
        return stored

    def add_import(self, of: ConsentImport) -> None:
        self._tx.put(self._s.imports, of.id, of)

    def get_import(self, import_id: str) -> ConsentImport | None:
        return self._s.imports.get(import_id)

    def add_imported(
        self, of: ConsentImport, records: Sequence[ConsentRecord]
    ) -> Mapping[PhoneNumber, ConsentRecord]:
        stored = self.add_or_lock(records)
        self.append_events([r.imported_event(of.id) for r in records if r.phone not in stored])
        return stored

    def update_many(self, records: Sequence[ConsentRecord]) -> None:
        for record in records:
            key = (record.business_id, record.phone)
            if key in self._s.consents:
                self._tx.put(self._s.consents, key, record)

    def append_events(self, events: Sequence[ConsentEvent]) -> None:
        self._tx.append(self._s.events, events)

    def events(self, business_id: str, phone: PhoneNumber) -> Sequence[ConsentEvent]:
        return [e for e in self._s.events if e.business_id == business_id and e.phone == phone]

    def page(
        self, business_id: str, *, after: tuple[datetime, str] | None, limit: int
    ) -> Sequence[ConsentRecord]:
        rows = sorted(
            (r for (b, _), r in self._s.consents.items() if b == business_id),
            key=lambda r: (r.updated_at, r.phone.e164),
            reverse=True,
        )
        if after is not None:
            rows = [r for r in rows if (r.updated_at, r.phone.e164) < after]
        return rows[:limit]

    def in_phone_order(
        self, business_id: str, *, after: str | None, limit: int
    ) -> Sequence[ConsentRecord]:
        rows = sorted(
            (
                r
                for (b, p), r in self._s.consents.items()
                if b == business_id and (after is None or p.e164 > after)
            ),
            key=lambda r: r.phone.e164,
        )
        return rows[:limit]


class _Allowances:
    def __init__(self, tx: _Tx) -> None:
        self._tx, self._s = tx, tx.store

    def used(self, business_id: str, period: str) -> int:
        return self._s.allowances.get((business_id, period), 0)

    def try_consume(self, business_id: str, period: str, units: int, limit: int) -> bool:
        used = self.used(business_id, period)
        if used + units > limit:
            return False
        self._tx.put(self._s.allowances, (business_id, period), used + units)
        return True

    def give_back(self, business_id: str, period: str, units: int) -> None:
        used = self.used(business_id, period)
        if units > used:
            raise ValueError("cannot give back more units than were used")  # the CHECK of SQL
        self._tx.put(self._s.allowances, (business_id, period), used - units)


class _Messages:
    def __init__(self, tx: _Tx) -> None:
        self._tx, self._s = tx, tx.store

    def add(self, message: OutboundMessage) -> None:
        key = message.idempotency_key
        if key is not None and (message.business_id, key) in self._s.message_keys:
            raise IdempotencyConflict(key=key)
        if message.id in self._s.messages:
            raise ValueError(f"duplicate message id {message.id}")
        if message.reference is not None and message.status is MessageStatus.SCHEDULED:
            pending = self.latest_reminder(message.business_id, message.reference)
            if pending is not None and pending.status is MessageStatus.SCHEDULED:
                raise ReminderConflict(reference=message.reference)  # the partial unique index
        self._tx.put(self._s.messages, message.id, message)
        if key is not None:
            self._tx.put(self._s.message_keys, (message.business_id, key), message.id)
        if message.provider_sid is not None:
            self._tx.put(self._s.message_sids, message.provider_sid, message.id)
        self._tx.note(
            message.business_id,
            message.to,
            message.created_at,
            Direction.OUTBOUND,
            message.body,
            message.kind.value,
        )

    def get(self, message_id: str) -> OutboundMessage | None:
        return self._s.messages.get(message_id)

    def by_idempotency_key(self, business_id: str, key: str) -> OutboundMessage | None:
        message_id = self._s.message_keys.get((business_id, key))
        return None if message_id is None else self._s.messages[message_id]

    def by_provider_sid(self, provider_sid: str) -> OutboundMessage | None:
        message_id = self._s.message_sids.get(provider_sid)
        return None if message_id is None else self._s.messages[message_id]

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
        current = self._s.messages.get(message_id)
        if current is None or current.status not in allowed_from:
            return None
        updated = attrs.evolve(
            current,
            status=to,
            updated_at=now,
            provider_sid=current.provider_sid if provider_sid is None else provider_sid,
            error_code=current.error_code if error_code is None else error_code,
            units=current.units if units is None else units,
        )
        self._tx.put(self._s.messages, message_id, updated)
        if provider_sid is not None:
            self._tx.put(self._s.message_sids, provider_sid, message_id)
        return updated

    def record_sent(self, sends: Sequence[tuple[str, SentMessage]], *, now: datetime) -> None:
        for message_id, sent in sends:
            self.transition(
                message_id,
                allowed_from={MessageStatus.SUBMITTING},
                to=sent.status,
                now=now,
                provider_sid=sent.provider_sid,
            )

    def record_answer(self, message_id: str, answer: SendAnswer) -> None:
        current = self._s.messages[message_id]
        if current.answer is None:
            self._tx.put(self._s.messages, message_id, attrs.evolve(current, answer=answer))

    def forget_idempotency_key(self, message_id: str) -> None:
        current = self._s.messages[message_id]
        key = current.idempotency_key
        if key is None:
            return
        self._tx.put(self._s.messages, message_id, attrs.evolve(current, idempotency_key=None))
        self._tx.remove(self._s.message_keys, (current.business_id, key))

    def latest_review_request_at(self, business_id: str, to: PhoneNumber) -> datetime | None:
        times = [
            m.created_at
            for m in self._s.messages.values()
            if m.business_id == business_id
            and m.to == to
            and m.kind is MessageKind.REVIEW_REQUEST
            and m.status not in NEVER_SENT
        ]
        return max(times, default=None)

    def claim_due(self, now: datetime, limit: int) -> Sequence[OutboundMessage]:
        due = sorted(
            (m for m in self._s.messages.values() if m.status is MessageStatus.SCHEDULED),
            key=lambda m: (m.send_at or now, m.id),
        )
        due = [m for m in due if m.send_at is not None and m.send_at <= now][:limit]
        to = MessageStatus.SUBMITTING  # under the store's lock: every transition succeeds
        return [self.transition(m.id, allowed_from={m.status}, to=to, now=now) or m for m in due]

    def scheduled_for(self, business_id: str) -> Sequence[OutboundMessage]:
        return [
            m
            for m in self._s.messages.values()
            if m.business_id == business_id and m.status is MessageStatus.SCHEDULED
        ]

    def for_recipient(
        self,
        business_id: str,
        phone: PhoneNumber,
        *,
        before: tuple[datetime, str] | None,
        limit: int,
    ) -> Sequence[OutboundMessage]:
        rows = sorted(
            (
                m
                for m in self._s.messages.values()
                if m.business_id == business_id and m.to == phone
            ),
            key=lambda m: (m.created_at, m.id),
            reverse=True,
        )
        if before is not None:
            rows = [m for m in rows if (m.created_at, m.id) < before]
        return rows[:limit]

    def for_business(self, business_id: str) -> Sequence[OutboundMessage]:
        rows = [m for m in self._s.messages.values() if m.business_id == business_id]
        return sorted(rows, key=lambda m: (m.created_at, m.id))

    def latest_reminder(self, business_id: str, reference: str) -> OutboundMessage | None:
        rows = [
            m
            for m in self._s.messages.values()
            if m.business_id == business_id and m.reference == reference
        ]
        return min(rows, key=reminder_order, default=None)

    def reminders(
        self,
        business_id: str,
        *,
        statuses: Collection[MessageStatus] | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> Sequence[OutboundMessage]:
        rows = sorted(
            (
                m
                for m in self._s.messages.values()
                if m.business_id == business_id
                and m.kind is MessageKind.REMINDER
                and (statuses is None or m.status in statuses)
            ),
            key=send_order,
        )
        if after is not None:
            rows = [m for m in rows if send_order(m) > after]
        return rows[:limit]

    def submitting_before(self, cutoff: datetime, limit: int) -> Sequence[OutboundMessage]:
        rows = [
            m
            for m in self._s.messages.values()
            if m.status is MessageStatus.SUBMITTING and (m.updated_at or m.created_at) < cutoff
        ]
        return sorted(rows, key=lambda m: (m.updated_at or m.created_at, m.id))[:limit]


class _Inbound:
    def __init__(self, tx: _Tx) -> None:
        self._tx, self._s = tx, tx.store

    def add(self, message: InboundMessage) -> bool:
        sid = message.provider_sid
        if sid is not None and sid in self._s.inbound_sids:
            return False
        self._tx.put(self._s.inbound, message.id, message)
        if sid is not None:
            self._tx.put(self._s.inbound_sids, sid, message.id)
        self._tx.note(
            message.business_id,
            message.from_,
            message.received_at,
            Direction.INBOUND,
            message.body,
            INBOUND_KIND,
        )
        return True

    def for_sender(
        self,
        business_id: str,
        phone: PhoneNumber,
        *,
        before: tuple[datetime, str] | None,
        limit: int,
    ) -> Sequence[InboundMessage]:
        rows = sorted(
            (
                m
                for m in self._s.inbound.values()
                if m.business_id == business_id and m.from_ == phone
            ),
            key=lambda m: (m.received_at, m.id),
            reverse=True,
        )
        if before is not None:
            rows = [m for m in rows if (m.received_at, m.id) < before]
        return rows[:limit]

    def get(self, message_id: str) -> InboundMessage | None:
        return self._s.inbound.get(message_id)


class _Open:
    """The repositories of one open transaction; the store's lock is held meanwhile."""

    def __init__(self, store: _Store) -> None:
        store.lock.acquire()
        self.tx = _Tx(store)
        self.businesses = _Businesses(self.tx)
        self.numbers = _Numbers(self.tx)
        self.consents = _Consents(self.tx)
        self.allowances = _Allowances(self.tx)
        self.messages = _Messages(self.tx)
        self.inbound = _Inbound(self.tx)
        self.sessions = MemorySessions(self.tx)
        self.conversations = MemoryConversations(self.tx)
        self.registrations = MemoryRegistrations(self.tx)

    def commit(self) -> None:
        self.tx.apply_notes()
        self.tx.undo.clear()

    def rollback(self) -> None:
        self.tx.rollback()

    def close(self) -> None:
        try:
            self.tx.rollback()
        finally:
            self.tx.store.lock.release()


class InMemoryUnitOfWork(ThreadLocalUnitOfWork):
    """A unit of work over process memory. Share one instance between threads."""

    def __init__(self) -> None:
        super().__init__()
        self._store = _Store()

    def _begin(self, *, read_only: bool) -> _Open:
        # One lock serialises every block, reading ones too: nothing waits long.
        return _Open(self._store)


def _conforms(uow: InMemoryUnitOfWork) -> UnitOfWork:
    return uow  # mypy proves the adapter satisfies the port
