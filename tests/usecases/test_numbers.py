"""Numbers: status, search, provision (with compensation) and release."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock, SimulatedTelephony
from neariq_sms.domain import (
    BusinessNotFound,
    DuplicateNumber,
    InvalidField,
    InvalidPhone,
    MessageStatus,
    MissingField,
    NoSmsNumber,
    NumberAlreadyProvisioned,
    NumberStatus,
    NumberUnavailable,
    PhoneNumber,
    PlanRequired,
    ProviderError,
    SmsError,
    SmsNotConfigured,
)
from neariq_sms.ports import UnitOfWork
from neariq_sms.testing import FaultyUnitOfWork
from tests.usecases.support import (
    AUSTIN_NUMBER,
    CUSTOMER,
    provider_state,
    ready_business,
    snapshot,
    used,
)

NIGHT_IN_AUSTIN = datetime(2026, 3, 11, 2, 30, tzinfo=UTC)


def provision(
    uow: UnitOfWork,
    telephony: SimulatedTelephony,
    clock: ManualClock,
    business_id: str,
    number: object = AUSTIN_NUMBER,
) -> uc.ProvisionResult:
    return uc.provision_number(business_id, number, uow=uow, telephony=telephony, clock=clock)


def test_search_in_512_starts_with_the_specs_example(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """The sandbox's first Austin number is +15125550123, (512) 555-0123, Austin, TX."""
    business = uc.create_business("Shop", "growth", uow=uow, clock=clock)
    found = uc.search_numbers(business.id, "512", 3, uow=uow, telephony=telephony)
    assert len(found) == 3
    first = found[0]
    assert (first.number.e164, first.friendly_name, first.locality, first.region) == (
        "+15125550123",
        "(512) 555-0123",
        "Austin",
        "TX",
    )


@pytest.mark.parametrize("area_code", ["51", "5123", "abc", "012", None, ""])
def test_search_needs_a_three_digit_area_code(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock, area_code: object
) -> None:
    """A malformed area code is ``invalid_field``, before configuration and plan."""
    business = uc.create_business("Shop", "free", uow=uow, clock=clock)
    with pytest.raises(InvalidField):
        uc.search_numbers(
            business.id, area_code, uow=uow, telephony=SimulatedTelephony(configured=False)
        )
    assert telephony.calls["search"] == 0


