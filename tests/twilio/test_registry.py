"""TwilioSenderRegistry against the loopback Twilio: the whole chain, rejections,
resumption after a cut-short step, and the errors at the border."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from neariq_sms.adapters.twilio import TwilioTelephony
from neariq_sms.adapters.twilio.registry import CAMPAIGN_SID, TwilioSenderRegistry
from neariq_sms.domain.errors import InvalidField, ProviderError, SmsNotConfigured
from neariq_sms.domain.messages import MessageStatus
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.registration import (
    RegistrationKind,
    SenderRegistration,
    StepName,
    StepState,
    StepStatus,
)
from neariq_sms.domain.registration_input import parse_registration_details
from neariq_sms.ports.webhooks import REGISTRATION_PATH
from tests.registration_data import CAMPAIGN, SOLE_PROPRIETOR, STANDARD, payload
from tests.twilio.conftest import FAST_RETRY, PUBLIC_URL, TIMEOUT
from tests.twilio.fake_a2p import (
    A2P_TRUST_POLICY,
    SECONDARY_PROFILE_POLICY,
    SOLE_PROPRIETOR_TRUST_POLICY,
    STARTER_PROFILE_POLICY,
)
from tests.twilio.fake_twilio import FakeTwilio

NOW = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
CUSTOMER = PhoneNumber("+15557654321")
#: What one standard registration makes at Twilio, each exactly once.
STANDARD_OBJECTS = {
    "customer_profile": 1,
    "trust_product": 1,
    "end_user": 3,
    "address": 1,
    "supporting_document": 1,
    "entity_assignment": 6,
    "brand": 1,
    "service": 1,
    "campaign": 1,
    "service_number": 1,
}
TRUST_HUB = ("customer_profile", "trust_product", "end_user", "address", "supporting_document")


@pytest.fixture
def registry(fake: FakeTwilio, sleeps: list[float]) -> TwilioSenderRegistry:
    return TwilioSenderRegistry(
        fake.client(),
        primary_profile_sid=fake.a2p.primary_profile_sid,
        public_url=PUBLIC_URL,
        timeout=TIMEOUT,
        retry=FAST_RETRY,
        sleep=sleeps.append,
    )


@pytest.fixture
def strict(fake: FakeTwilio) -> list[dict[str, str]]:
    """Strict mode, with every status callback the fake posts."""
    fake.strict = True
    posted: list[dict[str, str]] = []
    fake.deliver_callback = lambda url, params: posted.append(dict(params))
    return posted


def registration(
    kind: RegistrationKind = RegistrationKind.STANDARD, data: dict[str, Any] | None = None
) -> SenderRegistration:
    sole = kind is RegistrationKind.SOLE_PROPRIETOR
    data = data or (SOLE_PROPRIETOR if sole else STANDARD)
    details = parse_registration_details(
        sole_proprietor=sole,
        business=data["business"],
        representative=data["representative"],
        campaign=data.get("campaign") or CAMPAIGN,
    )
    draft = SenderRegistration.draft(
        id="reg-7f3a", business_id="biz-1", kind=kind, details=details, now=NOW
    )
    return draft.submit(NOW)


def made(
    registry: TwilioSenderRegistry,
    reg: SenderRegistration,
    step: StepName,
    *,
    resume: bool = False,
) -> SenderRegistration:
    sid = registry.create(step, reg, resume=resume)
    return reg.with_step(step, StepState.SUBMITTED, sid=sid, now=NOW)


def polled(
    registry: TwilioSenderRegistry, reg: SenderRegistration, step: StepName
) -> tuple[SenderRegistration, StepStatus]:
    status = registry.status(step, reg)
    return reg.with_step(
        step, status.state, provider_status=status.provider_status, now=NOW
    ), status


def up_to_the_brand(registry: TwilioSenderRegistry, reg: SenderRegistration) -> SenderRegistration:
    for step in (StepName.CUSTOMER_PROFILE, StepName.TRUST_PRODUCT, StepName.BRAND):
        reg = made(registry, reg, step)
    return reg


def with_number(
    fake: FakeTwilio, registry: TwilioSenderRegistry, reg: SenderRegistration
) -> tuple[SenderRegistration, PhoneNumber]:
    """The business's bought number in its service."""
    telephony = TwilioTelephony(fake.client(), public_url=PUBLIC_URL, timeout=TIMEOUT)
    bought = telephony.purchase(PhoneNumber("+15125550123"))
    reg = made(registry, reg, StepName.MESSAGING_SERVICE)
    service = reg.messaging_service_sid
    assert service is not None
    registry.add_number(service, bought.provider_sid)
    registry.add_number(service, bought.provider_sid)  # idempotent
    reg = reg.with_step(StepName.NUMBER, StepState.APPROVED, sid=bought.provider_sid, now=NOW)
    return reg, bought.number


