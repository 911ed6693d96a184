"""The send rules as one decision: ``check_sendable`` and ``deferred_until``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neariq_sms.domain import (
    Business,
    BusinessNotFound,
    ConsentRequired,
    Cooldown,
    MessageKind,
    NoSmsNumber,
    NumberStatus,
    PhoneNumber,
    Plan,
    PlanRequired,
    Policy,
    PurchasedNumber,
    RecipientOptedOut,
    SmsError,
    SmsNotConfigured,
    SmsNumber,
)
from neariq_sms.domain.consent import ConsentRecord
from neariq_sms.domain.sendable import check_sendable, deferred_until, has_cooldown
from tests.strategies import moments

T0 = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
PHONE = PhoneNumber("+15557654321")
POLICY = Policy()


def _business(plan: Plan = Plan.GROWTH, *, active: bool = True) -> Business:
    return Business(id="b1", name="Acme", plan=plan, created_at=T0, active=active)


def _number(status: NumberStatus = NumberStatus.ACTIVE) -> SmsNumber:
    return SmsNumber(
        id="n1",
        business_id="b1",
        number=PhoneNumber("+15125550123"),
        status=status,
        created_at=T0,
        provider_sid="PN" + "0" * 32,
    )


def _consent(*, opted_out: bool = False) -> ConsentRecord:
    record, _ = ConsentRecord.first_consent(
        "b1", PHONE, source="paper", at=T0 - timedelta(days=1), now=T0
    )
    if opted_out:
        change = record.withdrawn(source="api", now=T0)
        assert change is not None
        return change[0]
    return record


def _first_opt_out() -> ConsentRecord:
    return ConsentRecord.first_opt_out("b1", PHONE, source="keyword", now=T0)[0]


def test_a_sendable_message_goes_out_from_the_active_number() -> None:
    """Every rule holding, the decision answers the number to send from."""
    number = _number()
    sent_from = check_sendable(
        _business(), number, _consent(), kind=MessageKind.REVIEW_REQUEST, policy=POLICY, now=T0
    )
    assert sent_from == number


@pytest.mark.parametrize(
    ("business", "number", "consent", "configured", "error"),
    [
        (None, _number(), _consent(), True, BusinessNotFound),
        (_business(active=False), _number(), _consent(), True, BusinessNotFound),
        (_business(Plan.FREE), None, None, False, SmsNotConfigured),
        (_business(Plan.STARTER), None, None, True, PlanRequired),
        (_business(), None, _consent(opted_out=True), True, NoSmsNumber),
        (_business(), _number(NumberStatus.PENDING), _consent(), True, NoSmsNumber),
        (_business(), _number(NumberStatus.RELEASED), _consent(), True, NoSmsNumber),
        (_business(), _number(), _consent(opted_out=True), True, RecipientOptedOut),
        (_business(), _number(), _first_opt_out(), True, RecipientOptedOut),
        (_business(), _number(), None, True, ConsentRequired),
    ],
)
def test_the_first_broken_rule_is_raised_in_the_spec_order(
    business: Business | None,
    number: SmsNumber | None,
    consent: ConsentRecord | None,
    configured: bool,
    error: type[SmsError],
) -> None:
    """Business, provider, plan, number, opt-out, consent: the earliest one answers."""
    with pytest.raises(error):
        check_sendable(
            business,
            number,
            consent,
            kind=MessageKind.REVIEW_REQUEST,
            policy=POLICY,
            now=T0,
            configured=configured,
        )


def test_a_review_request_waits_for_the_cooldown_and_a_reply_does_not() -> None:
    """The cooldown is a review request's rule only; it names when the next may go."""
    last = T0 - timedelta(days=1)
    with pytest.raises(Cooldown) as raised:
        check_sendable(
            _business(),
            _number(),
            _consent(),
            kind=MessageKind.REVIEW_REQUEST,
            policy=POLICY,
            now=T0,
            last_counted=last,
        )
    assert raised.value.until == last + POLICY.review_cooldown
    assert has_cooldown(MessageKind.REVIEW_REQUEST)
    assert not has_cooldown(MessageKind.REPLY)
    check_sendable(
        _business(),
        _number(),
        _consent(),
        kind=MessageKind.REPLY,
        policy=POLICY,
        now=T0,
        last_counted=last,
    )


