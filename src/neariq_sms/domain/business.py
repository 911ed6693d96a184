"""Businesses (tenants) and their SMS numbers."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import Plan

MAX_BUSINESS_NAME = 120


@attrs.frozen
class Business:
    """A tenant of the dashboard. Only active businesses can be acted for."""

    id: str
    name: str
    plan: Plan
    created_at: datetime
    review_url: str | None = None
    timezone: str = "America/Chicago"
    active: bool = True
    #: Review-request template; ``None`` uses the library's default.
    review_template: str | None = None


class NumberStatus(enum.Enum):
    #: Claimed in storage, purchase not yet confirmed (the slot is held).
    PENDING = "pending"
    ACTIVE = "active"
    RELEASED = "released"


@attrs.frozen
class SmsNumber:
    """A number a business holds (or held: released rows are history)."""

    id: str
    business_id: str
    number: PhoneNumber
    status: NumberStatus
    created_at: datetime
    provider_sid: str | None = None
    friendly_name: str | None = None
    released_at: datetime | None = None

    @property
    def holds_slot(self) -> bool:
        """Pending and active rows both count for the one-number rules."""
        return self.status is not NumberStatus.RELEASED


@attrs.frozen
class AvailableNumber:
    """A number the provider offers for purchase."""

    number: PhoneNumber
    friendly_name: str
    locality: str | None = None
    region: str | None = None


@attrs.frozen
class PurchasedNumber:
    """The provider's answer to a purchase."""

    number: PhoneNumber
    provider_sid: str
    friendly_name: str | None = None


@attrs.frozen
class DashboardSession:
    """A signed-in dashboard session of the reference server; only a hash of its token is kept."""

    token_hash: str
    business_id: str
    created_at: datetime
    expires_at: datetime | None = None

    def __repr__(self) -> str:
        # Even the hash is a bearer-equivalent lookup key: keep it out of logs.
        return f"DashboardSession(business_id={self.business_id!r}, created_at={self.created_at!r})"