def sent_through_service(
    fake: FakeTwilio, reg: SenderRegistration, sender: PhoneNumber
) -> MessageStatus:
    telephony = TwilioTelephony(fake.client(), public_url=PUBLIC_URL, timeout=TIMEOUT)
    sent = telephony.send(
        from_=sender, to=CUSTOMER, body="Hi", messaging_service_sid=reg.messaging_service_sid
    )
    return sent.status


# --- the whole chain ---------------------------------------------------------------------


def test_a_standard_business_goes_from_profile_to_a_verified_campaign(
    fake: FakeTwilio, registry: TwilioSenderRegistry, strict: list[dict[str, str]]
) -> None:
    """Every Trust Hub, brand, service and campaign object made once; sends then pass."""
    reg = up_to_the_brand(registry, registration())
    [profile] = fake.requests_for("customer_profiles.create")
    assert profile.param("PolicySid") == SECONDARY_PROFILE_POLICY
    assert profile.param("FriendlyName") == "neariq reg-7f3a customer_profile"
    assert profile.param("Email") == "isv@example.com"  # the primary profile's: the ISV's
    assert profile.param("StatusCallback") == PUBLIC_URL + REGISTRATION_PATH
    [trust] = fake.requests_for("trust_products.create")
    assert trust.param("PolicySid") == A2P_TRUST_POLICY
    assigned = [r.param("ObjectSid") for r in fake.requests_for("customer_profiles.assign")]
    assert fake.a2p.primary_profile_sid in assigned
    [brand_request] = fake.requests_for("brands.create")
    assert brand_request.param("SkipAutomaticSecVet") is None
    assert (
        brand_request.param("CustomerProfileBundleSid") == reg.step(StepName.CUSTOMER_PROFILE).sid
    )
    reg, status = polled(registry, reg, StepName.CUSTOMER_PROFILE)
    assert (status.state, status.provider_status) == (StepState.IN_REVIEW, "in-review")
    reg, status = polled(registry, reg, StepName.BRAND)
    assert status.state is StepState.IN_REVIEW

    reg, sender = with_number(fake, registry, reg)
    fake.a2p.approve_brand(reg.step(StepName.BRAND).sid or "")
    reg, status = polled(registry, reg, StepName.BRAND)
    assert (status.state, status.provider_status) == (
        StepState.APPROVED,
        "APPROVED/VETTED_VERIFIED",
    )
    reg = made(registry, reg, StepName.CAMPAIGN)
    assert reg.step(StepName.CAMPAIGN).sid == CAMPAIGN_SID
    [campaign_request] = fake.requests_for("campaigns.create")
    assert campaign_request.param("UsAppToPersonUsecase") == "MIXED"
    assert campaign_request.param("HasEmbeddedLinks") == "true"
    assert polled(registry, reg, StepName.CAMPAIGN)[1].state is StepState.SUBMITTED
    assert sent_through_service(fake, reg, sender) is MessageStatus.ACCEPTED
    fake.a2p.verify_campaign(reg.messaging_service_sid or "")
    assert polled(registry, reg, StepName.CAMPAIGN)[1].state is StepState.APPROVED
    assert polled(registry, reg, StepName.NUMBER)[1].state is StepState.APPROVED
    sent_through_service(fake, reg, sender)

    assert [(p["MessageStatus"], p.get("ErrorCode")) for p in strict] == [
        ("undelivered", "30034"),  # before the campaign was verified
        ("sent", None),
    ]
    assert dict(fake.a2p.created) == {**STANDARD_OBJECTS, "evaluation": 2}


def test_a_low_volume_brand_skips_secondary_vetting_and_registers_low_volume(
    fake: FakeTwilio, registry: TwilioSenderRegistry
) -> None:
    """SkipAutomaticSecVet=true on the brand, LOW_VOLUME on the campaign."""
    reg = up_to_the_brand(registry, registration(RegistrationKind.LOW_VOLUME))
    [brand_request] = fake.requests_for("brands.create")
    assert brand_request.param("SkipAutomaticSecVet") == "true"
    fake.a2p.approve_brand(reg.step(StepName.BRAND).sid or "")
    assert registry.status(StepName.BRAND, reg).state is StepState.APPROVED
    reg = made(registry, made(registry, reg, StepName.MESSAGING_SERVICE), StepName.CAMPAIGN)
    [campaign_request] = fake.requests_for("campaigns.create")
    assert campaign_request.param("UsAppToPersonUsecase") == "LOW_VOLUME"


