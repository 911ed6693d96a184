"""Quiet hours: the recipient-local window in which nothing is sent."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import attrs

from neariq_sms.domain.errors import InvalidField

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
# Windows in different zones can push each other forward; a handful of rounds
# settles any real combination (US zones differ by at most a few hours).
_MAX_ROUNDS = 8
#: A message due before a window goes out this long before the window begins.
_LAST_MINUTE = timedelta(minutes=1)


@attrs.frozen
class QuietHours:
    """A daily local window ``[start, end)``; it may wrap past midnight (21:00-08:00)."""

    start: time = time(21, 0)
    end: time = time(8, 0)

    @classmethod
    def parse(cls, raw: str) -> QuietHours | None:
        """Parse ``"21:00-08:00"``; ``"off"`` gives ``None`` (no quiet hours)."""
        if raw.strip().lower() in {"off", "none", ""}:
            return None
        match = _WINDOW.match(raw)
        if not match:
            raise InvalidField("quiet_hours", "expected HH:MM-HH:MM or off")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59 or (h1, m1) == (h2, m2):
            raise InvalidField("quiet_hours", "expected two different times of day")
        return cls(time(h1, m1), time(h2, m2))

    def contains(self, local: time) -> bool:
        """Is this local wall-clock time inside the window?"""
        local = local.replace(tzinfo=None)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def _window_end(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The first moment after ``now`` (inside the window) at which it ends in ``zone``."""
        local = now.astimezone(zone)
        end_date = local.date()
        if self.start > self.end and local.time() >= self.start:
            end_date += timedelta(days=1)
        candidate = datetime.combine(end_date, self.end, tzinfo=zone)
        # On a DST gap the wall time may not exist; round-tripping through UTC
        # lands on the real instant just after it.
        return candidate.astimezone(UTC)

    def _window_start(self, moment: datetime, zone: ZoneInfo) -> datetime:
        """When the window containing ``moment`` began in ``zone``."""
        local = moment.astimezone(zone)
        start_date = local.date()
        if self.start > self.end and local.time() < self.end:
            start_date -= timedelta(days=1)
        return datetime.combine(start_date, self.start, tzinfo=zone).astimezone(UTC)

    def last_allowed_at_or_before(self, moment: datetime, zones: Sequence[str]) -> datetime:
        """``moment`` when sending is allowed then in every zone, else the last
        minute before the window that contains it (in the zones where it does)."""
        tzs = [ZoneInfo(z) for z in zones]
        for _ in range(_MAX_ROUNDS):
            starts = [
                self._window_start(moment, tz)
                for tz in tzs
                if self.contains(moment.astimezone(tz).time())
            ]
            if not starts:
                return moment
            moment = min(starts) - _LAST_MINUTE
        return moment

    def next_allowed(self, now: datetime, zones: Sequence[str]) -> datetime | None:
        """``None`` when sending is allowed at ``now`` in every zone, else the
        earliest later moment at which it is allowed in all of them."""
        tzs = [ZoneInfo(z) for z in zones]
        moment = now
        for _ in range(_MAX_ROUNDS):
            ends = [
                self._window_end(moment, tz)
                for tz in tzs
                if self.contains(moment.astimezone(tz).time())
            ]
            if not ends:
                return None if moment == now else moment
            moment = max(ends)
        return moment
