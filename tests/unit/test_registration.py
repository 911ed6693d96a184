"""Sender registration: the state machine, and what a business must submit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neariq_sms.domain import InvalidField, InvalidPhone, MissingField
from neariq_sms.domain.registration import (
    IN_FLIGHT,
    InvalidTransition,
    RegistrationIssue,
    RegistrationKind,
    RegistrationStatus,
    SenderRegistration,
    StepName,
    StepState,
)
from neariq_sms.domain.registration_input import (
    RegistrationDetails,
    parse_ein,
    parse_email,
    parse_registration_details,
    parse_url,
)
from tests.registration_data import SOLE_PROPRIETOR, STANDARD, payload

NOW = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
ISSUE = RegistrationIssue(30795, "The EIN does not match the business's records.", "EIN")


def parse(data: dict[str, Any], *, sole: bool = False) -> RegistrationDetails:
    return parse_registration_details(
        sole_proprietor=sole,
        business=data.get("business"),
        representative=data.get("representative"),
        campaign=data.get("campaign"),
    )


def draft(kind: RegistrationKind = RegistrationKind.STANDARD) -> SenderRegistration:
    return SenderRegistration.draft(
        id="reg-1", business_id="biz-1", kind=kind, details=parse(STANDARD), now=NOW
    )


# --- the state machine ------------------------------------------------------------------


def test_a_new_registration_is_a_draft_with_six_pending_steps() -> None:
    """Nothing is at the provider yet: every step pending, no sid, not submitted."""
    registration = draft()
    assert registration.status is RegistrationStatus.DRAFT
    assert [s.name for s in registration.steps] == list(StepName)
    assert {s.state for s in registration.steps} == {StepState.PENDING}
    assert registration.submitted_at is None
    assert registration.messaging_service_sid is None


def test_the_happy_path_runs_draft_submitted_in_review_approved() -> None:
    """Each transition returns a new value and stamps the time."""
    later = NOW + timedelta(days=3)
    submitted = draft().submit(NOW)
    approved = submitted.start_review(NOW).approve(later)
    assert (submitted.status, submitted.submitted_at, submitted.revision) == (
        RegistrationStatus.SUBMITTED, NOW, 1,
    )  # fmt: skip
    assert approved.status is RegistrationStatus.APPROVED
    assert approved.updated_at == later
    assert draft().status is RegistrationStatus.DRAFT


def test_a_rejection_keeps_the_reasons_and_a_resubmission_clears_them() -> None:
    """Rejected with the provider's reasons; corrected details go back as ``submitted``,
    the rejected object keeping its sid but pending again, approved ones untouched."""
    registration = (
        draft()
        .submit(NOW)
        .with_step(StepName.CUSTOMER_PROFILE, StepState.APPROVED, sid="BU1", now=NOW)
        .with_step(StepName.BRAND, StepState.REJECTED, sid="BN1", now=NOW)
        .reject([ISSUE], NOW)
    )
    assert registration.issues == (ISSUE,)
    corrected = parse(payload(**{"business.ein": "98-7654321"}))
    again = registration.resubmit(corrected, NOW + timedelta(hours=1))
    assert again.status is RegistrationStatus.SUBMITTED
    assert again.issues == ()
    assert again.revision == 2
    assert again.details == corrected
    assert again.step(StepName.BRAND).state is StepState.PENDING
    assert again.step(StepName.BRAND).sid == "BN1"
    assert again.step(StepName.CUSTOMER_PROFILE).state is StepState.APPROVED


def test_an_approved_registration_can_be_suspended_then_resubmitted() -> None:
    """The carriers stop an approved campaign (30990); the business may correct and resubmit."""
    suspended = draft().submit(NOW).approve(NOW).suspend([RegistrationIssue(30990, "x")], NOW)
    assert suspended.status is RegistrationStatus.SUSPENDED
    assert suspended.resubmit(suspended.details, NOW).status is RegistrationStatus.SUBMITTED


TRANSITIONS = {
    "submit": lambda r: r.submit(NOW),
    "resubmit": lambda r: r.resubmit(r.details, NOW),
    "start_review": lambda r: r.start_review(NOW),
    "approve": lambda r: r.approve(NOW),
    "reject": lambda r: r.reject([ISSUE], NOW),
    "suspend": lambda r: r.suspend([ISSUE], NOW),
}
ALLOWED = {
    "submit": {RegistrationStatus.DRAFT},
    "resubmit": {RegistrationStatus.REJECTED, RegistrationStatus.SUSPENDED},
    "start_review": {RegistrationStatus.SUBMITTED, RegistrationStatus.IN_REVIEW},
    "approve": {RegistrationStatus.SUBMITTED, RegistrationStatus.IN_REVIEW},
    "reject": set(IN_FLIGHT),
    "suspend": {RegistrationStatus.APPROVED},
}


@given(st.lists(st.sampled_from(sorted(TRANSITIONS)), max_size=12))
def test_any_sequence_of_transitions_obeys_the_table(names: list[str]) -> None:
    """Every transition either moves as the table allows or raises InvalidTransition
    and leaves the value as it was; approved is reachable only through review."""
    registration = draft()
    for name in names:
        before = registration
        try:
            registration = TRANSITIONS[name](registration)
        except InvalidTransition:
            assert before.status not in ALLOWED[name]
            assert registration == before
        else:
            assert before.status in ALLOWED[name]
        assert registration.in_flight == (registration.status in IN_FLIGHT)


def test_a_step_sid_once_stored_never_changes() -> None:
    """Later objects refer to it: a different sid for the same step is a bug."""
    registration = draft().with_step(StepName.BRAND, StepState.SUBMITTED, sid="BN1", now=NOW)
    same = registration.with_step(StepName.BRAND, StepState.APPROVED, now=NOW)
    assert same.step(StepName.BRAND).sid == "BN1"
    with pytest.raises(InvalidTransition):
        registration.with_step(StepName.BRAND, StepState.SUBMITTED, sid="BN2", now=NOW)


def test_an_existing_registration_adopts_its_service_and_skips_the_brand_chain() -> None:
    """Only the campaign and the number remain to check on an adopted service."""
    sid = "MG" + "0" * 32
    registration = SenderRegistration.draft(
        id="reg-1",
        business_id="biz-1",
        kind=RegistrationKind.EXISTING,
        details=RegistrationDetails(None, None),
        now=NOW,
        messaging_service_sid=sid,
    )
    assert registration.messaging_service_sid == sid
    assert [s.state for s in registration.steps[:3]] == [StepState.SKIPPED] * 3
    assert registration.step(StepName.CAMPAIGN).state is StepState.PENDING


def test_provider_names_are_unique_per_object_and_fit_the_provider() -> None:
    """A retry finds an object by its name: one name per (registration, object)."""
    registration = draft()
    names = {registration.provider_name(obj) for obj in ("brand", "campaign", "end_user_1")}
    assert len(names) == 3
    assert all(len(name) <= 64 and "reg-1" in name for name in names)


# --- what a business submits ---------------------------------------------------------------


def test_a_standard_payload_parses_with_the_ein_as_nine_digits() -> None:
    details = parse(STANDARD)
    assert details.business is not None
    assert details.representative is not None
    assert details.business.ein == "123456789"
    assert details.business.address.region == "TX"
    assert details.representative.phone.e164 == "+15125550142"
    assert details.campaign is not None
    assert len(details.campaign.sample_messages) == 2
    assert details.campaign.has_embedded_links


def test_a_sole_proprietor_needs_no_ein_and_may_omit_the_campaign() -> None:
    details = parse(SOLE_PROPRIETOR, sole=True)
    assert details.business is not None
    assert details.business.ein is None
    assert details.campaign is None


@pytest.mark.parametrize(
    ("path", "sole"),
    [
        ("business", False),
        ("business.ein", False),
        ("business.businessType", False),
        ("business.address", False),
        ("business.address.postalCode", False),
        ("representative.jobPosition", False),
        ("representative.phone", True),
        ("campaign.sampleMessages", False),
        ("campaign.messageFlow", False),
    ],
)
def test_a_missing_field_is_named_by_its_path(path: str, sole: bool) -> None:
    base = {**SOLE_PROPRIETOR, "campaign": STANDARD["campaign"]} if sole else STANDARD
    with pytest.raises(MissingField) as exc:
        parse(payload(base, **{path: ...}), sole=sole)
    assert exc.value.field == path


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("business.ein", "12345678"),
        ("business.ein", "12-34567890"),
        ("business.businessType", "LLC"),
        ("business.industry", "PLUMBING"),
        ("business.companyType", "corp"),
        ("business.website", "acme"),
        ("business.website", "ftp://acme.example.com"),
        ("business.address.region", "Texas"),
        ("business.address.region", "ZZ"),
        ("business.address.country", "CA"),
        ("business.address.postalCode", "7870"),
        ("business.address", "100 Congress Ave"),
        ("representative.email", "ada@"),
        ("representative.jobPosition", "Owner"),
        ("campaign.description", "Too short to say who sends what."),
        ("campaign.messageFlow", "x" * 2049),
        ("campaign.sampleMessages", ["Acme Plumbing: one sample only, STOP to opt out."]),
        ("campaign.sampleMessages", ["Acme Plumbing: a long enough sample."] * 6),
        ("campaign.sampleMessages", "Acme Plumbing: not a list of samples at all"),
    ],
)
def test_a_malformed_field_is_named_by_its_path(path: str, value: object) -> None:
    with pytest.raises(InvalidField) as exc:
        parse(payload(**{path: value}))
    assert exc.value.field == path


def test_a_short_sample_is_named_by_its_index() -> None:
    samples = [*STANDARD["campaign"]["sampleMessages"], "too short"]
    with pytest.raises(InvalidField) as exc:
        parse(payload(**{"campaign.sampleMessages": samples}))
    assert exc.value.field == "campaign.sampleMessages[2]"


def test_missing_fields_come_before_malformed_ones_and_the_phone_comes_last() -> None:
    """The parse order of the whole request: missing_field, invalid_field, invalid_phone."""
    broken = payload(**{"business.ein": "1", "campaign.description": ...})
    with pytest.raises(MissingField):
        parse(broken)
    with pytest.raises(InvalidField):
        parse(payload(**{"representative.phone": "12", "campaign.description": "short"}))
    with pytest.raises(InvalidPhone) as exc:
        parse(payload(**{"representative.phone": "12"}))
    assert exc.value.field == "representative.phone"


def test_a_sole_proprietor_with_an_ein_is_refused() -> None:
    """A business with an EIN registers as standard or low volume (the provider refuses
    the campaign later, and the fees are lost)."""
    with pytest.raises(InvalidField) as exc:
        parse(payload(SOLE_PROPRIETOR, **{"business.ein": "12-3456789"}), sole=True)
    assert exc.value.field == "business.ein"


def test_a_public_company_names_its_stock_exchange_and_ticker() -> None:
    with pytest.raises(MissingField) as exc:
        parse(payload(**{"business.companyType": "public"}))
    assert exc.value.field == "business.stockExchange"


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_any_nine_digits_are_an_ein_with_or_without_the_dash(digits: str) -> None:
    assert parse_ein(digits) == digits == parse_ein(f"{digits[:2]}-{digits[2:]}")


@given(st.text(max_size=12).filter(lambda t: not (t.isascii() and t.isdigit() and len(t) == 9)))
def test_anything_else_is_no_ein(text: str) -> None:
    with pytest.raises((InvalidField, MissingField)):
        parse_ein(text.replace("-", "x"))


@pytest.mark.parametrize("good", ["ada@example.com", "a.b+c@mail.example.co.uk"])
def test_good_emails_pass(good: str) -> None:
    assert parse_email(good, field="e") == good


@pytest.mark.parametrize("bad", ["ada", "ada@example", "ada @example.com", "ada@-x.com", 5])
def test_bad_emails_are_invalid_fields(bad: object) -> None:
    with pytest.raises(InvalidField):
        parse_email(bad, field="e")


@pytest.mark.parametrize("bad", ["https://", "https://localhost", "http://a b.com", "javascript:x"])
def test_bad_urls_are_invalid_fields(bad: str) -> None:
    with pytest.raises(InvalidField):
        parse_url(bad, field="u")
