"""Businesses: a new one is checked value by value; transitions change one thing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from neariq_sms.domain import Business, InvalidField, MissingField, Plan
from neariq_sms.domain.business import DEFAULT_TIMEZONE, MAX_BUSINESS_NAME

NOW = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)


def make(name: object = "  Aster Grove  ", plan: object = "Growth", **kwargs: object) -> Business:
    return Business.create(name, plan, id="b1", created_at=NOW, **kwargs)  # type: ignore[arg-type]


def test_a_new_business_is_active_with_its_values_normalised() -> None:
    """The name is trimmed, the plan parsed, empty optional values are absent."""
    business = make(review_url="", review_template="")
    assert (business.name, business.plan, business.active) == ("Aster Grove", Plan.GROWTH, True)
    assert (business.review_url, business.review_template) == (None, None)
    assert business.timezone == DEFAULT_TIMEZONE


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"name": None}, MissingField, "name"),
        ({"name": "   "}, MissingField, "name"),
        ({"name": 7}, InvalidField, "name"),
        ({"name": "x" * (MAX_BUSINESS_NAME + 1)}, InvalidField, "name"),
        ({"name": "Tab\there"}, InvalidField, "name"),
        ({"plan": "platinum"}, InvalidField, "plan"),
        ({"review_url": "ftp://example.com/r"}, InvalidField, "review_url"),
        ({"review_url": "https://example.com/" + "r" * 500}, InvalidField, "review_url"),
        ({"timezone": "Mars/Olympus"}, InvalidField, "timezone"),
        ({"review_template": "Hi {nobody}"}, InvalidField, "review_template"),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(
    kwargs: dict[str, object], error: type[Exception], field: str
) -> None:
    """Each invariant of a business raises its error with the field's name."""
    with pytest.raises(error) as refused:
        make(**kwargs)
    assert refused.value.field == field  # type: ignore[attr-defined]


def test_the_name_is_checked_before_the_plan() -> None:
    """Two bad values: the first in order (name, plan, URL, zone, template) answers."""
    with pytest.raises(MissingField):
        make(name="", plan="platinum", review_url="ftp://x")


def test_transitions_change_only_their_own_value() -> None:
    """``with_plan``, ``deactivated`` and ``reactivated`` keep everything else."""
    business = make()
    downgraded = business.with_plan(Plan.FREE)
    assert (downgraded.plan, downgraded.name, downgraded.active) == (Plan.FREE, "Aster Grove", True)
    assert business.deactivated().active is False
    assert business.deactivated().reactivated() == business
