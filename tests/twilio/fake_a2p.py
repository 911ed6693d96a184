"""The US A2P 10DLC side of the fake Twilio: Trust Hub v1, Messaging v1, Addresses.

:class:`FakeA2P` lives on :class:`~tests.twilio.fake_twilio.FakeTwilio` as
``fake.a2p`` and answers, over the same loopback server, the calls of the ISV
onboarding guides: customer profiles and trust products (with their entity
assignments and evaluations), end users, supporting documents, policies,
addresses (API 2010), brand registrations (with the SMS OTP re-send and the
resubmission), Messaging Services (with their sender pool), the campaign
(``Compliance/Usa2p``, always addressed by one constant sid) and its use cases.

What it imitates, after the research notes on A2P 10DLC (§3-§5, §9, §14):

- records and list pages in the v1 shape (``meta.key``, ``next_page_url``;
  ``page_size`` small enough that a test can make the SDK page), and the
  filters the SDK offers (``FriendlyName``, ``Status``, ``PolicySid`` on
  bundles; ``FriendlyName``, ``CustomerName``, ``IsoCountry`` on addresses);
- an evaluation's result depends on what is attached to the bundle;
- a bundle submitted as ``pending-review`` shows ``in-review`` from its next
  fetch on; a noncompliant one is then rejected (the fake's choice);
- a brand needs both bundle sids; it starts ``PENDING``; a Sole Proprietor
  brand is ``APPROVED`` with ``identity_status`` ``UNVERIFIED`` until the
  owner answers the OTP; a brand can be resubmitted (POST, 202) only when
  ``FAILED`` (21725); ``brand_registrations.list()`` omits ``VETTED_VERIFIED``
  brands (the pitfall in twilio/twilio-ruby#688);
- a campaign only for an ``APPROVED`` (and, Sole Proprietor, ``VERIFIED``)
  brand (21717), with its required fields (21727) and lengths (21728); one
  per service;
- a number is in at most one service (21712; 21710 for the same one).

Trust Hub posts a bundle's status callback (to its ``StatusCallback``,
through ``fake.deliver_callback``) when a test approves or rejects it.
Progress is driven by the test (:meth:`FakeA2P.approve_bundle`,
:meth:`approve_brand`, :meth:`reject_brand`, :meth:`confirm_otp`,
:meth:`verify_campaign`, :meth:`fail_campaign`, :meth:`approve_everything`),
or, with ``auto_advance``, by every fetch of a non-final object (one step per
fetch). Every object created is counted in :attr:`FakeA2P.created`.

Error codes the sources do not settle are marked "the fake's choice".
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from tests.twilio.fake_twilio import FakeTwilio

#: The policies of the notes §0 (global constants at Twilio).
SECONDARY_PROFILE_POLICY = "RNdfbf3fae0e1107f8aded0e7cead80bf5"
STARTER_PROFILE_POLICY = "RN806dd6cd175f314e1f96a9727ee271f4"
A2P_TRUST_POLICY = "RNb0d4771c2c98518d916a3d4cd70a8f8b"
SOLE_PROPRIETOR_TRUST_POLICY = "RN670d5d2e282a6130ae063b234b6019c8"
#: The ISV's own primary profile's policy (created in the Console only): the fake's choice.
PRIMARY_PROFILE_POLICY = "RNf3db3cd1fe25fcfd3c3ded065c8fea53"
CAMPAIGN_SID = "QE2c6890da8086d771620e9b13fadeba0b"

CAMPAIGN_NOT_ALLOWED = 21717
BRAND_NOT_UPDATABLE = 21725
CAMPAIGN_MISSING = 21727
CAMPAIGN_LENGTH = 21728
NUMBER_IN_THIS_SERVICE = 21710
NUMBER_IN_OTHER_SERVICE = 21712
INVALID_PHONE_SID = 21421
#: The fake's choices (the sources name no code for these refusals).
MISSING_PARAMETER = 20001
CAMPAIGN_EXISTS = 21714
INVALID_ASSIGNMENT = 22204
DUPLICATE_ASSIGNMENT = 22205
OTP_NOT_ALLOWED = 21736

STANDARD_USECASES = [
    ("2FA", False),
    ("ACCOUNT_NOTIFICATION", False),
    ("CUSTOMER_CARE", False),
    ("DELIVERY_NOTIFICATION", False),
    ("FRAUD_ALERT", False),
    ("HIGHER_EDUCATION", False),
    ("LOW_VOLUME", False),
    ("MARKETING", False),
    ("MIXED", False),
    ("POLLING_VOTING", False),
    ("PUBLIC_SERVICE_ANNOUNCEMENT", False),
    ("SECURITY_ALERT", False),
]


@dataclass(frozen=True)
class _Requirement:
    name: str
    kind: str  # "end_user", "document" or "profile"
    type: str  # end-user / document type, or the supporting profile's policy
    fields: tuple[str, ...] = ()


_BUSINESS_FIELDS = (
    "business_name",
    "business_type",
    "business_industry",
    "business_registration_identifier",
    "business_registration_number",
    "business_regions_of_operation",
    "business_identity",
    "website_url",
)
_REPRESENTATIVE_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone_number",
    "business_title",
    "job_position",
)
_ADDRESS = _Requirement(
    "customer_profile_address", "document", "customer_profile_address", ("address_sids",)
)
POLICIES: dict[str, tuple[str, tuple[_Requirement, ...]]] = {
    SECONDARY_PROFILE_POLICY: (
        "Secondary Customer Profile of type Business",
        (
            _Requirement(
                "customer_profile_business_information",
                "end_user",
                "customer_profile_business_information",
                _BUSINESS_FIELDS,
            ),
            _Requirement(
                "authorized_representative_1",
                "end_user",
                "authorized_representative_1",
                _REPRESENTATIVE_FIELDS,
            ),
            _ADDRESS,
            _Requirement("primary_customer_profile", "profile", PRIMARY_PROFILE_POLICY),
        ),
    ),
    STARTER_PROFILE_POLICY: (
        "Starter Customer Profile",
        (
            _Requirement(
                "starter_customer_profile_information",
                "end_user",
                "starter_customer_profile_information",
                ("first_name", "last_name", "email", "phone_number"),
            ),
            _ADDRESS,
            _Requirement("primary_customer_profile", "profile", PRIMARY_PROFILE_POLICY),
        ),
    ),
    A2P_TRUST_POLICY: (
        "A2P Messaging Profile",
        (
            _Requirement(
                "us_a2p_messaging_profile_information",
                "end_user",
                "us_a2p_messaging_profile_information",
                ("company_type", "brand_contact_email"),
            ),
            _Requirement("customer_profile", "profile", SECONDARY_PROFILE_POLICY),
        ),
    ),
    SOLE_PROPRIETOR_TRUST_POLICY: (
        "Sole Proprietor A2P Trust Bundle",
        (
            _Requirement(
                "sole_proprietor_information",
                "end_user",
                "sole_proprietor_information",
                ("brand_name", "mobile_phone_number"),
            ),
            _Requirement("customer_profile", "profile", STARTER_PROFILE_POLICY),
        ),
    ),
}
_PROFILE_POLICIES = {SECONDARY_PROFILE_POLICY, STARTER_PROFILE_POLICY, PRIMARY_PROFILE_POLICY}
_TRUST_POLICIES = {A2P_TRUST_POLICY, SOLE_PROPRIETOR_TRUST_POLICY}
_FINAL_BUNDLE = {"twilio-approved", "twilio-rejected"}


class Refusal(Exception):
    """An error answer: the handler turns it into Twilio's error body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _sid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex


