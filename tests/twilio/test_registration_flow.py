"""The registration use cases over the Twilio adapters and the strict loopback Twilio."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import InMemoryUnitOfWork, ManualClock
from neariq_sms.adapters.twilio import TwilioTelephony
from neariq_sms.adapters.twilio.registry import TwilioSenderRegistry
from neariq_sms.domain import Policy
from neariq_sms.domain.errors import RegistrationPending
from neariq_sms.domain.registration import (
    RegistrationStatus,
    SenderRegistration,
    StepName,
    StepState,
)
from tests.registration_data import SOLE_PROPRIETOR, STANDARD, payload
from tests.twilio.conftest import FAST_RETRY, PUBLIC_URL, TIMEOUT
from tests.twilio.fake_twilio import FakeTwilio
from tests.twilio.test_registry import STANDARD_OBJECTS

CUSTOMER = "+15557654321"
POLICY = Policy(quiet_hours=None, registration_required=True)
MAX_SYNCS = 8


def adapters(
    fake: FakeTwilio, timeout: float = TIMEOUT
) -> tuple[TwilioTelephony, TwilioSenderRegistry]:
    telephony = TwilioTelephony(
        fake.client(), public_url=PUBLIC_URL, timeout=timeout, retry=FAST_RETRY
    )
    registry = TwilioSenderRegistry(
        fake.client(),
        primary_profile_sid=fake.a2p.primary_profile_sid,
        public_url=PUBLIC_URL,
        timeout=timeout,
        retry=FAST_RETRY,
    )
    return telephony, registry


def open_shop(
    uow: InMemoryUnitOfWork,
    telephony: TwilioTelephony,
    registry: TwilioSenderRegistry,
    clock: ManualClock,
) -> tuple[str, str]:
    shop = uc.create_business(
        "Acme Plumbing", "growth", uow=uow, clock=clock, review_url="https://g.page/r/a"
    )
    [first, *_] = uc.search_numbers(shop.id, "512", uow=uow, telephony=telephony)
    uc.provision_number(
        shop.id, first.number.e164, uow=uow, telephony=telephony, clock=clock, registry=registry
    )
    uc.record_consent(shop.id, CUSTOMER, "point_of_sale", uow=uow, clock=clock)
    return shop.id, first.number.e164


def test_sync_takes_a_standard_business_to_approved_and_sends_go_through_its_service(
    fake: FakeTwilio, clock: ManualClock
) -> None:
    """register -> syncs (Twilio's reviewers approving between runs) -> approved -> not 30034'd."""
    fake.strict = True
    uow = InMemoryUnitOfWork()
    telephony, registry = adapters(fake)
    shop, number = open_shop(uow, telephony, registry, clock)
    request = {k: v for k, v in STANDARD.items() if k != "action"}
    uc.register_sender(shop, request, uow=uow, registry=registry, clock=clock)

    def send() -> uc.SendResult:
        return uc.send_review_request(
            shop, CUSTOMER, "Jane", uow=uow, telephony=telephony, clock=clock, policy=POLICY
        )

    with pytest.raises(RegistrationPending):
        send()
    for _ in range(MAX_SYNCS):
        uc.sync_registrations(uow=uow, registry=registry, clock=clock)
        registration = uc.get_registration(shop, uow=uow)
        assert registration is not None
        if registration.status is RegistrationStatus.APPROVED:
            break
        fake.a2p.approve_everything()
    assert registration.status is RegistrationStatus.APPROVED, registration
    assert not fake.messages

    send()
    [message] = fake.messages
    service = registration.messaging_service_sid
    assert (message["messaging_service_sid"], message["from"]) == (service, number)
    assert message["error_code"] is None
    uc.sync_registrations(uow=uow, registry=registry, clock=clock)
    assert {k: v for k, v in fake.a2p.created.items() if k != "evaluation"} == STANDARD_OBJECTS


def test_two_syncs_at_once_make_each_object_once(fake: FakeTwilio, clock: ManualClock) -> None:
    """The second sync finds the registration leased while the first is inside a Twilio call."""
    uow = InMemoryUnitOfWork()
    telephony, registry = adapters(fake, timeout=10.0)
    shop, _ = open_shop(uow, telephony, registry, clock)
    request = {k: v for k, v in STANDARD.items() if k != "action"}
    uc.register_sender(shop, request, uow=uow, registry=registry, clock=clock)
    held = fake.inject("end_users.create", delay=1.0)
    first = threading.Thread(
        target=uc.sync_registrations, kwargs={"uow": uow, "registry": registry, "clock": clock}
    )
    first.start()
    assert held.acted.wait(10)
    report = uc.sync_registrations(uow=uow, registry=registry, clock=clock)
    first.join(10)
    assert report.busy == 1
    assert fake.a2p.created["customer_profile"] == fake.a2p.created["brand"] == 1
    assert fake.a2p.created["end_user"] == 3


def sync_until(
    fake: FakeTwilio, uow: InMemoryUnitOfWork, registry: TwilioSenderRegistry, clock: ManualClock,
    shop: str, done: Callable[[SenderRegistration], bool], approve: Callable[[], None],
) -> SenderRegistration:  # fmt: skip
    for _ in range(MAX_SYNCS):
        uc.sync_registrations(uow=uow, registry=registry, clock=clock)
        registration = uc.get_registration(shop, uow=uow)
        assert registration is not None
        if done(registration):
            return registration
        approve()
    raise AssertionError(f"never reached: {registration}")


def test_a_sole_proprietor_is_approved_once_the_owner_answers_the_text(
    fake: FakeTwilio, clock: ManualClock
) -> None:
    """The brand waits in verifying; resend_registration_otp texts again; YES -> approved."""
    uow = InMemoryUnitOfWork()
    telephony, registry = adapters(fake)
    shop, _ = open_shop(uow, telephony, registry, clock)
    request = {k: v for k, v in SOLE_PROPRIETOR.items() if k != "action"}
    uc.register_sender(shop, request, uow=uow, registry=registry, clock=clock)

    def reviewers() -> None:
        for sid in list(fake.a2p.brands):
            if fake.a2p.brands[sid]["status"] == "PENDING":
                fake.a2p.approve_brand(sid)

    def verifying(r: SenderRegistration) -> bool:
        return r.step(StepName.BRAND).state is StepState.VERIFYING

    registration = sync_until(fake, uow, registry, clock, shop, verifying, reviewers)
    brand = registration.step(StepName.BRAND).sid or ""
    uc.resend_registration_otp(shop, uow=uow, registry=registry)
    assert fake.a2p.otps[brand] == 2
    fake.a2p.confirm_otp(brand)
    registration = sync_until(
        fake, uow, registry, clock, shop, lambda r: r.approved, fake.a2p.approve_everything
    )
    assert (
        fake.a2p.campaigns[registration.messaging_service_sid or ""]["us_app_to_person_usecase"]
        == "SOLE_PROPRIETOR"
    )


def test_a_rejected_brand_is_resubmitted_by_registering_again(
    fake: FakeTwilio, clock: ManualClock
) -> None:
    """register after rejected: the same brand is corrected and POSTed again, nothing new made."""
    uow = InMemoryUnitOfWork()
    telephony, registry = adapters(fake)
    shop, _ = open_shop(uow, telephony, registry, clock)
    request = {k: v for k, v in STANDARD.items() if k != "action"}
    uc.register_sender(shop, request, uow=uow, registry=registry, clock=clock)

    def refuse() -> None:
        for sid in list(fake.a2p.brands):
            fake.a2p.reject_brand(sid, [(30701, "The state does not match", ["STATE"])])

    registration = sync_until(
        fake, uow, registry, clock, shop, lambda r: r.status is RegistrationStatus.REJECTED, refuse
    )
    assert [i.code for i in registration.issues] == [30701]
    made_before = {k: v for k, v in fake.a2p.created.items() if k != "evaluation"}
    corrected = payload(**{"business.address.city": "Round Rock"})
    uc.register_sender(
        shop, {k: v for k, v in corrected.items() if k != "action"}, uow=uow, registry=registry,
        clock=clock,
    )  # fmt: skip
    registration = sync_until(
        fake, uow, registry, clock, shop, lambda r: r.approved, fake.a2p.approve_everything
    )
    [brand] = fake.a2p.brands
    assert fake.a2p.resubmissions[brand] == 1
    made_after = {k: v for k, v in fake.a2p.created.items() if k != "evaluation"}
    new = {
        k: made_after[k] - made_before.get(k, 0)
        for k in made_after
        if made_after[k] != made_before.get(k, 0)
    }
    assert new == {"campaign": 1}  # only what the rejection had held back
