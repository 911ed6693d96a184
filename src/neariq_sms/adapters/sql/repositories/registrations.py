"""Sender registrations: one row per business, its documents as JSON.

The lease is one conditional ``UPDATE``: no row lock outlives a transaction,
which a sync that calls the provider between two transactions needs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from neariq_sms.adapters.sql.statements import Db, one_of
from neariq_sms.adapters.sql.tables import sender_registrations as t
from neariq_sms.adapters.sql.tables import sms_numbers
from neariq_sms.domain.business import NumberStatus
from neariq_sms.domain.errors import RegistrationInProgress
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.registration import (
    IN_FLIGHT,
    RegistrationIssue,
    RegistrationKind,
    RegistrationStatus,
    RegistrationStep,
    SenderRegistration,
    StepName,
    StepState,
)
from neariq_sms.domain.registration_input import (
    Address,
    BusinessInfo,
    CampaignContent,
    RegistrationDetails,
    Representative,
)

_BY_ID = sa.select(t).where(t.c.id == sa.bindparam("registration_id"))
_BY_BUSINESS = sa.select(t).where(t.c.business_id == sa.bindparam("business_id"))
# SQLite renders no FOR UPDATE: its writing transactions take the write lock up front.
_BY_BUSINESS_FOR_UPDATE = _BY_BUSINESS.with_for_update()
_IN_FLIGHT = one_of(t.c.status, [s.value for s in IN_FLIGHT])
# The steps are one JSON document (``_values``: ``["number", "approved", sid, status]``
# for a number in the service); its text is matched rather than a column added.
_NUMBER_IN_SERVICE = t.c.steps.like(
    "%" + json.dumps([StepName.NUMBER.value, StepState.APPROVED.value])[:-1] + "%"
)
_HOLDS_ACTIVE_NUMBER = (
    sa.select(sms_numbers.c.id)
    .where(
        sms_numbers.c.business_id == t.c.business_id,
        sms_numbers.c.status == NumberStatus.ACTIVE.value,
        sms_numbers.c.provider_sid.is_not(None),
    )
    .exists()
)
_AWAITING_NUMBER = sa.and_(
    t.c.status == RegistrationStatus.APPROVED.value, ~_NUMBER_IN_SERVICE, _HOLDS_ACTIVE_NUMBER
)


class SqlRegistrations:
    def __init__(self, db: Db) -> None:
        self._db = db

    def add(self, registration: SenderRegistration) -> None:
        violated = self._db.guarded(t.insert(), _values(registration))
        if violated == "uq_sender_registrations_business_id":
            held = self.current(registration.business_id)
            raise RegistrationInProgress(state=held.status.value if held else "submitted")
        if violated is not None:
            raise AssertionError(f"unexpected constraint {violated}")

    def current(self, business_id: str, *, for_update: bool = False) -> SenderRegistration | None:
        query = _BY_BUSINESS_FOR_UPDATE if for_update else _BY_BUSINESS
        row = self._db.conn.execute(query, {"business_id": business_id}).first()
        return None if row is None else _load(row)

    def get(self, registration_id: str) -> SenderRegistration | None:
        row = self._db.conn.execute(_BY_ID, {"registration_id": registration_id}).first()
        return None if row is None else _load(row)

    def update(self, registration: SenderRegistration) -> None:
        values = _values(registration)
        del values["id"], values["business_id"], values["created_at"]
        self._db.conn.execute(sa.update(t).where(t.c.id == registration.id).values(values))

    def in_flight(self, *, limit: int) -> Sequence[SenderRegistration]:
        rows = self._db.conn.execute(
            sa.select(t).where(_IN_FLIGHT).order_by(t.c.updated_at, t.c.id).limit(limit)
        )
        return [_load(row) for row in rows]

    def awaiting_number(self, *, limit: int) -> Sequence[SenderRegistration]:
        rows = self._db.conn.execute(
            sa.select(t).where(_AWAITING_NUMBER).order_by(t.c.updated_at, t.c.id).limit(limit)
        )
        return [_load(row) for row in rows]

    def claim(
        self, registration_id: str, *, owner: str, now: datetime, until: datetime
    ) -> SenderRegistration | None:
        free = sa.or_(t.c.leased_until.is_(None), t.c.leased_until <= now, t.c.lease_owner == owner)
        row = self._db.conn.execute(
            sa.update(t)
            .where(t.c.id == registration_id, free)
            .values(leased_until=until, lease_owner=owner)
            .returning(*t.c)
        ).first()
        return None if row is None else _load(row)

    def release(self, registration_id: str, *, owner: str) -> None:
        self._db.conn.execute(
            sa.update(t)
            .where(t.c.id == registration_id, t.c.lease_owner == owner)
            .values(leased_until=None, lease_owner=None)
        )


# --- mapping ---------------------------------------------------------------------------


def _values(r: SenderRegistration) -> dict[str, Any]:
    return {
        "id": r.id,
        "business_id": r.business_id,
        "kind": r.kind.value,
        "status": r.status.value,
        "details": json.dumps(_details_doc(r.details), sort_keys=True),
        "steps": json.dumps([[s.name.value, s.state.value, s.sid, s.provider_status]
                             for s in r.steps]),
        "issues": json.dumps([[i.code, i.description, i.field] for i in r.issues]),
        "revision": r.revision,
        "blocked_sends": r.blocked_sends,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "submitted_at": r.submitted_at,
        "leased_until": r.leased_until,
        "lease_owner": r.lease_owner,
    }  # fmt: skip


def _load(row: sa.Row[Any]) -> SenderRegistration:
    m = row._mapping
    return SenderRegistration(
        id=m["id"],
        business_id=m["business_id"],
        kind=RegistrationKind(m["kind"]),
        status=RegistrationStatus(m["status"]),
        details=_details(json.loads(m["details"])),
        steps=tuple(
            RegistrationStep(StepName(name), StepState(state), sid, provider_status)
            for name, state, sid, provider_status in json.loads(m["steps"])
        ),
        issues=tuple(RegistrationIssue(*issue) for issue in json.loads(m["issues"])),
        revision=m["revision"],
        blocked_sends=m["blocked_sends"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        submitted_at=m["submitted_at"],
        leased_until=m["leased_until"],
        lease_owner=m["lease_owner"],
    )


def _details_doc(d: RegistrationDetails) -> dict[str, Any]:
    b, p, c = d.business, d.representative, d.campaign
    return {
        "business": None if b is None else {
            "legal_name": b.legal_name, "ein": b.ein, "business_type": b.business_type,
            "industry": b.industry, "website": b.website, "company_type": b.company_type,
            "stock_exchange": b.stock_exchange, "stock_ticker": b.stock_ticker,
            "address": [b.address.street, b.address.city, b.address.region,
                        b.address.postal_code, b.address.country],
        },
        "representative": None if p is None else {
            "first_name": p.first_name, "last_name": p.last_name, "email": p.email,
            "phone": p.phone.e164, "title": p.title, "job_position": p.job_position,
        },
        "campaign": None if c is None else {
            "description": c.description, "message_flow": c.message_flow,
            "sample_messages": list(c.sample_messages),
        },
    }  # fmt: skip


def _details(doc: dict[str, Any]) -> RegistrationDetails:
    b, p, c = doc["business"], doc["representative"], doc["campaign"]
    business = None
    if b is not None:
        business = BusinessInfo(address=Address(*b.pop("address")), **b)
    person = None
    if p is not None:
        person = Representative(phone=PhoneNumber(p.pop("phone")), **p)
    campaign = None
    if c is not None:
        campaign = CampaignContent(c["description"], c["message_flow"], tuple(c["sample_messages"]))
    return RegistrationDetails(business, person, campaign)


__all__ = ["SqlRegistrations"]
