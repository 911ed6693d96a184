"""Plans: ordered tiers, SMS from Growth up, monthly allowances."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neariq_sms.domain import DEFAULT_POLICY, InvalidField, Plan, PlanRequired, Policy
from tests.strategies import moments


def test_plans_are_ordered_free_to_enterprise() -> None:
    """The tiers rank free < starter < growth < pro < enterprise."""
    order = [Plan.FREE, Plan.STARTER, Plan.GROWTH, Plan.PRO, Plan.ENTERPRISE]
    assert sorted(Plan, key=lambda p: p.rank) == order
    assert [p.rank for p in order] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("plan", "included"),
    [
        (Plan.FREE, False),
        (Plan.STARTER, False),
        (Plan.GROWTH, True),
        (Plan.PRO, True),
        (Plan.ENTERPRISE, True),
    ],
)
def test_sms_needs_growth_or_higher(plan: Plan, included: bool) -> None:
    """Only Growth and above include SMS."""
    assert plan.includes_sms is included


@pytest.mark.parametrize("plan", [p for p in Plan if not p.includes_sms])
def test_a_plan_without_sms_is_refused_naming_the_lowest_plan_with_it(plan: Plan) -> None:
    """``require_sms`` names the plan it found and Growth, the one SMS needs."""
    with pytest.raises(PlanRequired) as refused:
        plan.require_sms()
    assert (refused.value.plan, refused.value.required) == (plan.value, "growth")


def test_default_allowances_by_plan() -> None:
    """Growth 500, Pro 2,000, Enterprise 10,000 segments; none below Growth."""
    limits = {p: DEFAULT_POLICY.allowance_for(p) for p in Plan}
    assert limits == {
        Plan.FREE: 0,
        Plan.STARTER: 0,
        Plan.GROWTH: 500,
        Plan.PRO: 2_000,
        Plan.ENTERPRISE: 10_000,
    }
    assert DEFAULT_POLICY.review_cooldown == timedelta(days=30)


def test_allowances_are_configurable_but_never_for_plans_without_sms() -> None:
    """A deployment may change the limits; a plan without SMS still gets 0."""
    policy = Policy(monthly_allowance={Plan.GROWTH: 7, Plan.STARTER: 99})
    assert policy.allowance_for(Plan.GROWTH) == 7
    assert policy.allowance_for(Plan.STARTER) == 0
    assert policy.allowance_for(Plan.PRO) == 0


@pytest.mark.parametrize("raw", ["growth", " Growth ", "PRO"])
def test_plan_names_parse_case_insensitively(raw: str) -> None:
    """Plan names are accepted in any case, surrounding spaces ignored."""
    assert Plan.parse(raw) in (Plan.GROWTH, Plan.PRO)


@pytest.mark.parametrize("raw", ["gold", "", None, 3])
def test_unknown_plans_are_an_invalid_field(raw: object) -> None:
    """Anything but a plan name is ``invalid_field``."""
    with pytest.raises(InvalidField):
        Plan.parse(raw)


@given(moments, moments, st.integers(min_value=0, max_value=60 * 24 * 60))
def test_a_review_is_allowed_exactly_from_the_last_one_plus_the_cooldown(
    latest: datetime, now: datetime, minutes: int
) -> None:
    """``review_allowed_from`` is ``latest + cooldown`` while that is after now, else None;
    a zero cooldown never holds a request back, whatever the two times."""
    cooldown = timedelta(minutes=minutes)
    policy = Policy(review_cooldown=cooldown)
    allowed_from = policy.review_allowed_from(latest, now)
    if minutes == 0 or now >= latest + cooldown:
        assert allowed_from is None
    else:
        assert allowed_from == latest + cooldown
    assert policy.review_allowed_from(None, now) is None
