"""The fake's A2P 10DLC side, driven by the real SDK over loopback (the fake does not lie)."""

from __future__ import annotations

from typing import Any

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException

from tests.twilio.fake_a2p import (
    A2P_TRUST_POLICY,
    CAMPAIGN_SID,
    SECONDARY_PROFILE_POLICY,
    SOLE_PROPRIETOR_TRUST_POLICY,
    STARTER_PROFILE_POLICY,
)
from tests.twilio.fake_twilio import FakeTwilio

BUSINESS = {
    "business_name": "Aster Grove Fitness LLC",
    "business_type": "Limited Liability Corporation",
    "business_industry": "HEALTHCARE",
    "business_registration_identifier": "EIN",
    "business_registration_number": "123456789",
    "business_regions_of_operation": "USA_AND_CANADA",
    "business_identity": "direct_customer",
    "website_url": "https://astergrove.example",
}
REPRESENTATIVE = {
    "first_name": "Ada",
    "last_name": "Grove",
    "email": "ada@astergrove.example",
    "phone_number": "+15125550100",
    "business_title": "Owner",
    "job_position": "CEO",
}
CAMPAIGN = {
    "description": "Aster Grove Fitness sends appointment reminders and review requests.",
    "message_flow": "Customers opt in at the front desk on an unchecked SMS consent box.",
    "message_samples": [
        "Aster Grove: your class is tomorrow at 9am. Reply STOP to opt out.",
        "Aster Grove: thanks for visiting! Leave us a review: [link]. Reply STOP to opt out.",
    ],
    "has_embedded_links": True,
    "has_embedded_phone": False,
}


def code_of(caught: pytest.ExceptionInfo[TwilioRestException]) -> int:
    return int(caught.value.code)


def secondary_profile(client: Any, fake: FakeTwilio, *, with_address: bool = True) -> Any:
    th = client.trusthub.v1
    profile = th.customer_profiles.create(
        friendly_name="reg-1 profile", email="isv@example.com", policy_sid=SECONDARY_PROFILE_POLICY
    )
    assign = profile.customer_profiles_entity_assignments.create
    info = th.end_users.create(
        friendly_name="reg-1 business",
        type="customer_profile_business_information",
        attributes=BUSINESS,
    )
    rep = th.end_users.create(
        friendly_name="reg-1 rep", type="authorized_representative_1", attributes=REPRESENTATIVE
    )
    assign(object_sid=info.sid)
    assign(object_sid=rep.sid)
    if with_address:
        address = client.addresses.create(
            customer_name="Aster Grove Fitness LLC",
            street="1 Congress Ave",
            city="Austin",
            region="TX",
            postal_code="78701",
            iso_country="US",
            friendly_name="reg-1 address",
        )
        document = th.supporting_documents.create(
            friendly_name="reg-1 address document",
            type="customer_profile_address",
            attributes={"address_sids": address.sid},
        )
        assign(object_sid=document.sid)
    assign(object_sid=fake.a2p.primary_profile_sid)
    return profile


def standard_brand(client: Any, fake: FakeTwilio) -> Any:
    th = client.trusthub.v1
    profile = secondary_profile(client, fake)
    profile.update(status="pending-review")
    trust = th.trust_products.create(
        friendly_name="reg-1 trust", email="isv@example.com", policy_sid=A2P_TRUST_POLICY
    )
    messaging = th.end_users.create(
        friendly_name="reg-1 messaging",
        type="us_a2p_messaging_profile_information",
        attributes={"company_type": "private", "brand_contact_email": "ada@astergrove.example"},
    )
    trust.trust_products_entity_assignments.create(object_sid=messaging.sid)
    trust.trust_products_entity_assignments.create(object_sid=profile.sid)
    assert trust.trust_products_evaluations.create(policy_sid=A2P_TRUST_POLICY).status == (
        "compliant"
    )
    trust.update(status="pending-review")
    return client.messaging.v1.brand_registrations.create(
        customer_profile_bundle_sid=profile.sid, a2p_profile_bundle_sid=trust.sid
    )


def test_an_evaluation_reports_what_is_missing_and_passes_once_attached(fake: FakeTwilio) -> None:
    """Without the address document the profile is noncompliant (22216); with it, compliant."""
    client = fake.client()
    bare = secondary_profile(client, fake, with_address=False)
    evaluation = bare.customer_profiles_evaluations.create(policy_sid=SECONDARY_PROFILE_POLICY)
    assert evaluation.status == "noncompliant"
    [failed] = [r for r in evaluation.results if not r["passed"]]
    assert (failed["requirement_name"], failed["error_code"]) == ("customer_profile_address", 22216)
    full = secondary_profile(client, fake)
    assert full.customer_profiles_evaluations.create(
        policy_sid=SECONDARY_PROFILE_POLICY
    ).status == ("compliant")
    full.update(status="pending-review")
    assert full.fetch().status == "in-review"
    bare.update(status="pending-review")
    assert bare.fetch().status == "twilio-rejected"


