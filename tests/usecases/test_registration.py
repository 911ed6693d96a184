"""Sender registration through the use cases, on every storage backend, against the
sandbox registry: register, sync to approval, the send gate, rejection and
resubmission, the sole proprietor's confirmation, crashes mid-chain."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock, SimulatedTelephony
from neariq_sms.adapters.memory.registry import INVALID_EIN, SimulatedRegistry
from neariq_sms.domain import Business, MessageStatus, PhoneNumber, Policy
from neariq_sms.domain.errors import (
    InvalidField,
    MissingField,
    PlanRequired,
    ProviderError,
    RegistrationInProgress,
    RegistrationPending,
    RegistrationRequired,
    SmsError,
)
from neariq_sms.domain.messages import StatusReport
from neariq_sms.domain.registration import (
    LEASE_SECONDS,
    RegistrationStatus,
    SenderRegistration,
    StepName,
    StepState,
)
from neariq_sms.domain.registration_input import parse_campaign
from neariq_sms.domain.reminders import Appointment
from neariq_sms.ports import UnitOfWork
from neariq_sms.testing import FaultyUnitOfWork
from tests.registration_data import SOLE_PROPRIETOR, STANDARD, payload
from tests.usecases.support import CUSTOMER, ready_business, snapshot

POLICY = Policy(quiet_hours=None, registration_required=True)
#: One of each object of a standard chain (the sub-objects of the profiles included).
ONE_EACH = {
    "customer_profile": 1, "trust_product": 1, "brand": 1, "messaging_service": 1,
    "campaign": 1, "end_user_business": 1, "end_user_representative": 1, "address": 1,
    "document_address": 1, "end_user_messaging": 1,
}  # fmt: skip


@pytest.fixture
def registry() -> SimulatedRegistry:
    return SimulatedRegistry()


@pytest.fixture
def business(uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock) -> Business:
    return ready_business(uow, telephony, clock)


def register(
    business: Business, uow: UnitOfWork, registry: SimulatedRegistry, clock: ManualClock,
    data: dict[str, Any] = STANDARD,
) -> SenderRegistration:  # fmt: skip
    return uc.register_sender(business.id, data, uow=uow, registry=registry, clock=clock)


def sync(uow: UnitOfWork, registry: SimulatedRegistry, clock: ManualClock) -> uc.SyncReport:
    clock.advance(timedelta(minutes=5))
    return uc.sync_registrations(uow=uow, registry=registry, clock=clock)


def current(uow: UnitOfWork, business: Business) -> SenderRegistration:
    found = uc.get_registration(business.id, uow=uow)
    assert found is not None
    return found


def review(
    business: Business, uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> uc.SendResult:
    return uc.send_review_request(
        business.id, CUSTOMER, "Dana Whitfield", uow=uow, telephony=telephony, clock=clock,
        policy=POLICY,
    )  # fmt: skip


def test_a_registration_is_approved_after_two_syncs_and_sends_through_its_service(
    uow: UnitOfWork,
    telephony: SimulatedTelephony,
    registry: SimulatedRegistry,
    clock: ManualClock,
    business: Business,
) -> None:
    """register -> submitted; sync -> in review (profiles, brand, service made; number
    in the service); sync -> approved; the send carries the Messaging Service."""
    submitted = register(business, uow, registry, clock)
    assert submitted.status is RegistrationStatus.SUBMITTED
    assert registry.calls.total() == 0  # nothing reaches the provider before a sync
    assert sync(uow, registry, clock) == uc.SyncReport(advanced=1)
    first = current(uow, business)
    assert first.status is RegistrationStatus.IN_REVIEW
    assert first.step(StepName.CAMPAIGN).state is StepState.PENDING  # waits for the brand
    assert sync(uow, registry, clock) == uc.SyncReport(approved=1)
    approved = current(uow, business)
    assert approved.status is RegistrationStatus.APPROVED
    assert all(s.made for s in approved.steps)
    assert dict(registry.made(approved.id)) == ONE_EACH
    number_sid = approved.step(StepName.NUMBER).sid
    assert number_sid is not None
    assert registry.service_of(number_sid) == approved.messaging_service_sid
    assert sync(uow, registry, clock) == uc.SyncReport()  # nothing in flight any more

    sent = review(business, uow, telephony, clock)
    assert sent.status is MessageStatus.QUEUED
    assert telephony.sent[-1].messaging_service_sid == approved.messaging_service_sid


def test_before_approval_no_kind_of_message_reaches_the_provider(
    uow: UnitOfWork,
    telephony: SimulatedTelephony,
    registry: SimulatedRegistry,
    clock: ManualClock,
    business: Business,
) -> None:
    """registration_required without one, registration_pending while in flight: review
    requests, reminders and replies alike, with nothing stored and no provider call."""
    appointment = Appointment("visit-1", clock.now() + timedelta(days=2))
    sends = {
        "review": lambda: review(business, uow, telephony, clock),
        "reminder": lambda: uc.schedule_reminder(
            business.id, PhoneNumber(CUSTOMER), "Dana", appointment, uow=uow,
            telephony=telephony, clock=clock, policy=POLICY,
        ),
        "reply": lambda: uc.send_reply(
            business.id, PhoneNumber(CUSTOMER), "Thanks!", uow=uow, telephony=telephony,
            clock=clock, policy=POLICY,
        ),
    }  # fmt: skip
    for expected in (RegistrationRequired, RegistrationPending):
        if expected is RegistrationPending:
            register(business, uow, registry, clock)
            sync(uow, registry, clock)
        before = snapshot(uow)
        for name, send in sends.items():
            with pytest.raises(expected):
                send()
            assert snapshot(uow) == before, name
    assert telephony.calls["send"] == 0


def test_the_plan_is_checked_before_the_registration(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """plan_required comes first, registration_required right after it."""
    business = ready_business(uow, telephony, clock)
    uc.change_plan(business.id, "starter", uow=uow)
    with pytest.raises(PlanRequired):
        review(business, uow, telephony, clock)


def test_registration_off_sends_as_before(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock, business: Business
) -> None:
    """Without the requirement nothing changes: no registration, a plain send."""
    uc.send_review_request(
        business.id, CUSTOMER, "Dana", uow=uow, telephony=telephony, clock=clock,
        policy=Policy(quiet_hours=None),
    )  # fmt: skip
    assert telephony.sent[-1].messaging_service_sid is None


def test_a_rejected_brand_is_resubmitted_with_the_corrections(
    uow: UnitOfWork,
    telephony: SimulatedTelephony,
    registry: SimulatedRegistry,
    clock: ManualClock,
    business: Business,
) -> None:
    """EIN 000000000: rejected with the brand error; sending needs a registration;
    register again with the right EIN resubmits the same brand, approved next sync."""
    register(business, uow, registry, clock, payload(**{"business.ein": "000000000"}))
    sync(uow, registry, clock)
    assert sync(uow, registry, clock) == uc.SyncReport(rejected=1)
    rejected = current(uow, business)
    assert rejected.status is RegistrationStatus.REJECTED
    assert rejected.issues == (INVALID_EIN,)
    assert rejected.step(StepName.BRAND).state is StepState.REJECTED
    with pytest.raises(RegistrationRequired):
        review(business, uow, telephony, clock)

    again = register(business, uow, registry, clock)
    assert (again.status, again.revision, again.issues) == (RegistrationStatus.SUBMITTED, 2, ())
    assert sync(uow, registry, clock) == uc.SyncReport(approved=1)
    assert current(uow, business).status is RegistrationStatus.APPROVED
    assert dict(registry.made(again.id)) == ONE_EACH  # the brand was resubmitted, not remade


def test_registering_again_while_in_flight_or_approved_is_a_conflict(
    uow: UnitOfWork, registry: SimulatedRegistry, clock: ManualClock, business: Business
) -> None:
    register(business, uow, registry, clock)
    with pytest.raises(RegistrationInProgress) as exc:
        register(business, uow, registry, clock)
    assert exc.value.state == "submitted"
    sync(uow, registry, clock)
    sync(uow, registry, clock)
    with pytest.raises(RegistrationInProgress):
        register(business, uow, registry, clock)


def test_bad_input_changes_nothing(
    uow: UnitOfWork, registry: SimulatedRegistry, clock: ManualClock, business: Business
) -> None:
    """A missing or malformed field, an unknown kind: nothing stored."""
    before = snapshot(uow)
    for data, error in [
        (payload(**{"business.ein": ...}), MissingField),
        (payload(**{"kind": "corporate"}), InvalidField),
        (payload(**{"kind": "existing"}), MissingField),
        (payload(**{"campaign.sampleMessages": ["too short", "also"]}), InvalidField),
    ]:
        with pytest.raises(error):
            register(business, uow, registry, clock, data)
    assert snapshot(uow) == before
    assert uc.get_registration(business.id, uow=uow) is None


def test_an_omitted_campaign_is_proposed_from_the_business_templates(
    uow: UnitOfWork, registry: SimulatedRegistry, clock: ManualClock, business: Business
) -> None:
    """Description, message flow and three samples that name the business, with
    STOP and HELP wording, within the vetting's limits."""
    registration = register(business, uow, registry, clock, payload(campaign=...))
    campaign = registration.details.campaign
    assert campaign is not None
    assert len(campaign.sample_messages) == 3
    assert all(business.name in s and "STOP" in s for s in campaign.sample_messages)
    assert "HELP" in campaign.sample_messages[2]
    assert "unchecked" in campaign.message_flow
    raw = {
        "description": campaign.description,
        "messageFlow": campaign.message_flow,
        "sampleMessages": list(campaign.sample_messages),
    }
    assert parse_campaign(raw) == campaign


