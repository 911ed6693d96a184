"""Businesses (tenants) and their SMS numbers."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from neariq_sms.domain.errors import InvalidField
from neariq_sms.domain.parsing import parse_template, parse_text, parse_timezone
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import Plan
from neariq_sms.domain.reminders import parse_reminder_template

MAX_BUSINESS_NAME = 120
MAX_REVIEW_URL = 500
#: The time zone of a business that names none: it stands in for recipients whose
#: number maps to no zone.
DEFAULT_TIMEZONE = "America/Chicago"


@attrs.frozen
class Business:
    """A tenant of the dashboard. Only active businesses can be acted for.

    Make a new one with :meth:`create`, which checks every value; change it
    through the transitions (:meth:`with_plan`, :meth:`deactivated`, ...).
    """

    id: str
    name: str
    plan: Plan
    created_at: datetime
    review_url: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    active: bool = True
    #: Review-request template; ``None`` uses the library's default.
    review_template: str | None = None
    #: Appointment-reminder template; ``None`` uses the library's default.
    reminder_template: str | None = None

    @classmethod
    def create(
        cls,
        name: object,
        plan: object,
        *,
        id: str,
        created_at: datetime,
        review_url: str | None = None,
        timezone: str = DEFAULT_TIMEZONE,
        review_template: str | None = None,
        reminder_template: str | None = None,
    ) -> Business:
        """A new active business from raw input, each value checked in this order.

        Raises:
            MissingField: no name.
            InvalidField: a name that is not printable text of at most
                :data:`MAX_BUSINESS_NAME` characters, an unknown plan, a review
                URL that is not http(s), an unknown time zone, a bad template.
        """
        return cls(
            id=id,
            name=_parse_name(name),
            plan=Plan.parse(plan),
            created_at=created_at,
            review_url=_parse_review_url(review_url),
            timezone=parse_timezone(timezone),
            review_template=parse_template(review_template) if review_template else None,
            reminder_template=(
                parse_reminder_template(reminder_template) if reminder_template else None
            ),
        )

    def with_plan(self, plan: Plan) -> Business:
        """The business on ``plan``. Below Growth it keeps its number (release stays
        allowed) but may not search, provision or send."""
        return attrs.evolve(self, plan=plan)

    def deactivated(self) -> Business:
        return attrs.evolve(self, active=False)

    def reactivated(self) -> Business:
        return attrs.evolve(self, active=True)


def _parse_name(raw: object) -> str:
    text = parse_text(raw, "name").strip()
    if len(text) > MAX_BUSINESS_NAME or not text.isprintable():
        raise InvalidField("name", f"must be printable and at most {MAX_BUSINESS_NAME} characters")
    return text


def _parse_review_url(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    if (
        not raw.startswith(("https://", "http://"))
        or len(raw) > MAX_REVIEW_URL
        or not raw.isprintable()
    ):
        raise InvalidField(
            "review_url", f"must be an http(s) URL of at most {MAX_REVIEW_URL} characters"
        )
    return raw


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

    @property
    def active(self) -> bool:
        """Bought and held: the number messages go out from."""
        return self.status is NumberStatus.ACTIVE

    def activated(self, bought: PurchasedNumber) -> SmsNumber:
        """A pending claim once the provider sold its number."""
        return attrs.evolve(
            self,
            status=NumberStatus.ACTIVE,
            provider_sid=bought.provider_sid,
            friendly_name=bought.friendly_name or self.number.national,
        )

    def released(self, *, now: datetime) -> SmsNumber:
        """The number given back to the provider; the row stays as history."""
        return attrs.evolve(self, status=NumberStatus.RELEASED, released_at=now)


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
