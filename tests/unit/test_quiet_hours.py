"""Quiet hours 21:00-08:00 in the recipient's local time, DST and several zones."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given

from neariq_sms.domain import InvalidField, PhoneNumber, QuietHours
from tests.strategies import moments

CHICAGO = ZoneInfo("America/Chicago")
QUIET = QuietHours()


def local(*args: int, zone: ZoneInfo = CHICAGO) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("hour", "minute", "allowed"), [(7, 59, False), (8, 0, True), (20, 59, True), (21, 0, False)]
)
def test_the_window_boundaries(hour: int, minute: int, allowed: bool) -> None:
    """07:59 and 21:00 are quiet; 08:00 and 20:59 are sending hours."""
    now = local(2026, 3, 10, hour, minute)
    assert (QUIET.next_allowed(now, ["America/Chicago"]) is None) is allowed


def test_a_quiet_moment_waits_for_eight_the_same_morning() -> None:
    """At 07:59 the next allowed moment is 08:00 the same day."""
    assert QUIET.next_allowed(local(2026, 3, 10, 7, 59), ["America/Chicago"]) == local(
        2026, 3, 10, 8, 0
    )


def test_a_quiet_evening_waits_for_eight_the_next_morning() -> None:
    """At 21:00 the next allowed moment is 08:00 the next day."""
    assert QUIET.next_allowed(local(2026, 3, 10, 21, 0), ["America/Chicago"]) == local(
        2026, 3, 11, 8, 0
    )


def test_spring_forward_night_ends_at_eight_daylight_time() -> None:
    """2026-03-08: 21:00 CST the evening before waits for 08:00 CDT (13:00 UTC)."""
    evening = local(2026, 3, 7, 21, 0)
    assert evening == datetime(2026, 3, 8, 3, 0, tzinfo=UTC)
    assert QUIET.next_allowed(evening, ["America/Chicago"]) == datetime(
        2026, 3, 8, 13, 0, tzinfo=UTC
    )
    assert QUIET.next_allowed(datetime(2026, 3, 8, 12, 59, tzinfo=UTC), ["America/Chicago"])
    assert QUIET.next_allowed(datetime(2026, 3, 8, 13, 0, tzinfo=UTC), ["America/Chicago"]) is None


def test_fall_back_night_ends_at_eight_standard_time() -> None:
    """2026-11-01: 21:00 CDT the evening before waits for 08:00 CST (14:00 UTC)."""
    evening = local(2026, 10, 31, 21, 0)
    assert evening == datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    assert QUIET.next_allowed(evening, ["America/Chicago"]) == datetime(
        2026, 11, 1, 14, 0, tzinfo=UTC
    )
    assert QUIET.next_allowed(datetime(2026, 11, 1, 13, 59, tzinfo=UTC), ["America/Chicago"])
    assert QUIET.next_allowed(datetime(2026, 11, 2, 2, 59, tzinfo=UTC), ["America/Chicago"]) is None
    assert QUIET.next_allowed(datetime(2026, 11, 2, 3, 0, tzinfo=UTC), ["America/Chicago"])


def test_a_number_in_several_zones_waits_until_every_zone_is_open() -> None:
    """Area code 208 spans Mountain and Pacific time: 08:00 Boise is 07:00 in Idaho's north."""
    zones = PhoneNumber("+12085550100").time_zones()
    assert set(zones) == {"America/Boise", "America/Los_Angeles"}
    boise_eight = local(2026, 3, 10, 8, 0, zone=ZoneInfo("America/Boise"))
    pacific_eight = local(2026, 3, 10, 8, 0, zone=ZoneInfo("America/Los_Angeles"))
    assert QUIET.next_allowed(boise_eight, zones) == pacific_eight
    mountain_nine = local(2026, 3, 10, 21, 0, zone=ZoneInfo("America/Boise"))
    assert QUIET.next_allowed(mountain_nine, zones) == local(
        2026, 3, 11, 8, 0, zone=ZoneInfo("America/Los_Angeles")
    )


@given(moments)
def test_the_next_allowed_moment_is_open_everywhere_and_later(now: datetime) -> None:
    """Whatever the moment, the answer is later and outside the window in every zone."""
    zones = ["America/New_York", "America/Chicago", "America/Los_Angeles", "Pacific/Honolulu"]
    allowed = QUIET.next_allowed(now, zones)
    if allowed is None:
        assert all(not QUIET.contains(now.astimezone(ZoneInfo(z)).time()) for z in zones)
    else:
        assert allowed > now
        assert all(not QUIET.contains(allowed.astimezone(ZoneInfo(z)).time()) for z in zones)


def test_off_disables_quiet_hours_and_the_default_parses() -> None:
    """``off`` means no window; ``21:00-08:00`` is the default."""
    assert QuietHours.parse("off") is None
    assert QuietHours.parse("21:00-08:00") == QuietHours()
    assert QuietHours.parse("22:30-07:15") == QuietHours(time(22, 30), time(7, 15))


@pytest.mark.parametrize("raw", ["21-08", "25:00-08:00", "08:00-08:00", "nine to five"])
def test_malformed_windows_are_an_invalid_field(raw: str) -> None:
    """A window must be HH:MM-HH:MM with two different times."""
    with pytest.raises(InvalidField):
        QuietHours.parse(raw)