def test_a_sole_proprietor_confirms_by_text_then_is_approved(
    uow: UnitOfWork, registry: SimulatedRegistry, clock: ManualClock, business: Business
) -> None:
    """The brand waits for the owner's YES (verifying); the text may be sent again
    meanwhile; the next sync finds the confirmation and makes the campaign."""
    register(business, uow, registry, clock, SOLE_PROPRIETOR)
    with pytest.raises(InvalidField):  # no text awaited yet
        uc.resend_registration_otp(business.id, uow=uow, registry=registry)
    sync(uow, registry, clock)
    sync(uow, registry, clock)
    waiting = current(uow, business)
    assert waiting.step(StepName.BRAND).state is StepState.VERIFYING
    assert waiting.step(StepName.CAMPAIGN).state is StepState.PENDING
    uc.resend_registration_otp(business.id, uow=uow, registry=registry)
    assert registry.otps_resent[waiting.step(StepName.BRAND).sid or ""] == 1
    assert sync(uow, registry, clock) == uc.SyncReport(approved=1)


def test_only_a_sole_proprietor_gets_a_confirmation_text(
    uow: UnitOfWork, registry: SimulatedRegistry, clock: ManualClock, business: Business
) -> None:
    with pytest.raises(RegistrationRequired):
        uc.resend_registration_otp(business.id, uow=uow, registry=registry)
    register(business, uow, registry, clock)
    with pytest.raises(InvalidField) as exc:
        uc.resend_registration_otp(business.id, uow=uow, registry=registry)
    assert exc.value.field == "kind"


