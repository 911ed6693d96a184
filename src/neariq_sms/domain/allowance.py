"""The monthly SMS allowance, counted in segments."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs


def period_of(now: datetime) -> str:
    """The allowance period (``YYYY-MM``, UTC) that contains ``now``."""
    return now.astimezone(UTC).strftime("%Y-%m")


@attrs.frozen
class Allowance:
    """How much of a month's limit a business has used."""

    business_id: str
    period: str
    limit: int
    used: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)