def test_search_needs_configuration_then_the_plan(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """503 before 403, and neither reaches the provider."""
    business = uc.create_business("Shop", "starter", uow=uow, clock=clock)
    unconfigured = SimulatedTelephony(configured=False)
    with pytest.raises(SmsNotConfigured):
        uc.search_numbers(business.id, "512", uow=uow, telephony=unconfigured)
    with pytest.raises(PlanRequired):
        uc.search_numbers(business.id, "512", uow=uow, telephony=telephony)
    assert unconfigured.calls["search"] == telephony.calls["search"] == 0


def test_provisioning_buys_the_number_and_makes_it_active(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """The number is bought once and the business's status shows it."""
    business = uc.create_business("Shop", "growth", uow=uow, clock=clock)
    result = provision(uow, telephony, clock, business.id, "(512) 555-0123")

    assert result.number == AUSTIN_NUMBER
    assert telephony.owned == {result.sid: PhoneNumber(AUSTIN_NUMBER)}
    status = uc.get_status(business.id, uow=uow, telephony=telephony, clock=clock)
    assert status.number is not None
    assert (status.number.number.e164, status.number.status) == (AUSTIN_NUMBER, NumberStatus.ACTIVE)
    assert status.sms_enabled


def test_every_provision_rule_answers_in_the_specs_order_and_changes_nothing(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Shape, 404, 503, plan, 409, duplicate_number, then the provider."""
    holder = ready_business(uow, telephony, clock, name="Holder", consent=())
    business = ready_business(uow, telephony, clock, number="+15125550124", consent=())
    uc.change_plan(business.id, "starter", uow=uow)
    telephony.unavailable.add(PhoneNumber("+15125550125"))
    unconfigured = SimulatedTelephony(configured=False)

    def rejected(
        error: type[SmsError],
        business_id: str = business.id,
        number: object = AUSTIN_NUMBER,
        provider: SimulatedTelephony = telephony,
    ) -> None:
        before, calls = snapshot(uow), provider_state(telephony)
        with pytest.raises(error):
            provision(uow, provider, clock, business_id, number)
        assert snapshot(uow) == before
        if error is not NumberUnavailable:
            assert provider_state(telephony) == calls

    # The input comes first here; "404 before a shape error" is the HTTP adapter's rule
    # (tests/http/test_contract.py::test_an_inactive_business_is_404_before_any_shape_error).
    rejected(MissingField, "nope", None, unconfigured)
    rejected(InvalidPhone, "nope", "555-01", unconfigured)
    rejected(BusinessNotFound, "nope", provider=unconfigured)
    rejected(SmsNotConfigured, provider=unconfigured)
    rejected(PlanRequired)
    uc.change_plan(business.id, "pro", uow=uow)
    rejected(NumberAlreadyProvisioned)
    uc.release_number(business.id, uow=uow, telephony=telephony, clock=clock)
    rejected(DuplicateNumber)
    rejected(NumberUnavailable, number="+15125550125")
    assert provision(uow, telephony, clock, business.id, "+15125550126").number == "+15125550126"
    assert uc.get_status(holder.id, uow=uow, telephony=telephony, clock=clock).number is not None


@pytest.mark.parametrize(
    "error", [ProviderError(reason="down"), NumberUnavailable(number=AUSTIN_NUMBER)]
)
def test_a_failed_purchase_leaves_no_claim(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock, error: SmsError
) -> None:
    """The pending claim is dropped: storage is as before, and a retry may succeed."""
    business = uc.create_business("Shop", "growth", uow=uow, clock=clock)
    before = snapshot(uow)
    telephony.fail_next("purchase", error)
    with pytest.raises(type(error)):
        provision(uow, telephony, clock, business.id)
    assert snapshot(uow) == before
    assert telephony.owned == {}
    assert provision(uow, telephony, clock, business.id).number == AUSTIN_NUMBER


def test_when_storing_fails_after_the_purchase_the_number_is_released_again(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """No paid, orphaned number: the provider gets the number back, storage holds no
    slot for it, and the business can provision again."""
    business = uc.create_business("Shop", "growth", uow=uow, clock=clock)
    flaky = FaultyUnitOfWork(uow, fail_at=2)  # the claim commits; storing the bought number fails

    with pytest.raises(ConnectionError):
        provision(flaky, telephony, clock, business.id)  # type: ignore[arg-type]

    assert telephony.owned == {}
    assert telephony.calls["release"] == 1
    with uow:
        assert uow.numbers.holding(business.id) is None
        assert uow.numbers.holder_of(PhoneNumber(AUSTIN_NUMBER)) is None
    assert provision(uow, telephony, clock, business.id).number == AUSTIN_NUMBER


def test_release_frees_the_slot_and_keeps_the_history(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """The provider lets the number go; the row stays, released; status shows no number."""
    business = ready_business(uow, telephony, clock, consent=())
    uc.change_plan(business.id, "free", uow=uow)  # release is allowed on every plan

    released = uc.release_number(business.id, uow=uow, telephony=telephony, clock=clock)

    assert released.status is NumberStatus.RELEASED
    assert released.released_at == clock.now()
    assert telephony.owned == {}
    status = uc.get_status(business.id, uow=uow, telephony=telephony, clock=clock)
    assert (status.number, status.sms_enabled) == (None, False)
    with uow:
        assert [n.status for n in uow.numbers.history(business.id)] == [NumberStatus.RELEASED]


def test_a_business_is_read_with_the_number_it_holds_and_no_other(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """``businesses.with_number`` (a send's one read) answers what ``businesses.get``
    and ``numbers.holding`` answer: before provisioning, while held, after release."""

    def joined_and_apart(business_id: str) -> tuple[object, object]:
        with uow:
            return uow.businesses.with_number(business_id), (
                uow.businesses.get(business_id),
                uow.numbers.holding(business_id),
            )

    business = uc.create_business("Shop", "growth", uow=uow, clock=clock)
    [_, elsewhere, *_] = uc.search_numbers(business.id, "512", uow=uow, telephony=telephony)
    other = ready_business(uow, telephony, clock, number=elsewhere.number.e164, consent=())
    assert joined_and_apart(business.id) == ((business, None), (business, None))

    provision(uow, telephony, clock, business.id)
    joined, apart = joined_and_apart(business.id)
    assert joined == apart
    assert isinstance(joined, tuple)
    assert joined[1].number.e164 == AUSTIN_NUMBER
    other_joined, other_apart = joined_and_apart(other.id)
    assert other_joined == other_apart
    assert isinstance(other_joined, tuple)
    assert other_joined[1].number == elsewhere.number

    uc.release_number(business.id, uow=uow, telephony=telephony, clock=clock)
    assert joined_and_apart(business.id) == ((business, None), (business, None))
    with uow:
        assert uow.businesses.with_number("nobody") is None


def test_release_cancels_scheduled_messages_and_refunds_them(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Scheduled review requests die with the number and give their units back."""
    business = ready_business(uow, telephony, clock)
    clock.set(NIGHT_IN_AUSTIN)
    uc.send_review_request(business.id, CUSTOMER, "Jane", uow=uow, telephony=telephony, clock=clock)
    assert used(uow, business.id, clock) == 1

    uc.release_number(business.id, uow=uow, telephony=telephony, clock=clock)

    with uow:
        [message] = uow.messages.for_business(business.id)
    assert (message.status, message.units) == (MessageStatus.CANCELED, 0)
    assert used(uow, business.id, clock) == 0
    assert uc.dispatch_due(uow=uow, telephony=telephony, clock=clock) == uc.DispatchReport()


def test_release_rules_in_order_and_a_provider_failure_changes_nothing(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """404, 503, no_sms_number, then the provider; each leaves storage as it was."""
    bare = uc.create_business("Bare", "growth", uow=uow, clock=clock)
    business = ready_business(uow, telephony, clock, consent=())
    unconfigured = SimulatedTelephony(configured=False)
    for business_id, provider, error in [
        ("nope", unconfigured, BusinessNotFound),
        (bare.id, unconfigured, SmsNotConfigured),
        (bare.id, telephony, NoSmsNumber),
    ]:
        before = snapshot(uow)
        with pytest.raises(error):
            uc.release_number(business_id, uow=uow, telephony=provider, clock=clock)
        assert snapshot(uow) == before
    assert telephony.calls["release"] == 0

    telephony.fail_next("release", ProviderError(reason="down"))
    before = snapshot(uow)
    with pytest.raises(ProviderError):
        uc.release_number(business.id, uow=uow, telephony=telephony, clock=clock)
    assert snapshot(uow) == before
    assert list(telephony.owned.values()) == [PhoneNumber(AUSTIN_NUMBER)]