def test_lists_page_and_filter_by_friendly_name(fake: FakeTwilio) -> None:
    """The SDK follows next_page_url (meta.key) and the FriendlyName filter narrows the list."""
    fake.a2p.page_size = 2
    client = fake.client()
    for n in range(5):
        client.trusthub.v1.end_users.create(
            friendly_name=f"eu {n}", type="authorized_representative_1"
        )
        client.trusthub.v1.trust_products.create(
            friendly_name=f"tp {n}", email="isv@example.com", policy_sid=A2P_TRUST_POLICY
        )
    assert [u.friendly_name for u in client.trusthub.v1.end_users.list()] == [
        f"eu {n}" for n in range(5)
    ]
    [found] = client.trusthub.v1.trust_products.list(friendly_name="tp 3")
    assert found.friendly_name == "tp 3"
    assert fake.a2p.created["end_user"] == 5


def test_a_campaign_needs_an_approved_brand_and_valid_fields(fake: FakeTwilio) -> None:
    """21717 before approval, 21727 missing, 21728 too short; then one campaign per service."""
    client = fake.client()
    brand = standard_brand(client, fake)
    assert (brand.status, brand.brand_type) == ("PENDING", "STANDARD")
    service = client.messaging.v1.services.create(friendly_name="reg-1 service")
    campaigns = client.messaging.v1.services(service.sid).us_app_to_person
    fields = {**CAMPAIGN, "brand_registration_sid": brand.sid, "us_app_to_person_usecase": "MIXED"}
    with pytest.raises(TwilioRestException) as caught:
        campaigns.create(**fields)
    assert code_of(caught) == 21717
    fake.a2p.approve_brand(brand.sid)
    with pytest.raises(TwilioRestException) as caught:
        campaigns.create(**{**fields, "message_flow": ""})
    assert code_of(caught) == 21727
    with pytest.raises(TwilioRestException) as caught:
        campaigns.create(**{**fields, "description": "too short"})
    assert code_of(caught) == 21728
    campaign = campaigns.create(**fields)
    assert (campaign.sid, campaign.campaign_status) == (CAMPAIGN_SID, "PENDING")
    with pytest.raises(TwilioRestException):
        campaigns.create(**fields)
    fake.a2p.verify_campaign(service.sid)
    assert campaigns(CAMPAIGN_SID).fetch().campaign_status == "VERIFIED"
    assert fake.a2p.created["campaign"] == 1


def test_a_failed_brand_resubmits_with_202_and_only_when_failed(fake: FakeTwilio) -> None:
    """POST on the brand: 21725 unless FAILED; then PENDING again with no errors."""
    client = fake.client()
    brand = standard_brand(client, fake)
    with pytest.raises(TwilioRestException) as caught:
        client.messaging.v1.brand_registrations(brand.sid).update()
    assert code_of(caught) == 21725
    fake.a2p.reject_brand(brand.sid)
    failed = client.messaging.v1.brand_registrations(brand.sid).fetch()
    assert (failed.status, failed.errors[0]["error_code"]) == ("FAILED", 30701)
    again = client.messaging.v1.brand_registrations(brand.sid).update()
    assert (again.status, again.errors) == ("PENDING", [])
    assert [s for op, s in fake.answers if op == "brands.update"] == [400, 202]
    assert fake.a2p.resubmissions[brand.sid] == 1


def test_a_vetted_brand_is_missing_from_the_list_but_fetches(fake: FakeTwilio) -> None:
    """The pitfall of twilio/twilio-ruby#688, imitated: keep every brand sid."""
    client = fake.client()
    brand = standard_brand(client, fake)
    fake.a2p.approve_brand(brand.sid)
    assert client.messaging.v1.brand_registrations(brand.sid).fetch().identity_status == (
        "VETTED_VERIFIED"
    )
    assert client.messaging.v1.brand_registrations.list() == []


def test_a_sole_proprietor_brand_waits_for_the_otp(fake: FakeTwilio) -> None:
    """APPROVED + UNVERIFIED until the owner answers; the OTP can be sent again."""
    client = fake.client()
    th = client.trusthub.v1
    starter = th.customer_profiles.create(
        friendly_name="sp", email="ada@example.com", policy_sid=STARTER_PROFILE_POLICY
    )
    trust = th.trust_products.create(
        friendly_name="sp trust", email="ada@example.com", policy_sid=SOLE_PROPRIETOR_TRUST_POLICY
    )
    brands = client.messaging.v1.brand_registrations
    with pytest.raises(TwilioRestException):
        brands.create(customer_profile_bundle_sid=starter.sid, a2p_profile_bundle_sid="")
    brand = brands.create(
        customer_profile_bundle_sid=starter.sid,
        a2p_profile_bundle_sid=trust.sid,
        brand_type="SOLE_PROPRIETOR",
    )
    fake.a2p.approve_brand(brand.sid)
    assert (brands(brand.sid).fetch().identity_status, fake.a2p.otps[brand.sid]) == (
        "UNVERIFIED",
        1,
    )
    brands(brand.sid).brand_registration_otps.create()
    assert fake.a2p.otps[brand.sid] == 2
    service = client.messaging.v1.services.create(friendly_name="sp service")
    campaigns = client.messaging.v1.services(service.sid).us_app_to_person
    fields = {
        **CAMPAIGN,
        "brand_registration_sid": brand.sid,
        "us_app_to_person_usecase": "SOLE_PROPRIETOR",
    }
    with pytest.raises(TwilioRestException) as caught:
        campaigns.create(**fields)
    assert code_of(caught) == 21717
    fake.a2p.confirm_otp(brand.sid)
    assert campaigns.create(**fields).campaign_status == "PENDING"
    usecases = client.messaging.v1.services(service.sid).us_app_to_person_usecases.fetch(
        brand_registration_sid=brand.sid
    )
    assert [u["code"] for u in usecases.us_app_to_person_usecases] == ["SOLE_PROPRIETOR"]


