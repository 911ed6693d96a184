"""Plans, ordered tiers, and the policy values a deployment can configure."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from types import MappingProxyType

import attrs

from neariq_sms.domain.errors import InvalidField, PlanRequired
from neariq_sms.domain.phone import DEFAULT_REGION
from neariq_sms.domain.quiet_hours import QuietHours


class Plan(enum.Enum):
    """Subscription tiers, lowest first."""

    FREE = "free"
    STARTER = "starter"
    GROWTH = "growth"
    PRO = "pro"
    ENTERPRISE = "enterprise"

    @property
    def rank(self) -> int:
        return _PLAN_ORDER.index(self)

    @property
    def includes_sms(self) -> bool:
        """SMS search, provision and send need :data:`SMS_PLAN` or higher."""
        return self.rank >= SMS_PLAN.rank

    def require_sms(self) -> None:
        """Check that this plan includes SMS.

        Raises:
            PlanRequired: this plan is below :data:`SMS_PLAN`.
        """
        if not self.includes_sms:
            raise PlanRequired(plan=self.value, required=SMS_PLAN.value)

    @classmethod
    def parse(cls, raw: object, *, field: str = "plan") -> Plan:
        if isinstance(raw, str):
            try:
                return cls(raw.strip().lower())
            except ValueError:
                pass
        names = ", ".join(p.value for p in cls)
        raise InvalidField(field, f"must be one of {names}")


_PLAN_ORDER = tuple(Plan)
#: The lowest plan with SMS (search, provision, send); release and status need none.
SMS_PLAN = Plan.GROWTH

#: One review request per recipient per business in this time.
DEFAULT_REVIEW_COOLDOWN = timedelta(days=30)
DEFAULT_MONTHLY_ALLOWANCE: Mapping[Plan, int] = MappingProxyType(
    {Plan.GROWTH: 500, Plan.PRO: 2_000, Plan.ENTERPRISE: 10_000}
)


def _frozen_limits(value: Mapping[Plan, int]) -> Mapping[Plan, int]:
    return MappingProxyType(dict(value))


@attrs.frozen
class Policy:
    """Deployment-wide rules: allowances, cooldown, quiet hours, default region, and
    whether a business must hold an approved sender registration to send (US A2P
    10DLC: on with a real provider, unless the platform registers elsewhere)."""

    monthly_allowance: Mapping[Plan, int] = attrs.field(
        default=DEFAULT_MONTHLY_ALLOWANCE, converter=_frozen_limits
    )
    review_cooldown: timedelta = DEFAULT_REVIEW_COOLDOWN
    quiet_hours: QuietHours | None = attrs.field(factory=QuietHours)
    default_region: str = DEFAULT_REGION
    registration_required: bool = False

    def review_allowed_from(self, latest: datetime | None, now: datetime) -> datetime | None:
        """When the recipient may next be asked for a review, while that is after
        ``now``; ``None`` when a request may go out now.

        ``latest`` is the recipient's last request that counts. A zero cooldown
        is no cooldown at all, also against a request stamped a little after
        ``now`` (a concurrent send that read its clock later, or a server
        whose clock runs ahead).
        """
        if latest is None or self.review_cooldown <= timedelta(0):
            return None
        until = latest + self.review_cooldown
        return until if now < until else None

    def allowance_for(self, plan: Plan) -> int:
        """Monthly limit in segments; 0 for plans without SMS."""
        if not plan.includes_sms:
            return 0
        return self.monthly_allowance.get(plan, 0)


DEFAULT_POLICY = Policy()