def _bool(raw: str | None) -> bool | None:
    return None if raw is None else raw.lower() == "true"


class FakeA2P:
    """The A2P state of one fake account. Methods run under the fake's lock."""

    def __init__(self, twilio: FakeTwilio) -> None:
        self.twilio = twilio
        #: Server-side page size of every list without PageSize (Twilio's default is 50),
        #: and the largest it serves (Twilio's is 1000): a test lowers both to make the SDK page.
        self.page_size = 50
        self.max_page_size = 1000
        #: Advance each non-final object one step on each fetch of it.
        self.auto_advance = False
        #: How many objects of each kind were created (POSTs that made one).
        self.created: Counter[str] = Counter()
        #: Brand resubmissions and OTP (re)sends, by brand sid.
        self.resubmissions: Counter[str] = Counter()
        self.otps: Counter[str] = Counter()
        self.bundles: dict[str, dict[str, Any]] = {}  # customer profiles and trust products
        self.assignments: dict[str, list[dict[str, Any]]] = {}
        self.evaluations: dict[str, list[dict[str, Any]]] = {}
        self.end_users: dict[str, dict[str, Any]] = {}
        self.documents: dict[str, dict[str, Any]] = {}
        self.addresses: dict[str, dict[str, Any]] = {}
        self.brands: dict[str, dict[str, Any]] = {}
        self.services: dict[str, dict[str, Any]] = {}
        #: Service sid -> phone number sid -> sender-pool record.
        self.pools: dict[str, dict[str, dict[str, Any]]] = {}
        #: Service sid -> its campaign.
        self.campaigns: dict[str, dict[str, Any]] = {}
        self.primary_profile_sid = _sid("BU")
        self.bundles[self.primary_profile_sid] = self._bundle_record(
            "customer_profile",
            self.primary_profile_sid,
            {"FriendlyName": "ISV primary", "Email": "isv@example.com"},
            PRIMARY_PROFILE_POLICY,
        )
        self.bundles[self.primary_profile_sid]["status"] = "twilio-approved"

    # --- driving progress (tests call these) ----------------------------------------

    def approve_bundle(self, sid: str) -> None:
        with self.twilio.lock:
            bundle = self._bundle(sid)
            bundle.update(status="twilio-approved", errors=None, valid_until=self._now())
            callbacks = [self._bundle_callback(bundle)]
        self._deliver(callbacks)

    def reject_bundle(self, sid: str, code: int = 22215) -> None:
        with self.twilio.lock:
            bundle = self._bundle(sid)
            bundle.update(status="twilio-rejected", errors=[{"code": code}])
            callbacks = [self._bundle_callback(bundle, f"error {code}")]
        self._deliver(callbacks)

    def _bundle_callback(
        self, bundle: dict[str, Any], failure: str | None = None
    ) -> tuple[str | None, list[tuple[str, str]]]:
        """Trust Hub's status callback of a bundle (the Regulatory Bundles shape: notes §6.2)."""
        params = [
            ("AccountSid", self.twilio.account_sid),
            ("BundleSid", bundle["sid"]),
            ("Status", bundle["status"]),
        ]
        if failure is not None:
            params.append(("FailureReason", failure))
        return bundle["status_callback"], params

    def _deliver(self, callbacks: list[tuple[str | None, list[tuple[str, str]]]]) -> None:
        # Outside the lock: the receiver may well call the fake back.
        deliver = self.twilio.deliver_callback
        for url, params in callbacks:
            if url and deliver is not None:
                deliver(url, params)

    def approve_brand(self, sid: str) -> None:
        with self.twilio.lock:
            self._approve_brand(self._brand(sid))

    def reject_brand(
        self,
        sid: str,
        errors: Iterable[tuple[int, str, list[str]]] = ((30701, "Invalid state", ["STATE"]),),
    ) -> None:
        items = [
            {
                "error_code": code,
                "description": description,
                "url": f"https://www.twilio.com/docs/errors/{code}",
                "fields": fields,
            }
            for code, description, fields in errors
        ]
        with self.twilio.lock:
            brand = self._brand(sid)
            brand.update(status="FAILED", errors=items, failure_reason=items[0]["description"])

    def confirm_otp(self, sid: str) -> None:
        """The Sole Proprietor owner answered YES to the registry's text."""
        with self.twilio.lock:
            brand = self._brand(sid)
            assert brand["status"] == "APPROVED", "TCR texts the owner once the brand is approved"
            brand["identity_status"] = "VERIFIED"

    def verify_campaign(self, service_sid: str) -> None:
        with self.twilio.lock:
            self._verify_campaign(self._campaign(service_sid))

    def fail_campaign(
        self,
        service_sid: str,
        errors: Iterable[tuple[int, str, list[str]]] = ((30896, "Opt-in", ["MESSAGE_FLOW"]),),
    ) -> None:
        items = [
            {
                "error_code": c,
                "description": d,
                "fields": f,
                "url": f"https://www.twilio.com/docs/errors/{c}",
            }
            for c, d, f in errors
        ]
        with self.twilio.lock:
            self._campaign(service_sid).update(campaign_status="FAILED", errors=items)

    def suspend_campaign(self, service_sid: str) -> None:
        with self.twilio.lock:
            self._campaign(service_sid)["campaign_status"] = "SUSPENDED"

    def approve_everything(self) -> None:
        """Every submitted bundle and brand approved and verified, every campaign verified."""
        with self.twilio.lock:
            callbacks = []
            for bundle in self.bundles.values():
                if bundle["status"] in {"pending-review", "in-review"}:
                    bundle.update(status="twilio-approved", errors=None)
                    callbacks.append(self._bundle_callback(bundle))
            for brand in self.brands.values():
                if brand["status"] in {"PENDING", "IN_REVIEW"}:
                    self._approve_brand(brand)
                if brand["identity_status"] == "UNVERIFIED":
                    brand["identity_status"] = "VERIFIED"
            for campaign in self.campaigns.values():
                if campaign["campaign_status"] in {"PENDING", "IN_PROGRESS"}:
                    self._verify_campaign(campaign)
        self._deliver(callbacks)

    def verified_senders(self) -> set[str]:
        """E.164 numbers in a service whose campaign is VERIFIED (the only ones carriers pass)."""
        verified = set()
        for service_sid, pool in self.pools.items():
            campaign = self.campaigns.get(service_sid)
            if campaign is not None and campaign["campaign_status"] == "VERIFIED":
                verified |= {record["phone_number"] for record in pool.values()}
        return verified

    def service_of(self, phone_number_sid: str) -> str | None:
        return next((mg for mg, pool in self.pools.items() if phone_number_sid in pool), None)

    def released(self, phone_number_sid: str) -> None:
        """A released number leaves its sender pool (called by the fake on release)."""
        for pool in self.pools.values():
            pool.pop(phone_number_sid, None)

    # --- routing ----------------------------------------------------------------------

    def routes(self) -> list[tuple[str, str, re.Pattern[str], str, Callable[..., tuple[int, Any]]]]:
        """(host, method, path pattern, operation name, handler) for the server."""
        th, msg, api = "trusthub", "messaging", "api"
        sid = r"(?P<sid>[A-Za-z0-9]+)"
        table: list[tuple[str, str, str, str, Callable[..., tuple[int, Any]]]] = []
        for kind, path in (
            ("customer_profile", "CustomerProfiles"),
            ("trust_product", "TrustProducts"),
        ):
            base = f"/v1/{path}"
            table += [
                (th, "POST", base, f"{kind}s.create", self._create_bundle_of(kind)),
                (th, "GET", base, f"{kind}s.list", self._list_bundles_of(kind)),
                (th, "GET", f"{base}/{sid}", f"{kind}s.fetch", self._fetch_bundle),
                (th, "POST", f"{base}/{sid}", f"{kind}s.update", self._update_bundle),
                (th, "DELETE", f"{base}/{sid}", f"{kind}s.delete", self._delete_bundle),
                (th, "POST", f"{base}/{sid}/EntityAssignments", f"{kind}s.assign", self._assign),
                (
                    th,
                    "GET",
                    f"{base}/{sid}/EntityAssignments",
                    f"{kind}s.assignments",
                    self._assignments,
                ),
                (th, "POST", f"{base}/{sid}/Evaluations", f"{kind}s.evaluate", self._evaluate),
                (th, "GET", f"{base}/{sid}/Evaluations", f"{kind}s.evaluations", self._evaluations),
            ]
        for kind, path, prefix in (
            ("end_user", "EndUsers", "IT"),
            ("supporting_document", "SupportingDocuments", "RD"),
        ):
            base = f"/v1/{path}"
            table += [
                (th, "POST", base, f"{kind}s.create", self._create_entity_of(kind, prefix)),
                (th, "GET", base, f"{kind}s.list", self._list_entities_of(kind)),
                (th, "GET", f"{base}/{sid}", f"{kind}s.fetch", self._fetch_entity_of(kind)),
                (th, "POST", f"{base}/{sid}", f"{kind}s.update", self._update_entity_of(kind)),
            ]
        table += [
            (th, "GET", "/v1/Policies", "policies.list", self._list_policies),
            (th, "GET", f"/v1/Policies/{sid}", "policies.fetch", self._fetch_policy),
        ]
        addresses = "/2010-04-01/Accounts/(?P<account>[^/]+)/Addresses"
        table += [
            (api, "POST", addresses + r"\.json", "addresses.create", self._create_address),
            (api, "GET", addresses + r"\.json", "addresses.list", self._list_addresses),
            (api, "GET", addresses + rf"/{sid}\.json", "addresses.fetch", self._fetch_address),
            (api, "POST", addresses + rf"/{sid}\.json", "addresses.update", self._update_address),
        ]
        brands = "/v1/a2p/BrandRegistrations"
        table += [
            (msg, "POST", brands, "brands.create", self._create_brand),
            (msg, "GET", brands, "brands.list", self._list_brands),
            (msg, "GET", f"{brands}/{sid}", "brands.fetch", self._fetch_brand),
            (msg, "POST", f"{brands}/{sid}", "brands.update", self._resubmit_brand),
            (msg, "POST", f"{brands}/{sid}/SmsOtp", "brands.otp", self._send_otp),
        ]
        services, number = "/v1/Services", r"(?P<number>PN[0-9a-fA-F]+)"
        campaign = f"{services}/{sid}/Compliance/Usa2p"
        table += [
            (msg, "POST", services, "services.create", self._create_service),
            (msg, "GET", services, "services.list", self._list_services),
            (msg, "GET", f"{services}/{sid}", "services.fetch", self._fetch_service),
            (msg, "DELETE", f"{services}/{sid}", "services.delete", self._delete_service),
            (
                msg,
                "POST",
                f"{services}/{sid}/PhoneNumbers",
                "service_numbers.create",
                self._add_number,
            ),
            (msg, "GET", f"{services}/{sid}/PhoneNumbers", "service_numbers.list", self._list_pool),
            (
                msg,
                "GET",
                f"{services}/{sid}/PhoneNumbers/{number}",
                "service_numbers.fetch",
                self._fetch_pool_number,
            ),
            (
                msg,
                "DELETE",
                f"{services}/{sid}/PhoneNumbers/{number}",
                "service_numbers.delete",
                self._remove_number,
            ),
            (msg, "GET", f"{campaign}/Usecases", "campaigns.usecases", self._usecases),
            (msg, "POST", campaign, "campaigns.create", self._create_campaign),
            (msg, "GET", campaign, "campaigns.list", self._list_campaigns),
            (
                msg,
                "GET",
                f"{campaign}/(?P<qe>QE[0-9a-fA-F]+)",
                "campaigns.fetch",
                self._fetch_campaign,
            ),
            (
                msg,
                "POST",
                f"{campaign}/(?P<qe>QE[0-9a-fA-F]+)",
                "campaigns.update",
                self._update_campaign,
            ),
            (
                msg,
                "DELETE",
                f"{campaign}/(?P<qe>QE[0-9a-fA-F]+)",
                "campaigns.delete",
                self._delete_campaign,
            ),
        ]
        return [
            (host, method, re.compile(path), name, handler)
            for host, method, path, name, handler in table
        ]

    # --- plumbing ---------------------------------------------------------------------

    def _now(self) -> str:
        return self.twilio.now().strftime("%Y-%m-%dT%H:%M:%SZ")

    def _page(
        self,
        host: str,
        path: str,
        query: list[tuple[str, str]],
        key: str,
        records: list[dict[str, Any]],
    ) -> dict[str, Any]:
        params = dict(query)
        size = min(int(params.get("PageSize", self.page_size)), self.max_page_size)
        page = int(params.get("Page", "0"))
        kept = [(k, v) for k, v in query if k not in {"Page", "PageSize", "PageToken"}]

        def url(n: int) -> str:
            extra = [("PageToken", f"PT{n}")] if n else []
            return f"https://{host}.twilio.com{path}?" + urlencode(
                [*kept, ("PageSize", size), ("Page", n), *extra]
            )

        more = (page + 1) * size < len(records)
        return {
            key: records[page * size : (page + 1) * size],
            "meta": {
                "page": page,
                "page_size": size,
                "first_page_url": url(0),
                "previous_page_url": url(page - 1) if page else None,
                "next_page_url": url(page + 1) if more else None,
                "url": url(page),
                "key": key,
            },
        }

    @staticmethod
    def _filtered(
        records: Iterable[dict[str, Any]], query: list[tuple[str, str]], names: dict[str, str]
    ) -> list[dict[str, Any]]:
        params = dict(query)
        return [
            r for r in records if all(params.get(p, r.get(f)) == r.get(f) for p, f in names.items())
        ]

    def _bundle(self, sid: str) -> dict[str, Any]:
        bundle = self.bundles.get(sid)
        if bundle is None:
            raise Refusal(404, 20404, f"The requested resource /{sid} was not found")
        return bundle

    def _brand(self, sid: str) -> dict[str, Any]:
        brand = self.brands.get(sid)
        if brand is None:
            raise Refusal(
                404, 20404, f"The requested resource /a2p/BrandRegistrations/{sid} was not found"
            )
        return brand

    def _service(self, sid: str) -> dict[str, Any]:
        service = self.services.get(sid)
        if service is None:
            raise Refusal(404, 20404, f"The requested resource /Services/{sid} was not found")
        return service

    def _campaign(self, service_sid: str) -> dict[str, Any]:
        self._service(service_sid)
        campaign = self.campaigns.get(service_sid)
        if campaign is None:
            raise Refusal(404, 20404, "The requested resource /Compliance/Usa2p was not found")
        return campaign

    # --- bundles: customer profiles and trust products ---------------------------------

    def _bundle_record(
        self, kind: str, sid: str, form: dict[str, str], policy: str
    ) -> dict[str, Any]:
        path = "CustomerProfiles" if kind == "customer_profile" else "TrustProducts"
        url = f"https://trusthub.twilio.com/v1/{path}/{sid}"
        now = self._now()
        links = {
            f"{kind}s_entity_assignments": f"{url}/EntityAssignments",
            f"{kind}s_evaluations": f"{url}/Evaluations",
            f"{kind}s_channel_endpoint_assignment": f"{url}/ChannelEndpointAssignments",
        }
        return {
            "kind": kind,
            "sid": sid,
            "account_sid": self.twilio.account_sid,
            "policy_sid": policy,
            "friendly_name": form.get("FriendlyName"),
            "status": "draft",
            "email": form.get("Email"),
            "status_callback": form.get("StatusCallback"),
            "valid_until": None,
            "date_created": now,
            "date_updated": now,
            "url": url,
            "links": links,
            "errors": None,
        }

    def _create_bundle_of(self, kind: str) -> Callable[..., tuple[int, Any]]:
        policies = (
            _PROFILE_POLICIES - {PRIMARY_PROFILE_POLICY}
            if kind == "customer_profile"
            else _TRUST_POLICIES
        )

        def create(form: dict[str, str], **_: Any) -> tuple[int, Any]:
            for name in ("FriendlyName", "Email", "PolicySid"):
                if not form.get(name):
                    raise Refusal(400, MISSING_PARAMETER, f"Missing required parameter {name}")
            if form["PolicySid"] not in policies:
                raise Refusal(
                    400, 22201, "PolicySid is not valid for this bundle"
                )  # the fake's choice
            sid = _sid("BU")
            self.bundles[sid] = self._bundle_record(kind, sid, form, form["PolicySid"])
            self.created[kind] += 1
            return 201, self._bundle_view(self.bundles[sid])

        return create

    @staticmethod
    def _bundle_view(bundle: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in bundle.items() if k != "kind"}

    def _list_bundles_of(self, kind: str) -> Callable[..., tuple[int, Any]]:
        def list_(query: list[tuple[str, str]], path: str, **_: Any) -> tuple[int, Any]:
            mine = [self._bundle_view(b) for b in self.bundles.values() if b["kind"] == kind]
            names = {"FriendlyName": "friendly_name", "Status": "status", "PolicySid": "policy_sid"}
            return 200, self._page(
                "trusthub", path, query, "results", self._filtered(mine, query, names)
            )

        return list_

    def _advance_bundle(self, bundle: dict[str, Any]) -> None:
        if bundle["status"] == "pending-review":
            # Twilio takes the submission up at once (the Sole-Prop guide shows in-review).
            if self._evaluation(bundle, bundle["policy_sid"])["status"] == "noncompliant":
                bundle.update(status="twilio-rejected", errors=[{"code": 22215}])
            else:
                bundle["status"] = "in-review"
        elif bundle["status"] == "in-review" and self.auto_advance:
            bundle.update(status="twilio-approved", valid_until=self._now())

    def _fetch_bundle(self, match: re.Match[str], **_: Any) -> tuple[int, Any]:
        bundle = self._bundle(match["sid"])
        self._advance_bundle(bundle)
        return 200, self._bundle_view(bundle)

    def _update_bundle(
        self, match: re.Match[str], form: dict[str, str], **_: Any
    ) -> tuple[int, Any]:
        bundle = self._bundle(match["sid"])
        status = form.get("Status")
        if status is not None:
            if status != "pending-review" or bundle["status"] not in {"draft", "twilio-rejected"}:
                raise Refusal(
                    400, 22203, f"Cannot move a {bundle['status']} bundle to {status}"
                )  # the fake's choice
            bundle.update(status=status, errors=None)
        for name, key in (
            ("FriendlyName", "friendly_name"),
            ("Email", "email"),
            ("StatusCallback", "status_callback"),
        ):
            if name in form:
                bundle[key] = form[name]
        bundle["date_updated"] = self._now()
        return 200, self._bundle_view(bundle)

    def _delete_bundle(self, match: re.Match[str], **_: Any) -> tuple[int, Any]:
        self._bundle(match["sid"])
        del self.bundles[match["sid"]]
        return 204, None

    def _object(self, sid: str) -> tuple[str, dict[str, Any]] | None:
        if sid in self.end_users:
            return "end_user", self.end_users[sid]
        if sid in self.documents:
            return "supporting_document", self.documents[sid]
        if sid in self.bundles:
            return self.bundles[sid]["kind"], self.bundles[sid]
        return None

    def _assign(self, match: re.Match[str], form: dict[str, str], **_: Any) -> tuple[int, Any]:
        bundle = self._bundle(match["sid"])
        object_sid = form.get("ObjectSid", "")
        if not object_sid:
            raise Refusal(400, MISSING_PARAMETER, "Missing required parameter ObjectSid")
        if self._object(object_sid) is None or object_sid == bundle["sid"]:
            raise Refusal(400, INVALID_ASSIGNMENT, f"ObjectSid {object_sid} is not valid")
        assigned = self.assignments.setdefault(bundle["sid"], [])
        if any(a["object_sid"] == object_sid for a in assigned):
            raise Refusal(409, DUPLICATE_ASSIGNMENT, f"{object_sid} is already assigned")
        sid = _sid("BV")
        record = {
            "sid": sid,
            f"{bundle['kind']}_sid": bundle["sid"],
            "account_sid": self.twilio.account_sid,
            "object_sid": object_sid,
            "date_created": self._now(),
            "url": f"{bundle['url']}/EntityAssignments/{sid}",
        }
        assigned.append(record)
        self.created["entity_assignment"] += 1
        return 201, record

    def _assignments(
        self, match: re.Match[str], query: list[tuple[str, str]], path: str, **_: Any
    ) -> tuple[int, Any]:
        bundle = self._bundle(match["sid"])
        found = self.assignments.get(bundle["sid"], [])
        wanted = dict(query).get("ObjectType")
        if wanted:
            found = [a for a in found if (o := self._object(a["object_sid"])) and o[0] == wanted]
        return 200, self._page("trusthub", path, query, "results", found)

    def _attached(self, bundle: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        return [
            o
            for a in self.assignments.get(bundle["sid"], [])
            if (o := self._object(a["object_sid"]))
        ]

    def _evaluation(self, bundle: dict[str, Any], policy: str) -> dict[str, Any]:
        _, requirements = POLICIES.get(policy, ("", ()))
        attached = self._attached(bundle)
        results = []
        for req in requirements:
            results.append(self._check(req, attached))
        compliant = bool(requirements) and all(r["passed"] for r in results)
        return {"status": "compliant" if compliant else "noncompliant", "results": results}

    def _check(
        self, req: _Requirement, attached: list[tuple[str, dict[str, Any]]]
    ) -> dict[str, Any]:
        result: dict[str, Any] = {
            "friendly_name": req.name.replace("_", " ").title(),
            "object_type": req.type,
            "requirement_name": req.name,
            "requirement_friendly_name": req.name.replace("_", " ").title(),
            "valid": [],
            "invalid": [],
        }
        if req.kind == "profile":
            found = [
                o
                for kind, o in attached
                if kind == "customer_profile" and o["policy_sid"] == req.type
            ]
            missing_code = 22214
        else:
            kind = "end_user" if req.kind == "end_user" else "supporting_document"
            found = [o for k, o in attached if k == kind and o["type"] == req.type]
            missing_code = 22214 if req.kind == "end_user" else 22216
        if not found:
            result.update(
                passed=False, failure_reason=f"{req.name} is missing", error_code=missing_code
            )
            return result
        attributes = found[0].get("attributes") or {}
        for name in req.fields:
            value = attributes.get(name)
            ok = bool(value)
            if ok and name == "address_sids":
                sids = value if isinstance(value, list) else [value]
                ok = all(s in self.addresses for s in sids)
            entry = {"friendly_name": name, "object_field": name}
            if ok:
                result["valid"].append(entry)
            else:
                code = 22219 if name == "address_sids" else 22215
                result["invalid"].append(
                    {**entry, "failure_reason": f"{name} is required", "error_code": code}
                )
        passed = not result["invalid"]
        result.update(
            passed=passed,
            failure_reason=None if passed else "fields are missing",
            error_code=None if passed else result["invalid"][0]["error_code"],
        )
        return result

    def _evaluate(self, match: re.Match[str], form: dict[str, str], **_: Any) -> tuple[int, Any]:
        bundle = self._bundle(match["sid"])
        policy = form.get("PolicySid", "")
        if policy not in POLICIES:
            raise Refusal(400, MISSING_PARAMETER, "PolicySid is required")
        sid = _sid("EL")
        record = {
            "sid": sid,
            "account_sid": self.twilio.account_sid,
            "policy_sid": policy,
            f"{bundle['kind']}_sid": bundle["sid"],
            **self._evaluation(bundle, policy),
            "date_created": self._now(),
            "url": f"{bundle['url']}/Evaluations/{sid}",
        }
        self.evaluations.setdefault(bundle["sid"], []).append(record)
        self.created["evaluation"] += 1
        return 201, record

    def _evaluations(
        self, match: re.Match[str], query: list[tuple[str, str]], path: str, **_: Any
    ) -> tuple[int, Any]:
        bundle = self._bundle(match["sid"])
        return 200, self._page(
            "trusthub", path, query, "results", self.evaluations.get(bundle["sid"], [])
        )

    # --- end users and supporting documents -------------------------------------------

    def _entities(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.end_users if kind == "end_user" else self.documents

    def _create_entity_of(self, kind: str, prefix: str) -> Callable[..., tuple[int, Any]]:
        path = "EndUsers" if kind == "end_user" else "SupportingDocuments"

        def create(form: dict[str, str], **_: Any) -> tuple[int, Any]:
            for name in ("FriendlyName", "Type"):
                if not form.get(name):
                    raise Refusal(400, MISSING_PARAMETER, f"Missing required parameter {name}")
            sid, now = _sid(prefix), self._now()
            record: dict[str, Any] = {
                "sid": sid,
                "account_sid": self.twilio.account_sid,
                "friendly_name": form["FriendlyName"],
                "type": form["Type"],
                "attributes": json.loads(form.get("Attributes") or "{}"),
                "date_created": now,
                "date_updated": now,
                "url": f"https://trusthub.twilio.com/v1/{path}/{sid}",
            }
            if kind == "supporting_document":
                record.update(mime_type=None, status="DRAFT", failure_reason=None, errors=None)
            self._entities(kind)[sid] = record
            self.created[kind] += 1
            return 201, record

        return create

    def _list_entities_of(self, kind: str) -> Callable[..., tuple[int, Any]]:
        def list_(query: list[tuple[str, str]], path: str, **_: Any) -> tuple[int, Any]:
            return 200, self._page(
                "trusthub", path, query, "results", list(self._entities(kind).values())
            )

        return list_

    def _fetch_entity_of(self, kind: str) -> Callable[..., tuple[int, Any]]:
        def fetch(match: re.Match[str], path: str, **_: Any) -> tuple[int, Any]:
            record = self._entities(kind).get(match["sid"])
            if record is None:
                raise Refusal(404, 20404, f"The requested resource {path} was not found")
            return 200, record

        return fetch

    def _update_entity_of(self, kind: str) -> Callable[..., tuple[int, Any]]:
        def update(
            match: re.Match[str], form: dict[str, str], path: str, **_: Any
        ) -> tuple[int, Any]:
            record = self._entities(kind).get(match["sid"])
            if record is None:
                raise Refusal(404, 20404, f"The requested resource {path} was not found")
            if "Attributes" in form:
                record["attributes"] = json.loads(form["Attributes"] or "{}")
            if "FriendlyName" in form:
                record["friendly_name"] = form["FriendlyName"]
            record["date_updated"] = self._now()
            return 200, record

        return update

    # --- policies ---------------------------------------------------------------------

    def _policy(self, sid: str) -> dict[str, Any]:
        name, requirements = POLICIES[sid]
        end_users = [
            {"type": r.type, "requirement_name": r.name, "name": r.name, "fields": list(r.fields)}
            for r in requirements
            if r.kind == "end_user"
        ]
        documents = [
            [{"type": r.type, "requirement_name": r.name, "name": r.name, "fields": list(r.fields)}]
            for r in requirements
            if r.kind == "document"
        ]
        profiles = [
            {"requirement_name": r.name, "name": r.name, "policy_sid": r.type}
            for r in requirements
            if r.kind == "profile"
        ]
        return {
            "sid": sid,
            "friendly_name": name,
            "requirements": {
                "end_user": end_users,
                "supporting_document": documents,
                "supporting_customer_profiles": profiles,
                "supporting_trust_products": [],
            },
            "url": f"https://trusthub.twilio.com/v1/Policies/{sid}",
        }

    def _fetch_policy(self, match: re.Match[str], path: str, **_: Any) -> tuple[int, Any]:
        if match["sid"] not in POLICIES:
            raise Refusal(404, 20404, f"The requested resource {path} was not found")
        return 200, self._policy(match["sid"])

    def _list_policies(self, query: list[tuple[str, str]], path: str, **_: Any) -> tuple[int, Any]:
        return 200, self._page(
            "trusthub", path, query, "results", [self._policy(s) for s in POLICIES]
        )

    # --- addresses (API 2010) ---------------------------------------------------------

    _ADDRESS_FIELDS = (
        ("CustomerName", "customer_name"),
        ("Street", "street"),
        ("StreetSecondary", "street_secondary"),
        ("City", "city"),
        ("Region", "region"),
        ("PostalCode", "postal_code"),
        ("IsoCountry", "iso_country"),
        ("FriendlyName", "friendly_name"),
    )

    def _create_address(self, form: dict[str, str], **_: Any) -> tuple[int, Any]:
        for name in ("CustomerName", "Street", "City", "Region", "PostalCode", "IsoCountry"):
            if not form.get(name):
                raise Refusal(
                    400, 21631 if name == "Street" else MISSING_PARAMETER, f"{name} is required"
                )
        sid = _sid("AD")
        now = format_datetime(self.twilio.now())
        record: dict[str, Any] = {
            "sid": sid,
            "account_sid": self.twilio.account_sid,
            **{key: form.get(name) for name, key in self._ADDRESS_FIELDS},
            "emergency_enabled": False,
            "validated": True,
            "verified": False,
            "date_created": now,
            "date_updated": now,
            "uri": f"/2010-04-01/Accounts/{self.twilio.account_sid}/Addresses/{sid}.json",
        }
        self.addresses[sid] = record
        self.created["address"] += 1
        return 201, record

    def _list_addresses(self, query: list[tuple[str, str]], path: str, **_: Any) -> tuple[int, Any]:
        names = {
            "FriendlyName": "friendly_name",
            "CustomerName": "customer_name",
            "IsoCountry": "iso_country",
        }
        found = self._filtered(self.addresses.values(), query, names)
        params = dict(query)
        size = min(int(params.get("PageSize", self.page_size)), self.max_page_size)
        page = int(params.get("Page", "0"))
        kept = [(k, v) for k, v in query if k not in {"Page", "PageSize", "PageToken"}]

        def uri(n: int) -> str:
            return f"{path}?" + urlencode([*kept, ("PageSize", size), ("Page", n)])

        more = (page + 1) * size < len(found)
        chunk = found[page * size : (page + 1) * size]
        return 200, {
            "addresses": chunk,
            "uri": uri(page),
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1) if more else None,
            "previous_page_uri": uri(page - 1) if page else None,
            "page": page,
            "page_size": size,
            "start": page * size,
            "end": page * size + max(len(chunk) - 1, 0),
        }

    def _fetch_address(self, match: re.Match[str], path: str, **_: Any) -> tuple[int, Any]:
        record = self.addresses.get(match["sid"])
        if record is None:
            raise Refusal(404, 20404, f"The requested resource {path} was not found")
        return 200, record

    def _update_address(
        self, match: re.Match[str], form: dict[str, str], path: str, **_: Any
    ) -> tuple[int, Any]:
        record = self.addresses.get(match["sid"])
        if record is None:
            raise Refusal(404, 20404, f"The requested resource {path} was not found")
        for name, key in self._ADDRESS_FIELDS:
            if name in form and name != "IsoCountry":
                record[key] = form[name]
        record["date_updated"] = format_datetime(self.twilio.now())
        return 200, record

    # --- brands -----------------------------------------------------------------------

    def _create_brand(self, form: dict[str, str], **_: Any) -> tuple[int, Any]:
        profile_sid, trust_sid = (
            form.get("CustomerProfileBundleSid"),
            form.get("A2PProfileBundleSid"),
        )
        if not profile_sid or not trust_sid:
            raise Refusal(
                400,
                MISSING_PARAMETER,
                "CustomerProfileBundleSid and A2PProfileBundleSid are required",
            )
        profile, trust = self.bundles.get(profile_sid), self.bundles.get(trust_sid)
        brand_type = form.get("BrandType", "STANDARD")
        wanted = (
            (STARTER_PROFILE_POLICY, SOLE_PROPRIETOR_TRUST_POLICY)
            if brand_type == "SOLE_PROPRIETOR"
            else (SECONDARY_PROFILE_POLICY, A2P_TRUST_POLICY)
        )
        if (
            profile is None
            or trust is None
            or (profile["policy_sid"], trust["policy_sid"]) != wanted
        ):
            raise Refusal(
                400, 21701, "The bundles are not valid for this brand type"
            )  # the fake's choice
        sid, now = _sid("BN"), self._now()
        url = f"https://messaging.twilio.com/v1/a2p/BrandRegistrations/{sid}"
        self.brands[sid] = {
            "sid": sid,
            "account_sid": self.twilio.account_sid,
            "customer_profile_bundle_sid": profile_sid,
            "a2p_profile_bundle_sid": trust_sid,
            "brand_type": brand_type,
            "status": "PENDING",
            "identity_status": None,
            "tcr_id": None,
            "failure_reason": None,
            "errors": [],
            "brand_score": None,
            "brand_feedback": None,
            "russell_3000": False,
            "government_entity": False,
            "tax_exempt_status": None,
            "skip_automatic_sec_vet": _bool(form.get("SkipAutomaticSecVet")) or False,
            "mock": _bool(form.get("Mock")) or False,
            "date_created": now,
            "date_updated": now,
            "url": url,
            "links": {
                "brand_vettings": f"{url}/Vettings",
                "brand_registration_otps": f"{url}/SmsOtp",
            },
        }
        self.created["brand"] += 1
        return 201, self.brands[sid]

    def _approve_brand(self, brand: dict[str, Any]) -> None:
        brand.update(
            status="APPROVED",
            errors=[],
            failure_reason=None,
            tcr_id="B" + uuid.uuid4().hex[:6].upper(),
        )
        if brand["brand_type"] == "SOLE_PROPRIETOR":
            brand["identity_status"] = "UNVERIFIED"
            self.otps[brand["sid"]] += 1  # TCR texts the owner on approval
        elif brand["skip_automatic_sec_vet"]:
            brand["identity_status"] = "VERIFIED"
        else:
            brand.update(identity_status="VETTED_VERIFIED", brand_score=80)

    def _list_brands(self, query: list[tuple[str, str]], path: str, **_: Any) -> tuple[int, Any]:
        # The pitfall of the notes §13: the list omits VETTED_VERIFIED brands.
        shown = [b for b in self.brands.values() if b["identity_status"] != "VETTED_VERIFIED"]
        return 200, self._page("messaging", path, query, "data", shown)

    def _fetch_brand(self, match: re.Match[str], **_: Any) -> tuple[int, Any]:
        brand = self._brand(match["sid"])
        if self.auto_advance:
            if brand["status"] in {"PENDING", "IN_REVIEW"}:
                self._approve_brand(brand)
            elif brand["status"] == "APPROVED" and brand["identity_status"] == "UNVERIFIED":
                brand["identity_status"] = "VERIFIED"
        return 200, brand

    def _resubmit_brand(self, match: re.Match[str], **_: Any) -> tuple[int, Any]:
        brand = self._brand(match["sid"])
        if brand["status"] != "FAILED":
            raise Refusal(
                400, BRAND_NOT_UPDATABLE, "Brand can only be updated when in FAILED state"
            )
        brand.update(status="PENDING", errors=[], failure_reason=None, date_updated=self._now())
        self.resubmissions[brand["sid"]] += 1
        return 202, brand

    def _send_otp(self, match: re.Match[str], **_: Any) -> tuple[int, Any]:
        brand = self._brand(match["sid"])
        if brand["brand_type"] != "SOLE_PROPRIETOR" or brand["identity_status"] != "UNVERIFIED":
            raise Refusal(400, OTP_NOT_ALLOWED, "This brand does not await an OTP")
        self.otps[brand["sid"]] += 1
        return 201, {"account_sid": self.twilio.account_sid, "brand_registration_sid": brand["sid"]}

    # --- messaging services and their sender pool -------------------------------------

    def _create_service(self, form: dict[str, str], **_: Any) -> tuple[int, Any]:
        name = form.get("FriendlyName", "")
        if not name:
            raise Refusal(400, MISSING_PARAMETER, "Missing required parameter FriendlyName")
        if len(name) > 64:
            raise Refusal(400, 21709, "FriendlyName is too long")  # the fake's choice
        sid, now = _sid("MG"), self._now()
        url = f"https://messaging.twilio.com/v1/Services/{sid}"
        self.services[sid] = {
            "sid": sid,
            "account_sid": self.twilio.account_sid,
            "friendly_name": name,
            "inbound_request_url": form.get("InboundRequestUrl"),
            "inbound_method": form.get("InboundMethod", "POST"),
            "fallback_url": form.get("FallbackUrl"),
            "fallback_method": form.get("FallbackMethod", "POST"),
            "status_callback": form.get("StatusCallback"),
            "sticky_sender": _bool(form.get("StickySender")) is not False,
            "mms_converter": True,
            "smart_encoding": True,
            "scan_message_content": "inherit",
            "fallback_to_long_code": True,
            "area_code_geomatch": True,
            "validity_period": int(form.get("ValidityPeriod", "14400")),
            "synchronous_validation": False,
            "usecase": form.get("Usecase", "undeclared"),
            "us_app_to_person_registered": False,
            "use_inbound_webhook_on_number": _bool(form.get("UseInboundWebhookOnNumber")) or False,
            "date_created": now,
            "date_updated": now,
            "url": url,
            "links": {
                "phone_numbers": f"{url}/PhoneNumbers",
                "us_app_to_person": f"{url}/Compliance/Usa2p",
                "us_app_to_person_usecases": f"{url}/Compliance/Usa2p/Usecases",
            },
        }
        self.pools[sid] = {}
        self.created["service"] += 1
        return 201, self.services[sid]

    def _list_services(self, query: list[tuple[str, str]], path: str, **_: Any) -> tuple[int, Any]:
        return 200, self._page("messaging", path, query, "services", list(self.services.values()))

    def _fetch_service(self, match: re.Match[str], **_: Any) -> tuple[int, Any]:
        service = self._service(match["sid"])
        campaign = self.campaigns.get(service["sid"])
        service["us_app_to_person_registered"] = bool(
            campaign and campaign["campaign_status"] == "VERIFIED"
        )
        return 200, service

    def _delete_service(self, match: re.Match[str], **_: Any) -> tuple[int, Any]:
        self._service(match["sid"])
        # Deleting a service deletes its campaign and empties its pool (notes §7.1).
        for store in (self.services, self.pools, self.campaigns):
            store.pop(match["sid"], None)
        return 204, None

    def _add_number(self, match: re.Match[str], form: dict[str, str], **_: Any) -> tuple[int, Any]:
        service = self._service(match["sid"])
        number_sid = form.get("PhoneNumberSid", "")
        owned = self.twilio.owned.get(number_sid)
        if owned is None:
            raise Refusal(400, INVALID_PHONE_SID, "PhoneNumberSid is invalid")
        current = self.service_of(number_sid)
        if current == service["sid"]:
            raise Refusal(
                409, NUMBER_IN_THIS_SERVICE, "Phone Number is already in the Messaging Service"
            )
        if current is not None:
            raise Refusal(
                409,
                NUMBER_IN_OTHER_SERVICE,
                "Phone Number is already associated with another Messaging Service",
            )
        now = self._now()
        record = {
            "sid": number_sid,
            "account_sid": self.twilio.account_sid,
            "service_sid": service["sid"],
            "phone_number": owned["phone_number"],
            "country_code": "US",
            "capabilities": ["SMS", "MMS", "Voice"],
            "date_created": now,
            "date_updated": now,
            "url": f"{service['url']}/PhoneNumbers/{number_sid}",
        }
        self.pools[service["sid"]][number_sid] = record
        self.created["service_number"] += 1
        return 201, record

    def _list_pool(
        self, match: re.Match[str], query: list[tuple[str, str]], path: str, **_: Any
    ) -> tuple[int, Any]:
        self._service(match["sid"])
        return 200, self._page(
            "messaging", path, query, "phone_numbers", list(self.pools[match["sid"]].values())
        )

    def _pool_number(self, match: re.Match[str], path: str) -> dict[str, Any]:
        self._service(match["sid"])
        record = self.pools[match["sid"]].get(match["number"])
        if record is None:
            raise Refusal(404, 20404, f"The requested resource {path} was not found")
        return record

    def _fetch_pool_number(self, match: re.Match[str], path: str, **_: Any) -> tuple[int, Any]:
        return 200, self._pool_number(match, path)

    def _remove_number(self, match: re.Match[str], path: str, **_: Any) -> tuple[int, Any]:
        self._pool_number(match, path)
        del self.pools[match["sid"]][match["number"]]
        return 204, None

    # --- campaigns --------------------------------------------------------------------

    def _usecases(
        self, match: re.Match[str], query: list[tuple[str, str]], **_: Any
    ) -> tuple[int, Any]:
        self._service(match["sid"])
        brand = self._brand(dict(query).get("BrandRegistrationSid", ""))
        codes = (
            [("SOLE_PROPRIETOR", False)]
            if brand["brand_type"] == "SOLE_PROPRIETOR"
            else STANDARD_USECASES
        )
        usecases = [
            {
                "code": code,
                "name": code.replace("_", " ").title(),
                "description": code,
                "post_approval_required": post,
            }
            for code, post in codes
        ]
        return 200, {"us_app_to_person_usecases": usecases}

    def _create_campaign(
        self,
        match: re.Match[str],
        raw_form: list[tuple[str, str]],
        headers: dict[str, str],
        **_: Any,
    ) -> tuple[int, Any]:
        service = self._service(match["sid"])
        single = dict(raw_form)
        samples = [v for k, v in raw_form if k == "MessageSamples"]
        required = (
            "BrandRegistrationSid",
            "Description",
            "MessageFlow",
            "UsAppToPersonUsecase",
            "HasEmbeddedLinks",
            "HasEmbeddedPhone",
        )
        missing = [name for name in required if not single.get(name)] + (
            [] if samples else ["MessageSamples"]
        )
        if missing:
            raise Refusal(
                400, CAMPAIGN_MISSING, f"Missing required parameters: {', '.join(missing)}"
            )
        brand = self.brands.get(single["BrandRegistrationSid"])
        sole = brand is not None and brand["brand_type"] == "SOLE_PROPRIETOR"
        if (
            brand is None
            or brand["status"] != "APPROVED"
            or (sole and brand["identity_status"] != "VERIFIED")
        ):
            raise Refusal(
                400,
                CAMPAIGN_NOT_ALLOWED,
                "The brand is not registered or not valid for this use case",
            )
        allowed = {"SOLE_PROPRIETOR"} if sole else {code for code, _ in STANDARD_USECASES}
        if single["UsAppToPersonUsecase"] not in allowed:
            raise Refusal(400, CAMPAIGN_NOT_ALLOWED, "The use case is not valid for this brand")
        if not (
            40 <= len(single["Description"]) <= 4096
            and 40 <= len(single["MessageFlow"]) <= 2048
            and 2 <= len(samples) <= 5
            and all(20 <= len(s) <= 1024 for s in samples)
        ):
            raise Refusal(400, CAMPAIGN_LENGTH, "A campaign field violates its length limits")
        if service["sid"] in self.campaigns:
            raise Refusal(409, CAMPAIGN_EXISTS, "The Messaging Service already has a campaign")
        if sole and any(
            c["brand_registration_sid"] == brand["sid"] for c in self.campaigns.values()
        ):
            raise Refusal(409, CAMPAIGN_EXISTS, "A Sole Proprietor brand has one campaign")
        now = self._now()
        lists = {
            key: [v for k, v in raw_form if k == name] or None
            for name, key in (
                ("OptInKeywords", "opt_in_keywords"),
                ("OptOutKeywords", "opt_out_keywords"),
                ("HelpKeywords", "help_keywords"),
            )
        }
        self.campaigns[service["sid"]] = {
            "sid": CAMPAIGN_SID,
            "account_sid": self.twilio.account_sid,
            "brand_registration_sid": brand["sid"],
            "messaging_service_sid": service["sid"],
            "description": single["Description"],
            "message_samples": samples,
            "us_app_to_person_usecase": single["UsAppToPersonUsecase"],
            "has_embedded_links": _bool(single["HasEmbeddedLinks"]),
            "has_embedded_phone": _bool(single["HasEmbeddedPhone"]),
            "subscriber_opt_in": _bool(single.get("SubscriberOptIn")),
            "age_gated": _bool(single.get("AgeGated")) or False,
            "direct_lending": _bool(single.get("DirectLending")) or False,
            "campaign_status": "PENDING",
            "campaign_id": None,
            "is_externally_registered": False,
            "rate_limits": None,
            "message_flow": single["MessageFlow"],
            "opt_in_message": single.get("OptInMessage"),
            "opt_out_message": single.get("OptOutMessage"),
            "help_message": single.get("HelpMessage"),
            **lists,
            "privacy_policy_url": single.get("PrivacyPolicyUrl"),
            "terms_and_conditions_url": single.get("TermsAndConditionsUrl"),
            "mock": bool(brand["mock"]),
            "errors": [],
            "date_created": now,
            "date_updated": now,
            "url": f"{service['url']}/Compliance/Usa2p/{CAMPAIGN_SID}",
        }
        self.created["campaign"] += 1
        return 201, self._campaign_view(self.campaigns[service["sid"]], headers)

    @staticmethod
    def _campaign_view(campaign: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        if headers.get("X-Twilio-Api-Version") == "v1.2":
            return campaign
        # Only API version v1.2 shows the two URLs (notes §3).
        return {
            k: v
            for k, v in campaign.items()
            if k not in {"privacy_policy_url", "terms_and_conditions_url"}
        }

    def _verify_campaign(self, campaign: dict[str, Any]) -> None:
        campaign.update(
            campaign_status="VERIFIED",
            errors=[],
            campaign_id="C" + uuid.uuid4().hex[:6].upper(),
            rate_limits={"att": {"mps": 600, "msg_class": "A"}, "tmobile": {"brand_tier": "TOP"}},
        )

    def _list_campaigns(
        self,
        match: re.Match[str],
        query: list[tuple[str, str]],
        path: str,
        headers: dict[str, str],
        **_: Any,
    ) -> tuple[int, Any]:
        self._service(match["sid"])
        found = [
            self._campaign_view(c, headers)
            for mg, c in self.campaigns.items()
            if mg == match["sid"]
        ]
        return 200, self._page("messaging", path, query, "compliance", found)

    def _fetch_campaign(
        self, match: re.Match[str], headers: dict[str, str], **_: Any
    ) -> tuple[int, Any]:
        campaign = self._campaign(match["sid"])
        if match["qe"] != CAMPAIGN_SID:
            raise Refusal(404, 20404, "The requested resource was not found")
        if self.auto_advance:
            if campaign["campaign_status"] == "PENDING":
                campaign["campaign_status"] = "IN_PROGRESS"
            elif campaign["campaign_status"] == "IN_PROGRESS":
                self._verify_campaign(campaign)
        return 200, self._campaign_view(campaign, headers)

    def _update_campaign(
        self,
        match: re.Match[str],
        raw_form: list[tuple[str, str]],
        headers: dict[str, str],
        **_: Any,
    ) -> tuple[int, Any]:
        campaign = self._campaign(match["sid"])
        single = dict(raw_form)
        for name, key in (("Description", "description"), ("MessageFlow", "message_flow")):
            if name in single:
                campaign[key] = single[name]
        samples = [v for k, v in raw_form if k == "MessageSamples"]
        if samples:
            campaign["message_samples"] = samples
        if campaign["campaign_status"] == "FAILED":
            # A corrected FAILED campaign goes back to review with no errors (notes §13).
            campaign.update(campaign_status="IN_PROGRESS", errors=[])
        campaign["date_updated"] = self._now()
        return 200, self._campaign_view(campaign, headers)

    def _delete_campaign(self, match: re.Match[str], **_: Any) -> tuple[int, Any]:
        self._campaign(match["sid"])
        del self.campaigns[match["sid"]]
        return 204, None