def test_a_number_is_in_one_service_and_strict_mode_drops_unregistered_traffic(
    fake: FakeTwilio,
) -> None:
    """21712 for a second service; 30034 callbacks until the service's campaign is VERIFIED."""
    fake.strict = True
    posted: list[dict[str, str]] = []
    fake.deliver_callback = lambda url, params: posted.append(dict(params))
    client = fake.client()
    number = client.incoming_phone_numbers.create(phone_number="+15125550123")
    services = client.messaging.v1.services
    first, second = services.create(friendly_name="one"), services.create(friendly_name="two")
    services(first.sid).phone_numbers.create(phone_number_sid=number.sid)
    with pytest.raises(TwilioRestException) as caught:
        services(second.sid).phone_numbers.create(phone_number_sid=number.sid)
    assert code_of(caught) == 21712
    callback = "https://sms.example.com/status"
    plain = client.messages.create(
        to="+15557654321", from_="+15125550123", body="hi", status_callback=callback
    )
    assert (plain.status, plain.error_code) == ("queued", None)
    brand = standard_brand(client, fake)
    fake.a2p.approve_brand(brand.sid)
    services(first.sid).us_app_to_person.create(
        **CAMPAIGN, brand_registration_sid=brand.sid, us_app_to_person_usecase="MIXED"
    )
    fake.a2p.verify_campaign(first.sid)
    through = client.messages.create(
        to="+15557654321", messaging_service_sid=first.sid, body="hi", status_callback=callback
    )
    assert (through.status, through.messaging_service_sid, through.from_) == (
        "accepted",
        first.sid,
        "+15125550123",
    )
    assert [(p["MessageStatus"], p.get("ErrorCode")) for p in posted] == [
        ("undelivered", "30034"),
        ("sent", None),
    ]
    services(first.sid).phone_numbers(number.sid).delete()
    with pytest.raises(TwilioException):
        services(first.sid).phone_numbers(number.sid).fetch()


def test_auto_advance_moves_each_object_one_step_per_fetch(fake: FakeTwilio) -> None:
    """Bundle in-review -> approved, brand -> APPROVED, campaign -> IN_PROGRESS -> VERIFIED."""
    fake.a2p.auto_advance = True
    client = fake.client()
    brand = standard_brand(client, fake)
    profile = client.trusthub.v1.customer_profiles(brand.customer_profile_bundle_sid)
    assert [profile.fetch().status for _ in range(2)] == ["in-review", "twilio-approved"]
    brands = client.messaging.v1.brand_registrations
    assert brands(brand.sid).fetch().status == "APPROVED"
    service = client.messaging.v1.services.create(friendly_name="auto")
    campaigns = client.messaging.v1.services(service.sid).us_app_to_person
    campaigns.create(**CAMPAIGN, brand_registration_sid=brand.sid, us_app_to_person_usecase="MIXED")
    assert [campaigns(CAMPAIGN_SID).fetch().campaign_status for _ in range(3)] == [
        "IN_PROGRESS",
        "VERIFIED",
        "VERIFIED",
    ]


def test_a_reviewed_bundle_posts_its_status_callback(fake: FakeTwilio) -> None:
    """Trust Hub reports the review's outcome to the bundle's StatusCallback."""
    posted: list[tuple[str, dict[str, str]]] = []
    fake.deliver_callback = lambda url, params: posted.append((url, dict(params)))
    client = fake.client()
    profile = client.trusthub.v1.customer_profiles.create(
        friendly_name="cb",
        email="isv@example.com",
        policy_sid=SECONDARY_PROFILE_POLICY,
        status_callback="https://sms.example.com/registration",
    )
    fake.a2p.reject_bundle(profile.sid, 22215)
    fake.a2p.approve_bundle(profile.sid)
    assert [(u, p["BundleSid"], p["Status"], p.get("FailureReason")) for u, p in posted] == [
        ("https://sms.example.com/registration", profile.sid, "twilio-rejected", "error 22215"),
        ("https://sms.example.com/registration", profile.sid, "twilio-approved", None),
    ]