def test_an_ambiguous_failure_is_resumed_without_making_anything_twice(
    uow: UnitOfWork, registry: SimulatedRegistry, clock: ManualClock, business: Business
) -> None:
    """The provider made the brand but the answer was lost: the step stays attempting,
    and the next sync looks it up by name instead of making a second brand."""
    register(business, uow, registry, clock)
    registry.fail_next("create", ProviderError(ambiguous=True), times=1)  # profile: not made
    assert sync(uow, registry, clock) == uc.SyncReport(failed=1)
    assert current(uow, business).step(StepName.CUSTOMER_PROFILE).state is StepState.ATTEMPTING
    sync(uow, registry, clock)
    registration = current(uow, business)
    brand = registration.step(StepName.BRAND)
    assert brand.made
    # Now the campaign's create acts and then fails ambiguously.
    registry.fail_next("create", ProviderError(ambiguous=True), after_effect=True)
    assert sync(uow, registry, clock) == uc.SyncReport(failed=1)
    assert current(uow, business).step(StepName.CAMPAIGN).state is StepState.ATTEMPTING
    assert sync(uow, registry, clock) == uc.SyncReport(approved=1)
    assert dict(registry.made(registration.id)) == ONE_EACH


def test_a_crash_after_the_provider_acted_is_resumed_once_the_lease_runs_out(
    uow: UnitOfWork, registry: SimulatedRegistry, clock: ManualClock, business: Business
) -> None:
    """The process dies right after the provider made the customer profile (its sid
    never stored); another sync waits for the dead one's lease, then resumes."""
    register(business, uow, registry, clock)
    # Commits of a sync: 1 claim, 2 profile attempting, 3 profile's sid: the third fails.
    dying = FaultyUnitOfWork(uow, fail_at=3, where="commit")
    with pytest.raises(ConnectionError):
        uc.sync_registrations(uow=dying, registry=registry, clock=clock)
    registration = current(uow, business)
    assert registration.step(StepName.CUSTOMER_PROFILE).state is StepState.ATTEMPTING
    busy = uc.sync_registrations(uow=uow, registry=registry, clock=clock)
    assert busy == uc.SyncReport(busy=1)  # the dead sync's lease still holds it
    clock.advance(timedelta(seconds=LEASE_SECONDS))
    uc.sync_registrations(uow=uow, registry=registry, clock=clock)
    sync(uow, registry, clock)
    assert current(uow, business).status is RegistrationStatus.APPROVED
    assert dict(registry.made(registration.id)) == ONE_EACH


