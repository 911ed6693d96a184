"""The Trust Hub half of the Twilio sender registry: a business's customer
profile and A2P trust product, each with the end users, address and supporting
document it rests on (notes on A2P 10DLC §3 steps 1-2, §4 steps 1-2).

Each bundle is made object by object so that a step cut short (a crash, a
timeout) resumes where it stopped: the bundle is looked up by its friendly
name first (a filtered list, one request), and, when it exists, every
sub-object is first looked for among the bundle's assignments, then by its
friendly name, and only made when it is nowhere. Objects that exist are
brought up to the registration's details (a correction after a rejection).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from neariq_sms.adapters.twilio.border import (
    SDK_FAILURES,
    RetryPolicy,
    classify,
    text,
    with_retries,
)
from neariq_sms.adapters.twilio.http_client import TimedHttpClient
from neariq_sms.domain.errors import ProviderError
from neariq_sms.domain.registration import RegistrationKind, SenderRegistration, StepName
from neariq_sms.domain.registration_input import BusinessInfo, Representative

log = logging.getLogger("neariq_sms.twilio")
T = TypeVar("T")

#: Trust Hub policies (global constants at Twilio; notes §0).
SECONDARY_PROFILE_POLICY = "RNdfbf3fae0e1107f8aded0e7cead80bf5"
STARTER_PROFILE_POLICY = "RN806dd6cd175f314e1f96a9727ee271f4"
A2P_TRUST_POLICY = "RNb0d4771c2c98518d916a3d4cd70a8f8b"
SOLE_PROPRIETOR_TRUST_POLICY = "RN670d5d2e282a6130ae063b234b6019c8"
#: Statuses from which a bundle is (re)submitted for review.
_SUBMITTABLE = frozenset({"draft", "twilio-rejected"})
#: The largest page Twilio serves: a scan by friendly name reads as few pages as it can.
SCAN_PAGE = 1000


@attrs.frozen
class Calls:
    """The SDK calls of one registry: writes once (ambiguous when unanswered), reads retried."""

    client: Any
    http: TimedHttpClient
    retry: RetryPolicy
    sleep: Callable[[float], None]

    def act(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except SDK_FAILURES as exc:
            raise classify(
                exc, what=what, acting=True, last=self.http.last_response
            ).error from None

    def read(self, what: str, call: Callable[[], T]) -> T:
        return with_retries(
            call,
            what=what,
            policy=self.retry,
            sleep=self.sleep,
            classify_one=lambda exc: classify(
                exc, what=what, acting=False, last=self.http.last_response
            ),
        )


@attrs.frozen
class _Part:
    """One end user or document a bundle needs: its friendly-name suffix, type, attributes."""

    obj: str
    type: str
    attributes: dict[str, Any]


class Bundles:
    """Makes (or resumes, or corrects) one registration's two Trust Hub bundles."""

    def __init__(self, calls: Calls, *, primary_profile_sid: str, email: Callable[[], str]):
        self._calls = calls
        self._primary = primary_profile_sid
        self._isv_email = email

    # --- the two steps ----------------------------------------------------------------

    def customer_profile(
        self, registration: SenderRegistration, sid: str | None, status_callback: str | None
    ) -> str:
        business, person = _details(registration)
        sole = registration.kind is RegistrationKind.SOLE_PROPRIETOR
        th = self._calls.client.trusthub.v1
        profile, fresh = self._bundle(
            th.customer_profiles,
            "customer_profile",
            registration,
            sid,
            policy=STARTER_PROFILE_POLICY if sole else SECONDARY_PROFILE_POLICY,
            email=person.email if sole else self._isv_email(),
            status_callback=status_callback,
        )
        assignments = th.customer_profiles(profile.sid).customer_profiles_entity_assignments
        parts = _profile_parts(business, person, sole=sole)
        attached = self._attached(assignments, fresh)
        for part in parts:
            self._attach(assignments, attached, self._end_user(registration, part, attached, fresh))
        address_sid = self._address(registration, business, fresh)
        document = _Part(
            "address_document", "customer_profile_address", {"address_sids": address_sid}
        )
        self._attach(assignments, attached, self._document(registration, document, attached, fresh))
        self._attach(assignments, attached, self._primary)
        policy = STARTER_PROFILE_POLICY if sole else SECONDARY_PROFILE_POLICY
        evaluations = th.customer_profiles(profile.sid).customer_profiles_evaluations
        self._evaluate_and_submit(profile, evaluations, policy, th.customer_profiles(profile.sid))
        return str(profile.sid)

    def trust_product(
        self, registration: SenderRegistration, sid: str | None, status_callback: str | None
    ) -> str:
        business, person = _details(registration)
        sole = registration.kind is RegistrationKind.SOLE_PROPRIETOR
        profile_sid = sid_of(registration, StepName.CUSTOMER_PROFILE)
        th = self._calls.client.trusthub.v1
        policy = SOLE_PROPRIETOR_TRUST_POLICY if sole else A2P_TRUST_POLICY
        trust, fresh = self._bundle(
            th.trust_products,
            "trust_product",
            registration,
            sid,
            policy=policy,
            email=person.email if sole else self._isv_email(),
            status_callback=status_callback,
        )
        assignments = th.trust_products(trust.sid).trust_products_entity_assignments
        attached = self._attached(assignments, fresh)
        part = _trust_part(business, person, sole=sole)
        self._attach(assignments, attached, self._end_user(registration, part, attached, fresh))
        self._attach(assignments, attached, profile_sid)
        evaluations = th.trust_products(trust.sid).trust_products_evaluations
        self._evaluate_and_submit(trust, evaluations, policy, th.trust_products(trust.sid))
        return str(trust.sid)

    def correct(self, registration: SenderRegistration) -> None:
        """Bring the end users and the address of both bundles up to the details
        (before a failed brand is sent again); nothing is made or submitted."""
        business, person = _details(registration)
        sole = registration.kind is RegistrationKind.SOLE_PROPRIETOR
        th = self._calls.client.trusthub.v1
        bundles = (
            (th.customer_profiles, "customer_profile", _profile_parts(business, person, sole=sole)),
            (th.trust_products, "trust_product", [_trust_part(business, person, sole=sole)]),
        )
        for bundle_list, step, parts in bundles:
            sid = sid_of(registration, StepName(step))
            assigned = getattr(bundle_list(sid), f"{step}s_entity_assignments")
            attached = self._attached(assigned, fresh=False)
            for part in parts:
                self._end_user(registration, part, attached, fresh=False)
        self._address(registration, business, fresh=False)

    # --- one bundle -------------------------------------------------------------------

    def _bundle(
        self,
        bundles: Any,
        step: str,
        registration: SenderRegistration,
        sid: str | None,
        *,
        policy: str,
        email: str,
        status_callback: str | None,
    ) -> tuple[Any, bool]:
        """The bundle (by its sid, or by its friendly name) and whether it is new."""
        name = registration.provider_name(step)
        if sid is not None:
            return self._calls.read(f"{step} fetch", lambda: bundles(sid).fetch()), False
        found = self._calls.read(
            f"{step} lookup", lambda: list(bundles.list(friendly_name=name, page_size=SCAN_PAGE))
        )
        if found:
            log.info("twilio %s found sid=%s (resumed)", step, found[0].sid)
            return found[0], False
        options = {"status_callback": status_callback} if status_callback else {}
        made = self._calls.act(
            f"{step} create",
            lambda: bundles.create(friendly_name=name, email=email, policy_sid=policy, **options),
        )
        log.info("twilio %s made sid=%s", step, made.sid)
        return made, True

    def _attached(self, assignments: Any, fresh: bool) -> dict[str, Any]:
        """Object sid -> the object (end user or document) of the bundle's assignments."""
        if fresh:
            return {}
        th = self._calls.client.trusthub.v1
        attached: dict[str, Any] = {}
        records = self._calls.read(
            "assignment lookup", lambda: list(assignments.list(page_size=SCAN_PAGE))
        )
        for record in records:
            object_sid = str(record.object_sid)
            if object_sid.startswith("IT"):
                attached[object_sid] = self._calls.read(
                    "end user fetch", th.end_users(object_sid).fetch
                )
            elif object_sid.startswith("RD"):
                attached[object_sid] = self._calls.read(
                    "document fetch", th.supporting_documents(object_sid).fetch
                )
            else:
                attached[object_sid] = None  # a profile: nothing to compare
        return attached

    def _attach(self, assignments: Any, attached: dict[str, Any], object_sid: str) -> None:
        if object_sid in attached:
            return
        self._calls.act("assignment create", lambda: assignments.create(object_sid=object_sid))
        attached[object_sid] = None

    def _end_user(
        self, registration: SenderRegistration, part: _Part, attached: dict[str, Any], fresh: bool
    ) -> str:
        return self._entity(
            self._calls.client.trusthub.v1.end_users,
            "end user",
            registration,
            part,
            attached,
            fresh,
        )

    def _document(
        self, registration: SenderRegistration, part: _Part, attached: dict[str, Any], fresh: bool
    ) -> str:
        th = self._calls.client.trusthub.v1
        return self._entity(
            th.supporting_documents, "document", registration, part, attached, fresh
        )

    def _entity(
        self,
        entities: Any,
        what: str,
        registration: SenderRegistration,
        part: _Part,
        attached: dict[str, Any],
        fresh: bool,
    ) -> str:
        """An end user or document: the attached one of its type, one of its name, or a new one."""
        name = registration.provider_name(part.obj)
        found = next((o for o in attached.values() if o is not None and o.type == part.type), None)
        if found is None and not fresh:
            # Made but not attached yet when the earlier try stopped: only a scan finds it.
            found = next(
                (
                    o
                    for o in self._calls.read(
                        f"{what} lookup", lambda: list(entities.list(page_size=SCAN_PAGE))
                    )
                    if text(o, "friendly_name") == name
                ),
                None,
            )
        if found is None:
            made = self._calls.act(
                f"{what} create",
                lambda: entities.create(
                    friendly_name=name, type=part.type, attributes=part.attributes
                ),
            )
            return str(made.sid)
        if dict(found.attributes or {}) != part.attributes:
            self._calls.act(
                f"{what} update", lambda: entities(found.sid).update(attributes=part.attributes)
            )
            log.info("twilio %s corrected sid=%s", what, found.sid)
        return str(found.sid)

    def _address(
        self, registration: SenderRegistration, business: BusinessInfo, fresh: bool
    ) -> str:
        addresses = self._calls.client.addresses
        name = registration.provider_name("address")
        a = business.address
        fields = {
            "customer_name": business.legal_name,
            "street": a.street,
            "city": a.city,
            "region": a.region,
            "postal_code": a.postal_code,
        }
        found = (
            []
            if fresh
            else self._calls.read(
                "address lookup",
                lambda: list(addresses.list(friendly_name=name, page_size=SCAN_PAGE)),
            )
        )
        if not found:
            made = self._calls.act(
                "address create",
                lambda: addresses.create(friendly_name=name, iso_country=a.country, **fields),
            )
            return str(made.sid)
        address = found[0]
        if any(getattr(address, key, None) != value for key, value in fields.items()):
            self._calls.act("address update", lambda: addresses(address.sid).update(**fields))
            log.info("twilio address corrected sid=%s", address.sid)
        return str(address.sid)

    def _evaluate_and_submit(
        self, bundle: Any, evaluations: Any, policy: str, context: Any
    ) -> None:
        evaluation = self._calls.act("evaluation", lambda: evaluations.create(policy_sid=policy))
        if evaluation.status != "compliant":
            failed = [r for r in (evaluation.results or []) if not r.get("passed")]
            names = ", ".join(str(r.get("requirement_name")) for r in failed) or "unknown"
            code = next((r.get("error_code") for r in failed if r.get("error_code")), None)
            raise ProviderError(
                reason=f"Twilio's evaluation found the bundle incomplete ({names})",
                provider_code=code,
            )
        current = self._calls.read("bundle fetch", context.fetch)
        if current.status in _SUBMITTABLE:
            self._calls.act("bundle submit", lambda: context.update(status="pending-review"))
            log.info("twilio bundle submitted for review sid=%s", bundle.sid)


