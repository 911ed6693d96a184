"""Time as an input."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """Where use cases read the time from. Each use case reads it once."""

    def now(self) -> datetime:
        """The current moment as an aware datetime in UTC."""
        ...
