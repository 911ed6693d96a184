"""The reconcile use case: stuck sends and claims settled by asking the provider, once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock, SimulatedTelephony
from neariq_sms.domain import (
    MessageStatus,
    NumberStatus,
    PhoneNumber,
    ProviderError,
    SmsNotConfigured,
)
from neariq_sms.ports import UnitOfWork
from tests.faults.support import ProviderView, violations
from tests.usecases.support import AUSTIN_NUMBER, CUSTOMER, ready_business, used

LATER = timedelta(minutes=16)
TIMEOUT = ProviderError(reason="timeout", ambiguous=True)


@pytest.fixture
def telephony(clock: ManualClock) -> SimulatedTelephony:
    return SimulatedTelephony(clock=clock)


def _send(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock, business: str
) -> None:
    with pytest.raises(ProviderError):
        uc.send_review_request(
            business, CUSTOMER, "Jane", uow=uow, telephony=telephony, clock=clock
        )


def _messages(uow: UnitOfWork, business: str) -> list[uc.SendResult]:
    with uow:
        return [uc.SendResult.of(m) for m in uow.messages.for_business(business)]


def test_a_send_the_provider_took_before_timing_out_gets_its_sid_and_keeps_its_units(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Found by sender, recipient and body: submitting -> the provider's status, sid recorded."""
    shop = ready_business(uow, telephony, clock)
    telephony.fail_next("send", TIMEOUT, after_effect=True)
    _send(uow, telephony, clock, shop.id)
    clock.advance(LATER)
    report = uc.reconcile(uow=uow, telephony=telephony, clock=clock)
    [message] = _messages(uow, shop.id)
    assert (message.status, message.message_sid) == (MessageStatus.QUEUED, telephony.sent[0].sid)
    assert [r.outcome for r in report.resolutions] == ["sent"]
    assert used(uow, shop.id, clock) == message.segments
    assert violations(uow, ProviderView.of(telephony)) == []