def sid_of(registration: SenderRegistration, step: StepName) -> str:
    """The sid of an earlier step, which the use case stored before this one."""
    sid = registration.step(step).sid
    if sid is None:
        raise ValueError(f"the {step} step has no sid yet")
    return sid


def _details(registration: SenderRegistration) -> tuple[BusinessInfo, Representative]:
    business, person = registration.details.business, registration.details.representative
    if business is None or person is None:
        raise ValueError("a registration with a chain to make carries its business and person")
    return business, person


def _profile_parts(business: BusinessInfo, person: Representative, *, sole: bool) -> list[_Part]:
    if sole:
        return [
            _Part(
                "starter_info",
                "starter_customer_profile_information",
                {
                    "first_name": person.first_name,
                    "last_name": person.last_name,
                    "email": person.email,
                    "phone_number": person.phone.e164,
                },
            )
        ]
    info = {
        "business_name": business.legal_name,
        "business_type": business.business_type,
        "business_industry": business.industry,
        "business_registration_identifier": "EIN",
        "business_registration_number": business.ein,
        "business_regions_of_operation": "USA_AND_CANADA",
        "business_identity": "direct_customer",
        "website_url": business.website,
    }
    representative = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "phone_number": person.phone.e164,
        "business_title": person.title,
        "job_position": person.job_position,
    }
    return [
        _Part("business_info", "customer_profile_business_information", info),
        _Part("representative", "authorized_representative_1", representative),
    ]


def _trust_part(business: BusinessInfo, person: Representative, *, sole: bool) -> _Part:
    if sole:
        return _Part(
            "sole_proprietor_info",
            "sole_proprietor_information",
            {"brand_name": business.legal_name, "mobile_phone_number": person.phone.e164},
        )
    attributes: dict[str, Any] = {
        "company_type": business.company_type,
        "brand_contact_email": person.email,
    }
    if business.company_type == "public":
        attributes |= {
            "stock_exchange": business.stock_exchange,
            "stock_ticker": business.stock_ticker,
        }
    return _Part("messaging_info", "us_a2p_messaging_profile_information", attributes)


__all__ = [
    "A2P_TRUST_POLICY",
    "SECONDARY_PROFILE_POLICY",
    "SOLE_PROPRIETOR_TRUST_POLICY",
    "STARTER_PROFILE_POLICY",
    "Bundles",
    "Calls",
    "sid_of",
]
