"""The registration use cases over the Twilio adapters and the strict loopback Twilio."""

from __future__ import annotations

import threading

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import InMemoryUnitOfWork, ManualClock
from neariq_sms.adapters.twilio import TwilioTelephony
from neariq_sms.adapters.twilio.registry import TwilioSenderRegistry
from neariq_sms.domain import Policy
from neariq_sms.domain.errors import RegistrationPending
from neariq_sms.domain.registration import RegistrationStatus
from tests.registration_data import STANDARD
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