def test_a_sole_proprietor_waits_for_the_owner_and_can_get_the_text_again(
    fake: FakeTwilio, registry: TwilioSenderRegistry
) -> None:
    """Starter profile, sole-proprietor bundle and brand; verifying until the OTP is answered."""
    reg = up_to_the_brand(registry, registration(RegistrationKind.SOLE_PROPRIETOR))
    [profile] = fake.requests_for("customer_profiles.create")
    [trust] = fake.requests_for("trust_products.create")
    assert (profile.param("PolicySid"), trust.param("PolicySid")) == (
        STARTER_PROFILE_POLICY,
        SOLE_PROPRIETOR_TRUST_POLICY,
    )
    assert profile.param("Email") == "ada@gardencare.example.com"
    [brand_request] = fake.requests_for("brands.create")
    assert brand_request.param("BrandType") == "SOLE_PROPRIETOR"
    [sole_info] = [
        u for u in fake.a2p.end_users.values() if u["type"] == "sole_proprietor_information"
    ]
    assert sole_info["attributes"] == {
        "brand_name": "Ada's Garden Care",
        "mobile_phone_number": "+15125550143",
    }
    brand = reg.step(StepName.BRAND).sid or ""
    fake.a2p.approve_brand(brand)
    status = registry.status(StepName.BRAND, reg)
    assert (status.state, status.provider_status) == (StepState.VERIFYING, "APPROVED/UNVERIFIED")
    registry.resend_otp(brand)
    assert fake.a2p.otps[brand] == 2
    fake.a2p.confirm_otp(brand)
    assert registry.status(StepName.BRAND, reg).state is StepState.APPROVED
    made(registry, made(registry, reg, StepName.MESSAGING_SERVICE), StepName.CAMPAIGN)
    [campaign_request] = fake.requests_for("campaigns.create")
    assert campaign_request.param("UsAppToPersonUsecase") == "SOLE_PROPRIETOR"


# --- rejections and resubmissions ----------------------------------------------------------


def test_a_rejected_brand_is_corrected_and_resubmitted_without_new_objects(
    fake: FakeTwilio, registry: TwilioSenderRegistry
) -> None:
    """The reasons come back as issues; the address is corrected, the brand POSTed again (202)."""
    reg = up_to_the_brand(registry, registration())
    brand = reg.step(StepName.BRAND).sid or ""
    fake.a2p.reject_brand(brand, [(30701, "The state does not match the address", ["STATE"])])
    reg, status = polled(registry, reg, StepName.BRAND)
    assert status.state is StepState.REJECTED
    [issue] = status.issues
    assert (issue.code, issue.field) == (30701, "STATE")
    before = dict(fake.a2p.created)

    corrected = registration(data=payload(**{"business.address.city": "Round Rock"}))
    rejected = reg.reject(status.issues, NOW)
    again = rejected.resubmit(corrected.details, NOW)
    assert again.step(StepName.BRAND).state is StepState.PENDING
    assert registry.create(StepName.BRAND, again, resume=False) == brand
    assert registry.create(StepName.BRAND, again, resume=False) == brand  # done already: fine
    assert [s for op, s in fake.answers if op == "brands.update"] == [202, 400]
    assert fake.a2p.resubmissions[brand] == 1
    [address] = fake.a2p.addresses.values()
    assert address["city"] == "Round Rock"
    assert registry.status(StepName.BRAND, again).state is StepState.IN_REVIEW
    assert dict(fake.a2p.created) == before


def test_a_failed_campaign_is_updated_and_goes_back_into_review(
    fake: FakeTwilio, registry: TwilioSenderRegistry
) -> None:
    """The same campaign sid, updated with the corrected content."""
    reg = up_to_the_brand(registry, registration())
    fake.a2p.approve_brand(reg.step(StepName.BRAND).sid or "")
    reg = made(registry, made(registry, reg, StepName.MESSAGING_SERVICE), StepName.CAMPAIGN)
    fake.a2p.fail_campaign(reg.messaging_service_sid or "")
    reg, status = polled(registry, reg, StepName.CAMPAIGN)
    assert (status.state, status.issues[0].code) == (StepState.REJECTED, 30896)
    flow = CAMPAIGN["messageFlow"] + " The consent box is unchecked by default."
    corrected = registration(data=payload(**{"campaign.messageFlow": flow}))
    again = reg.reject(status.issues, NOW).resubmit(corrected.details, NOW)
    assert registry.create(StepName.CAMPAIGN, again, resume=False) == CAMPAIGN_SID
    campaign = fake.a2p.campaigns[reg.messaging_service_sid or ""]
    assert (campaign["message_flow"], campaign["campaign_status"]) == (flow, "IN_PROGRESS")
    assert fake.a2p.created["campaign"] == 1


