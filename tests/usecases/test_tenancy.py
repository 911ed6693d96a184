"""One business never sees or acts on another's data."""

from __future__ import annotations

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock, SimulatedTelephony
from neariq_sms.domain import (
    BusinessNotFound,
    ConsentRequired,
    DuplicateNumber,
    PhoneNumber,
    SmsNotConfigured,
)
from neariq_sms.ports import UnitOfWork
from tests.usecases.support import AUSTIN_NUMBER, CUSTOMER, ready_business, snapshot


def test_businesses_are_isolated(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Consent, conversations, keys, numbers and opt-outs stay with their business."""
    mine = ready_business(uow, telephony, clock, name="Mine")
    theirs = ready_business(uow, telephony, clock, name="Theirs", number="+15125550124", consent=())
    uc.send_review_request(
        mine.id, CUSTOMER, "Jane", uow=uow, telephony=telephony, clock=clock, idempotency_key="k"
    )
    uc.handle_inbound_message(AUSTIN_NUMBER, CUSTOMER, "hi", uow=uow, clock=clock)

    assert uc.get_consent(theirs.id, CUSTOMER, uow=uow) is None
    assert uc.list_consents(theirs.id, uow=uow).items == []
    assert uc.list_conversation(theirs.id, CUSTOMER, uow=uow).items == []
    with pytest.raises(ConsentRequired):
        uc.send_review_request(
            theirs.id,
            CUSTOMER,
            "Jane",
            uow=uow,
            telephony=telephony,
            clock=clock,
            idempotency_key="k",
        )
    uc.release_number(theirs.id, uow=uow, telephony=telephony, clock=clock)
    with pytest.raises(DuplicateNumber):
        uc.provision_number(theirs.id, AUSTIN_NUMBER, uow=uow, telephony=telephony, clock=clock)

    uc.opt_out(theirs.id, CUSTOMER, uow=uow, clock=clock)
    record = uc.get_consent(mine.id, CUSTOMER, uow=uow)
    assert record is not None
    assert record.allows_sending
    status = uc.get_status(mine.id, uow=uow, telephony=telephony, clock=clock)
    assert status.number is not None
    assert status.number.number.e164 == AUSTIN_NUMBER


def test_a_stop_to_one_business_number_opts_out_of_that_business_only(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """The keyword is scoped to the number that received it."""
    mine = ready_business(uow, telephony, clock, name="Mine")
    theirs = ready_business(uow, telephony, clock, name="Theirs", number="+15125550124")
    uc.handle_inbound_message("+15125550124", CUSTOMER, "STOP", uow=uow, clock=clock)
    mine_record = uc.get_consent(mine.id, CUSTOMER, uow=uow)
    theirs_record = uc.get_consent(theirs.id, CUSTOMER, uow=uow)
    assert mine_record is not None
    assert theirs_record is not None
    assert mine_record.allows_sending
    assert theirs_record.opted_out


def test_a_deactivated_business_is_not_found_for_every_operation(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Deactivation releases the number; afterwards every use case answers 404."""
    business = ready_business(uow, telephony, clock)
    uc.deactivate_business(business.id, uow=uow, clock=clock, telephony=telephony)
    assert telephony.owned == {}
    before = snapshot(uow)
    calls = [
        lambda: uc.get_status(business.id, uow=uow, telephony=telephony, clock=clock),
        lambda: uc.search_numbers(business.id, "512", uow=uow, telephony=telephony),
        lambda: uc.send_review_request(
            business.id, CUSTOMER, "Jane", uow=uow, telephony=telephony, clock=clock
        ),
        lambda: uc.record_consent(business.id, CUSTOMER, "paper", uow=uow, clock=clock),
        lambda: uc.list_consents(business.id, uow=uow),
        lambda: uc.release_number(business.id, uow=uow, telephony=telephony, clock=clock),
    ]
    for call in calls:
        with pytest.raises(BusinessNotFound):
            call()
    assert snapshot(uow) == before


@pytest.mark.parametrize("provider", ["none", "unconfigured"])
def test_a_business_holding_a_number_is_not_deactivated_without_a_provider(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock, provider: str
) -> None:
    """Without a provider to release it, the number would stay bought behind an inactive
    business: deactivation refuses with sms_not_configured and changes nothing."""
    business = ready_business(uow, telephony, clock)
    unconfigured = SimulatedTelephony(configured=False) if provider == "unconfigured" else None
    before = snapshot(uow)
    with pytest.raises(SmsNotConfigured):
        uc.deactivate_business(business.id, uow=uow, clock=clock, telephony=unconfigured)
    assert snapshot(uow) == before
    assert list(telephony.owned.values()) == [PhoneNumber(AUSTIN_NUMBER)]


def test_a_business_without_a_number_is_deactivated_without_a_provider(
    uow: UnitOfWork, clock: ManualClock
) -> None:
    """Nothing to release: no provider is needed, and a second call changes nothing."""
    business = uc.create_business("Shop", "growth", uow=uow, clock=clock)
    assert not uc.deactivate_business(business.id, uow=uow, clock=clock).active
    before = snapshot(uow)
    uc.deactivate_business(business.id, uow=uow, clock=clock)
    assert snapshot(uow) == before
