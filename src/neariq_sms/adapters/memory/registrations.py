"""The in-memory repositories of sender registrations and dashboard sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from neariq_sms.domain.business import DashboardSession
from neariq_sms.domain.errors import RegistrationInProgress
from neariq_sms.domain.registration import IN_FLIGHT, SenderRegistration, StepName, StepState

if TYPE_CHECKING:
    from neariq_sms.adapters.memory.storage import _Tx


class MemoryRegistrations:
    def __init__(self, tx: _Tx) -> None:
        self._tx, self._rows = tx, tx.store.registrations

    def add(self, registration: SenderRegistration) -> None:
        held = self.current(registration.business_id)
        if held is not None:
            raise RegistrationInProgress(state=held.status.value)
        self._tx.put(self._rows, registration.id, registration)

    def current(self, business_id: str, *, for_update: bool = False) -> SenderRegistration | None:
        return next((r for r in self._rows.values() if r.business_id == business_id), None)

    def get(self, registration_id: str) -> SenderRegistration | None:
        return self._rows.get(registration_id)

    def update(self, registration: SenderRegistration) -> None:
        if registration.id not in self._rows:
            raise KeyError(registration.id)
        self._tx.put(self._rows, registration.id, registration)

    def in_flight(self, *, limit: int) -> Sequence[SenderRegistration]:
        found = [r for r in self._rows.values() if r.status in IN_FLIGHT]
        return sorted(found, key=lambda r: (r.updated_at, r.id))[:limit]

    def awaiting_number(self, *, limit: int) -> Sequence[SenderRegistration]:
        numbers = self._tx.store.numbers.values()
        held = {n.business_id for n in numbers if n.active and n.provider_sid is not None}
        found = [
            r
            for r in self._rows.values()
            if r.approved
            and r.business_id in held
            and r.step(StepName.NUMBER).state is not StepState.APPROVED
        ]
        return sorted(found, key=lambda r: (r.updated_at, r.id))[:limit]

    def claim(
        self, registration_id: str, *, owner: str, now: datetime, until: datetime
    ) -> SenderRegistration | None:
        row = self._rows.get(registration_id)
        if row is None:
            return None
        free = row.leased_until is None or row.leased_until <= now or row.lease_owner == owner
        if not free:
            return None
        leased = attrs.evolve(row, leased_until=until, lease_owner=owner)
        self._tx.put(self._rows, registration_id, leased)
        return leased

    def release(self, registration_id: str, *, owner: str) -> None:
        row = self._rows.get(registration_id)
        if row is not None and row.lease_owner == owner:
            self._tx.put(
                self._rows, registration_id, attrs.evolve(row, leased_until=None, lease_owner=None)
            )


class MemorySessions:
    def __init__(self, tx: _Tx) -> None:
        self._tx, self._s = tx, tx.store

    def add(self, session: DashboardSession) -> None:
        self._tx.put(self._s.sessions, session.token_hash, session)

    def get(self, token_hash: str) -> DashboardSession | None:
        return self._s.sessions.get(token_hash)

    def delete(self, token_hash: str) -> None:
        if token_hash in self._s.sessions:
            self._tx.remove(self._s.sessions, token_hash)

    def delete_for_business(self, business_id: str) -> int:
        hashes = [h for h, s in self._s.sessions.items() if s.business_id == business_id]
        for token_hash in hashes:
            self._tx.remove(self._s.sessions, token_hash)
        return len(hashes)