def test_a_send_that_never_reached_the_provider_fails_and_gives_its_units_back(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Not found: failed, units returned, and the cooldown no longer counts it."""
    shop = ready_business(uow, telephony, clock)
    telephony.fail_next("send", TIMEOUT)
    _send(uow, telephony, clock, shop.id)
    clock.advance(LATER)
    report = uc.reconcile(uow=uow, telephony=telephony, clock=clock)
    [message] = _messages(uow, shop.id)
    assert message.status is MessageStatus.FAILED
    assert [(r.outcome, r.units) for r in report.resolutions] == [("failed", message.segments)]
    assert used(uow, shop.id, clock) == 0
    again = uc.send_review_request(
        shop.id, CUSTOMER, "Jane", uow=uow, telephony=telephony, clock=clock
    )
    assert again.status is MessageStatus.QUEUED


def test_a_second_run_changes_nothing(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Idempotent: the second report is empty and storage and provider are untouched."""
    shop = ready_business(uow, telephony, clock)
    telephony.fail_next("send", TIMEOUT, after_effect=True)
    _send(uow, telephony, clock, shop.id)
    clock.advance(LATER)
    assert uc.reconcile(uow=uow, telephony=telephony, clock=clock).changed
    before = (_messages(uow, shop.id), dict(telephony.owned), list(telephony.sent))
    second = uc.reconcile(uow=uow, telephony=telephony, clock=clock)
    assert second.resolutions == ()
    assert (_messages(uow, shop.id), dict(telephony.owned), list(telephony.sent)) == before


def test_young_submitting_messages_are_left_alone(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """A send younger than the threshold may still be in flight: not touched."""
    shop = ready_business(uow, telephony, clock)
    telephony.fail_next("send", TIMEOUT)
    _send(uow, telephony, clock, shop.id)
    clock.advance(timedelta(minutes=14))
    assert uc.reconcile(uow=uow, telephony=telephony, clock=clock).resolutions == ()
    assert [m.status for m in _messages(uow, shop.id)] == [MessageStatus.SUBMITTING]
    report = uc.reconcile(
        uow=uow, telephony=telephony, clock=clock, older_than=timedelta(minutes=10)
    )
    assert [r.outcome for r in report.resolutions] == ["failed"]


def test_a_provider_message_with_another_body_is_not_taken_for_ours(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Same sender and recipient, other text (a reply sent elsewhere): not a match."""
    shop = ready_business(uow, telephony, clock)
    telephony.fail_next("send", TIMEOUT)
    _send(uow, telephony, clock, shop.id)
    telephony.send(from_=PhoneNumber(AUSTIN_NUMBER), to=PhoneNumber(CUSTOMER), body="Hi!")
    clock.advance(LATER)
    report = uc.reconcile(uow=uow, telephony=telephony, clock=clock)
    assert [r.outcome for r in report.resolutions] == ["failed"]


def test_a_failing_lookup_leaves_the_message_for_the_next_run(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """The provider cannot be asked: reported unresolved, nothing changed, settled later."""
    shop = ready_business(uow, telephony, clock)
    telephony.fail_next("send", TIMEOUT, after_effect=True)
    _send(uow, telephony, clock, shop.id)
    clock.advance(LATER)
    telephony.fail_next("find_messages", ProviderError(reason="HTTP 500"))
    first = uc.reconcile(uow=uow, telephony=telephony, clock=clock)
    assert [r.outcome for r in first.resolutions] == ["unresolved"]
    assert not first.changed
    assert [m.status for m in _messages(uow, shop.id)] == [MessageStatus.SUBMITTING]
    second = uc.reconcile(uow=uow, telephony=telephony, clock=clock)
    assert [r.outcome for r in second.resolutions] == ["sent"]


def test_a_claim_whose_purchase_timed_out_after_buying_is_activated(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Ambiguous purchase: the claim is kept, and reconcile activates it with the sid."""
    shop = uc.create_business("Shop", "growth", uow=uow, clock=clock)
    telephony.fail_next("purchase", TIMEOUT, after_effect=True)
    with pytest.raises(ProviderError):
        uc.provision_number(shop.id, AUSTIN_NUMBER, uow=uow, telephony=telephony, clock=clock)
    with uow:
        claim = uow.numbers.holding(shop.id)
    assert claim is not None
    assert claim.status is NumberStatus.PENDING
    clock.advance(LATER)
    report = uc.reconcile(uow=uow, telephony=telephony, clock=clock)
    assert [r.outcome for r in report.resolutions] == ["activated"]
    with uow:
        number = uow.numbers.holding(shop.id)
    assert number is not None
    assert (number.status, number.provider_sid) == (NumberStatus.ACTIVE, *telephony.owned)
    assert violations(uow, ProviderView.of(telephony)) == []


def test_a_claim_whose_purchase_never_happened_is_dropped(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Ambiguous purchase that did not buy: the claim goes, the business may buy again."""
    shop = uc.create_business("Shop", "growth", uow=uow, clock=clock)
    telephony.fail_next("purchase", TIMEOUT)
    with pytest.raises(ProviderError):
        uc.provision_number(shop.id, AUSTIN_NUMBER, uow=uow, telephony=telephony, clock=clock)
    clock.advance(LATER)
    report = uc.reconcile(uow=uow, telephony=telephony, clock=clock)
    assert [r.outcome for r in report.resolutions] == ["dropped"]
    uc.provision_number(shop.id, AUSTIN_NUMBER, uow=uow, telephony=telephony, clock=clock)
    assert violations(uow, ProviderView.of(telephony)) == []


def test_a_provider_whose_numbers_cannot_be_listed_leaves_claims_unresolved(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Listing the account's numbers fails: the run says so (the CLI exits 1), each pending
    claim is reported unresolved and kept, and the next run settles it."""
    shop = uc.create_business("Shop", "growth", uow=uow, clock=clock)
    telephony.fail_next("purchase", TIMEOUT, after_effect=True)
    with pytest.raises(ProviderError):
        uc.provision_number(shop.id, AUSTIN_NUMBER, uow=uow, telephony=telephony, clock=clock)
    clock.advance(LATER)
    telephony.fail_next("owned_numbers", ProviderError(reason="connection refused"))
    first = uc.reconcile(uow=uow, telephony=telephony, clock=clock)
    assert [(r.kind, r.outcome) for r in first.resolutions] == [
        ("number", "unresolved"),
        ("account", "unresolved"),
    ]
    assert first.count("unresolved") == 2
    assert not first.changed
    assert "connection refused" in first.resolutions[-1].describe()
    with uow:
        claim = uow.numbers.holding(shop.id)
    assert claim is not None
    assert claim.status is NumberStatus.PENDING
    second = uc.reconcile(uow=uow, telephony=telephony, clock=clock)
    assert [r.outcome for r in second.resolutions] == ["activated"]


def test_an_unlistable_account_is_unresolved_even_with_nothing_pending(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Orphans could not be looked for: not "0 unresolved"."""
    telephony.fail_next("owned_numbers", ProviderError(reason="connection refused"))
    report = uc.reconcile(uow=uow, telephony=telephony, clock=clock)
    assert report.count("unresolved") == 1
    assert report.summary().endswith("1 unresolved")


def test_a_number_no_business_holds_is_released_or_only_reported(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """An orphan (bought, never recorded) is reported with release_orphans=False, else released."""
    telephony.purchase(PhoneNumber(AUSTIN_NUMBER))
    [sid] = telephony.owned
    reported = uc.reconcile(uow=uow, telephony=telephony, clock=clock, release_orphans=False)
    assert [(r.outcome, r.provider_sid) for r in reported.resolutions] == [("orphaned", sid)]
    assert not reported.changed
    assert sid in telephony.owned
    released = uc.reconcile(uow=uow, telephony=telephony, clock=clock)
    assert [(r.outcome, r.provider_sid) for r in released.resolutions] == [("released", sid)]
    assert telephony.owned == {}
    assert uc.reconcile(uow=uow, telephony=telephony, clock=clock).resolutions == ()


def test_a_number_a_business_holds_is_never_released(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Active numbers and fresh claims (a purchase in flight) are not orphans."""
    ready_business(uow, telephony, clock)
    other = uc.create_business("Other", "growth", uow=uow, clock=clock)
    telephony.fail_next("purchase", TIMEOUT, after_effect=True)
    with pytest.raises(ProviderError):
        uc.provision_number(other.id, "+15125550124", uow=uow, telephony=telephony, clock=clock)
    assert uc.reconcile(uow=uow, telephony=telephony, clock=clock).resolutions == ()
    assert len(telephony.owned) == 2


def test_reconcile_needs_a_provider(uow: UnitOfWork, clock: ManualClock) -> None:
    with pytest.raises(SmsNotConfigured):
        uc.reconcile(uow=uow, telephony=SimulatedTelephony(configured=False), clock=clock)