# --- a step cut short, then resumed ----------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "step", "injection"),
    [
        ("customer_profiles.create", StepName.CUSTOMER_PROFILE, {"delay": 2.0}),
        ("end_users.create", StepName.CUSTOMER_PROFILE, {"status": 500, "after": True}),
        ("customer_profiles.assign", StepName.CUSTOMER_PROFILE, {"delay": 2.0}),
        ("addresses.create", StepName.CUSTOMER_PROFILE, {"status": 503, "after": True}),
        ("supporting_documents.create", StepName.CUSTOMER_PROFILE, {"delay": 2.0}),
        ("customer_profiles.update", StepName.CUSTOMER_PROFILE, {"status": 500, "after": True}),
        ("end_users.create", StepName.TRUST_PRODUCT, {"status": 500, "after": True}),
        ("brands.create", StepName.BRAND, {"status": 500, "after": True}),
        ("services.create", StepName.MESSAGING_SERVICE, {"delay": 2.0}),
        ("campaigns.create", StepName.CAMPAIGN, {"status": 502, "after": True}),
    ],
)
def test_a_step_cut_short_between_objects_resumes_and_makes_nothing_twice(
    fake: FakeTwilio,
    registry: TwilioSenderRegistry,
    operation: str,
    step: StepName,
    injection: dict[str, Any],
) -> None:
    """An ambiguous failure (the object was made, the answer lost), then resume: one of each."""
    fake.a2p.page_size = fake.a2p.max_page_size = 2  # lookups read several pages
    fake.client().trusthub.v1.end_users.create(friendly_name="another business", type="x")
    chain = list(StepName)[: list(StepName).index(StepName.CAMPAIGN) + 1]

    def make(reg: SenderRegistration, name: StepName, resume: bool = False) -> SenderRegistration:
        reg = made(registry, reg, name, resume=resume)
        if name is StepName.BRAND:
            fake.a2p.approve_brand(reg.step(StepName.BRAND).sid or "")
        return reg

    reg = registration()
    for earlier in chain[: chain.index(step)]:
        reg = make(reg, earlier)
    fake.inject(operation, **injection)
    with pytest.raises(ProviderError) as caught:
        registry.create(step, reg, resume=False)
    assert caught.value.ambiguous
    reg = make(reg, step, resume=True)
    for later in chain[chain.index(step) + 1 :]:
        reg = make(reg, later)
    expected = {k: v for k, v in STANDARD_OBJECTS.items() if k != "service_number"}
    expected["end_user"] += 1  # "another business"
    assert {k: v for k, v in fake.a2p.created.items() if k != "evaluation"} == expected
    assert registry.status(StepName.CUSTOMER_PROFILE, reg).state is StepState.IN_REVIEW


# --- errors at the border --------------------------------------------------------------


def test_a_campaign_before_the_brand_is_approved_is_refused_with_21717(
    fake: FakeTwilio, registry: TwilioSenderRegistry
) -> None:
    """A validation refusal: not ambiguous, the provider's code kept."""
    reg = made(registry, up_to_the_brand(registry, registration()), StepName.MESSAGING_SERVICE)
    with pytest.raises(ProviderError) as caught:
        registry.create(StepName.CAMPAIGN, reg, resume=False)
    assert (caught.value.provider_code, caught.value.ambiguous) == (21717, False)


def test_a_number_in_another_service_is_refused_with_21712(
    fake: FakeTwilio, registry: TwilioSenderRegistry
) -> None:
    """add_number is idempotent for its own service only."""
    reg, _ = with_number(fake, registry, registration())
    other = fake.client().messaging.v1.services.create(friendly_name="another").sid
    number = reg.step(StepName.NUMBER).sid or ""
    with pytest.raises(ProviderError) as caught:
        registry.add_number(other, number)
    assert caught.value.provider_code == 21712
    registry.remove_number(reg.messaging_service_sid or "", number)
    registry.remove_number(reg.messaging_service_sid or "", number)  # idempotent
    assert registry.status(StepName.NUMBER, reg).state is StepState.PENDING
    registry.add_number(other, number)