def test_blocked_sends_are_counted_and_a_suspended_campaign_stops_sending(
    uow: UnitOfWork,
    telephony: SimulatedTelephony,
    registry: SimulatedRegistry,
    clock: ManualClock,
    business: Business,
) -> None:
    """30034 counts once per message (a redelivered callback does not); 30990 suspends
    the registration, and a scheduled reminder is then canceled at dispatch."""
    register(business, uow, registry, clock)
    sync(uow, registry, clock)
    sync(uow, registry, clock)
    sent = review(business, uow, telephony, clock)
    report = StatusReport(
        sent.message_sid or "", MessageStatus.UNDELIVERED, 30034, message_id=sent.message_id
    )
    assert uc.handle_status_callback(report, uow=uow, clock=clock)
    assert not uc.handle_status_callback(report, uow=uow, clock=clock)
    assert current(uow, business).blocked_sends == 1
    appointment = Appointment("visit-1", clock.now() + timedelta(days=2))
    reminder = uc.schedule_reminder(
        business.id, PhoneNumber(CUSTOMER), "Dana", appointment, uow=uow, telephony=telephony,
        clock=clock, policy=POLICY,
    )  # fmt: skip
    assert reminder.sent.status is MessageStatus.SCHEDULED
    again = review_later(business, uow, telephony, clock)
    suspended = StatusReport(again.message_sid or "", MessageStatus.UNDELIVERED, 30990)
    uc.handle_status_callback(suspended, uow=uow, clock=clock)
    registration = current(uow, business)
    assert registration.status is RegistrationStatus.SUSPENDED
    assert registration.blocked_sends == 2
    clock.advance(timedelta(days=1, hours=1))
    report_ = uc.dispatch_due(uow=uow, telephony=telephony, clock=clock, policy=POLICY)
    assert report_.canceled == 1
    with pytest.raises(RegistrationRequired):
        review(business, uow, telephony, clock)


def review_later(
    business: Business, uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> uc.SendResult:
    """A send to another consenting customer (the first is in its cooldown)."""
    other = "+15557654399"
    uc.record_consent(business.id, other, "point_of_sale", uow=uow, clock=clock)
    return uc.send_review_request(
        business.id, other, "Lee", uow=uow, telephony=telephony, clock=clock, policy=POLICY
    )


def test_release_takes_the_number_out_of_the_service_first(
    uow: UnitOfWork,
    telephony: SimulatedTelephony,
    registry: SimulatedRegistry,
    clock: ManualClock,
    business: Business,
) -> None:
    """Released, the number leaves the service; a new one joins it at provisioning."""
    register(business, uow, registry, clock)
    sync(uow, registry, clock)
    old = current(uow, business).step(StepName.NUMBER).sid or ""
    registry.fail_next("remove_number", ProviderError())
    with pytest.raises(ProviderError):  # still in the service: not released
        uc.release_number(business.id, uow=uow, telephony=telephony, clock=clock, registry=registry)
    assert registry.service_of(old) is not None
    uc.release_number(business.id, uow=uow, telephony=telephony, clock=clock, registry=registry)
    assert registry.service_of(old) is None
    assert current(uow, business).step(StepName.NUMBER).sid is None
    result = uc.provision_number(
        business.id, "+15125550124", uow=uow, telephony=telephony, clock=clock,
        registry=registry,
    )  # fmt: skip
    assert registry.service_of(result.sid) == current(uow, business).messaging_service_sid
    assert current(uow, business).step(StepName.NUMBER).sid == result.sid


def test_a_number_the_service_refused_at_provisioning_is_added_by_the_next_sync(
    uow: UnitOfWork,
    telephony: SimulatedTelephony,
    registry: SimulatedRegistry,
    clock: ManualClock,
    business: Business,
) -> None:
    """An approved business buys a new number and the provider refuses to add it to the
    service: the provisioning only logs it, and the next sync adds it (under the lease)."""
    register(business, uow, registry, clock)
    sync(uow, registry, clock)
    sync(uow, registry, clock)
    uc.release_number(business.id, uow=uow, telephony=telephony, clock=clock, registry=registry)
    registry.fail_next("add_number", ProviderError(), times=1)
    result = uc.provision_number(
        business.id, "+15125550124", uow=uow, telephony=telephony, clock=clock,
        registry=registry,
    )  # fmt: skip
    waiting = current(uow, business)
    assert waiting.status is RegistrationStatus.APPROVED
    assert waiting.step(StepName.NUMBER).state is StepState.PENDING
    assert registry.service_of(result.sid) is None
    report = sync(uow, registry, clock)
    attached = current(uow, business)
    assert attached.step(StepName.NUMBER).sid == result.sid
    assert report == uc.SyncReport(attached=1)
    assert attached.step(StepName.NUMBER).state is StepState.APPROVED
    assert attached.leased_until is None  # the lease was taken and given back
    assert registry.service_of(result.sid) == attached.messaging_service_sid
    assert sync(uow, registry, clock) == uc.SyncReport()  # nothing left to do


def test_sync_without_a_registry_is_not_configured(uow: UnitOfWork, clock: ManualClock) -> None:
    with pytest.raises(SmsError) as exc:
        uc.sync_registrations(uow=uow, registry=SimulatedRegistry(configured=False), clock=clock)
    assert exc.value.code == "sms_not_configured"