def test_number_transitions_activate_a_claim_and_release_it_as_history() -> None:
    """``activated`` takes the provider's sid (and a name); ``released`` keeps the row."""
    claim = attrs.evolve(_number(), status=NumberStatus.PENDING, provider_sid=None)
    active = claim.activated(PurchasedNumber(claim.number, "PN" + "1" * 32))
    assert (active.status, active.provider_sid, active.friendly_name) == (
        NumberStatus.ACTIVE,
        "PN" + "1" * 32,
        claim.number.national,
    )
    assert active.active
    assert claim.holds_slot
    assert not claim.active
    released = active.released(now=T0)
    assert (released.status, released.released_at, released.holds_slot) == (
        NumberStatus.RELEASED,
        T0,
        False,
    )


def test_quiet_hours_defer_and_no_quiet_hours_send_now() -> None:
    """At 04:00 in Chicago a message waits for 08:00; without quiet hours it goes now."""
    night = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)  # 04:00 CDT
    zones = ("America/Chicago",)
    kind = MessageKind.REVIEW_REQUEST
    assert deferred_until(kind, policy=POLICY, now=night, zones=zones) == datetime(
        2026, 3, 10, 13, 0, tzinfo=UTC
    )
    assert deferred_until(kind, policy=Policy(quiet_hours=None), now=night, zones=zones) is None


# --- agreement with the rules as the send and the dispatcher spelled them inline --------


def _old_send_rules(
    business: Business,
    number: SmsNumber | None,
    consent: ConsentRecord | None,
    *,
    configured: bool,
    latest: datetime | None,
    now: datetime,
    policy: Policy,
) -> type[SmsError] | None:
    """``send_review_request`` before the decision existed, for an active business."""
    if not configured:
        return SmsNotConfigured
    if not business.plan.includes_sms:
        return PlanRequired
    if number is None or number.status is not NumberStatus.ACTIVE:
        return NoSmsNumber
    if consent is not None and consent.opted_out:
        return RecipientOptedOut
    if consent is None or not consent.allows_sending:
        return ConsentRequired
    if policy.review_allowed_from(latest, now) is not None:
        return Cooldown
    return None


def _old_dispatch_rules(
    business: Business | None, number: SmsNumber | None, consent: ConsentRecord | None
) -> bool:
    """``dispatch_due``'s inline ``still_allowed`` before the decision existed."""
    return (
        business is not None
        and business.active
        and business.plan.includes_sms
        and consent is not None
        and consent.allows_sending
        and number is not None
        and number.status is NumberStatus.ACTIVE
    )


businesses = st.builds(_business, st.sampled_from(list(Plan)), active=st.booleans()) | st.none()
numbers = st.sampled_from(list(NumberStatus)).map(_number) | st.none()
consents = st.sampled_from([None, _consent(), _consent(opted_out=True), _first_opt_out()])
latest_requests = st.none() | st.integers(0, 60 * 24 * 40).map(
    lambda minutes: T0 - timedelta(minutes=minutes)
)
cooldowns = st.sampled_from([timedelta(0), timedelta(days=1), timedelta(days=30)])


def _outcome(call: object) -> type[SmsError] | None:
    try:
        call()  # type: ignore[operator]
    except SmsError as exc:
        return type(exc)
    return None


@given(
    business=businesses,
    number=numbers,
    consent=consents,
    configured=st.booleans(),
    latest=latest_requests,
    cooldown=cooldowns,
)
def test_the_decision_agrees_with_the_old_inline_send_rules(
    business: Business | None,
    number: SmsNumber | None,
    consent: ConsentRecord | None,
    configured: bool,
    latest: datetime | None,
    cooldown: timedelta,
) -> None:
    """For every state, the send raises what the inline checks raised, in the same order."""
    policy = Policy(review_cooldown=cooldown)
    got = _outcome(
        lambda: check_sendable(
            business,
            number,
            consent,
            kind=MessageKind.REVIEW_REQUEST,
            policy=policy,
            now=T0,
            configured=configured,
            last_counted=latest,
        )
    )
    if business is None or not business.active:
        assert got is BusinessNotFound  # the send read the business first (404)
        return
    expected = _old_send_rules(
        business, number, consent, configured=configured, latest=latest, now=T0, policy=policy
    )
    assert got is expected


@given(business=businesses, number=numbers, consent=consents, now=moments)
def test_the_decision_at_dispatch_agrees_with_the_old_inline_dispatch_rules(
    business: Business | None,
    number: SmsNumber | None,
    consent: ConsentRecord | None,
    now: datetime,
) -> None:
    """A scheduled message goes out exactly when the dispatcher's inline check let it."""
    allowed = (
        _outcome(
            lambda: check_sendable(
                business,
                number,
                consent,
                kind=MessageKind.REVIEW_REQUEST,
                policy=POLICY,
                now=now,
            )
        )
        is None
    )
    assert allowed is _old_dispatch_rules(business, number, consent)