def test_rate_limits_and_server_errors_are_told_apart(
    fake: FakeTwilio, registry: TwilioSenderRegistry, sleeps: list[float]
) -> None:
    """429 on a create: nothing happened (transient); 5xx: ambiguous; a read is retried."""
    reg = made(registry, registration(), StepName.CUSTOMER_PROFILE)
    reg = made(registry, reg, StepName.TRUST_PRODUCT)
    fake.inject("brands.create", status=429, retry_after="0")
    with pytest.raises(ProviderError) as caught:
        registry.create(StepName.BRAND, reg, resume=False)
    assert (caught.value.provider_code, caught.value.transient, caught.value.ambiguous) == (
        20429,
        True,
        False,
    )
    fake.inject("brands.create", status=500)
    with pytest.raises(ProviderError) as caught:
        registry.create(StepName.BRAND, reg, resume=False)
    assert caught.value.ambiguous
    assert fake.a2p.created["brand"] == 0
    fake.inject("customer_profiles.fetch", status=503, times=2)
    assert registry.status(StepName.CUSTOMER_PROFILE, reg).state is StepState.IN_REVIEW
    assert len(sleeps) == 2


def test_a_refusal_mid_chain_is_plain_and_the_next_try_completes_the_profile(
    fake: FakeTwilio, registry: TwilioSenderRegistry
) -> None:
    """A 4xx is not ambiguous; what was made before it is found again, not made twice."""
    reg = registration()
    fake.inject("customer_profiles.assign", status=400, code=22204)
    with pytest.raises(ProviderError) as caught:
        registry.create(StepName.CUSTOMER_PROFILE, reg, resume=False)
    assert (caught.value.provider_code, caught.value.ambiguous) == (22204, False)
    # Corrected or not, the next try finds the profile and completes it.
    sid = registry.create(StepName.CUSTOMER_PROFILE, reg, resume=False)
    assert fake.a2p.bundles[sid]["status"] == "pending-review"
    assert fake.a2p.created["customer_profile"] == 1


def test_without_a_primary_profile_the_registry_is_not_configured(fake: FakeTwilio) -> None:
    """configured is False and every call is SmsNotConfigured; a malformed sid is refused."""
    registry = TwilioSenderRegistry(fake.client(), primary_profile_sid=None)
    assert not registry.configured
    with pytest.raises(SmsNotConfigured):
        registry.create(StepName.CUSTOMER_PROFILE, registration(), resume=False)
    environ = {
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "NEARIQ_SMS_TWILIO_PRIMARY_PROFILE_SID": "BU123",
    }
    with pytest.raises(InvalidField) as caught:
        TwilioSenderRegistry.from_env(environ)
    assert caught.value.field == "NEARIQ_SMS_TWILIO_PRIMARY_PROFILE_SID"
    environ["NEARIQ_SMS_TWILIO_PRIMARY_PROFILE_SID"] = fake.a2p.primary_profile_sid
    configured = TwilioSenderRegistry.from_env(environ)
    assert configured.configured
    assert fake.auth_token not in repr(configured)


def test_a_primary_profile_the_account_does_not_have_is_not_configured(
    fake: FakeTwilio,
) -> None:
    """A wrong NEARIQ_SMS_TWILIO_PRIMARY_PROFILE_SID is the operator's to fix (503), not a 502."""
    registry = TwilioSenderRegistry(fake.client(), primary_profile_sid="BU" + "0" * 32)
    with pytest.raises(SmsNotConfigured) as caught:
        registry.create(StepName.CUSTOMER_PROFILE, registration(), resume=False)
    assert "NEARIQ_SMS_TWILIO_PRIMARY_PROFILE_SID" in caught.value.reason


def test_wrong_credentials_are_not_configured(
    fake: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    """Twilio's 401 / 20003 on any registry call is SmsNotConfigured; the token is shown nowhere."""
    caplog.set_level(logging.DEBUG)
    registry = TwilioSenderRegistry(
        fake.client(auth_token="wrong-token-9a7"), primary_profile_sid=fake.a2p.primary_profile_sid
    )
    with pytest.raises(SmsNotConfigured) as caught:
        registry.create(StepName.MESSAGING_SERVICE, registration(), resume=False)
    shown = str(caught.value) + repr(caught.value) + repr(registry) + caplog.text
    assert "wrong-token-9a7" not in shown
    assert not fake.a2p.created
