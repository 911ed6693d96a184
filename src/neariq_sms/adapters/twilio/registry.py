"""Twilio behind the :class:`~neariq_sms.ports.registry.SenderRegistry` port:
US A2P 10DLC registration through Trust Hub and Messaging v1 (the ISV
onboarding flow: a secondary or starter customer profile attached to the
platform's primary one, an A2P trust product, a brand, a Messaging Service,
its campaign, the business's number in its sender pool).

Writes are made once and never retried here: an unanswered one is
*ambiguous* and the use case calls again with ``resume``, which finds what
the earlier try made (by friendly name; a brand, which has none, by its two
bundle sids) before making anything. Reads and the idempotent sender-pool
calls are retried with backoff. Every failure leaves as a domain error.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from neariq_sms.adapters.twilio.border import NOT_FOUND, RetryPolicy, int_or_none, text
from neariq_sms.adapters.twilio.http_client import TimedHttpClient, quiet_sdk_request_log, rebind
from neariq_sms.adapters.twilio.registry_bundles import Bundles, Calls, sid_of
from neariq_sms.adapters.twilio.webhooks import INBOUND_PATH
from neariq_sms.domain.errors import InvalidField, ProviderError, SmsNotConfigured
from neariq_sms.domain.registration import (
    RegistrationIssue,
    RegistrationKind,
    SenderRegistration,
    StepName,
    StepState,
    StepStatus,
)
from neariq_sms.ports.registry import SenderRegistry
from neariq_sms.ports.webhooks import REGISTRATION_PATH

log = logging.getLogger("neariq_sms.twilio")

#: Every campaign (UsAppToPerson) is addressed by this one sid; one per service.
CAMPAIGN_SID = "QE2c6890da8086d771620e9b13fadeba0b"
PRIMARY_PROFILE_VARIABLE = "NEARIQ_SMS_TWILIO_PRIMARY_PROFILE_SID"
NUMBER_IN_THIS_SERVICE = 21710
NUMBER_IN_OTHER_SERVICE = 21712
BRAND_NOT_UPDATABLE = 21725
_PROFILE_SID = re.compile(r"^BU[0-9a-fA-F]{32}$")
_PHONE_IN_TEXT = re.compile(r"\[phone\]|\(\d{3}\)\s*\d{3}-\d{4}|\+?1?\d{10}\b", re.IGNORECASE)

_BUNDLE_STATES = {
    "draft": StepState.SUBMITTED,
    "pending-review": StepState.SUBMITTED,
    "in-review": StepState.IN_REVIEW,
    "twilio-approved": StepState.APPROVED,
    "twilio-rejected": StepState.REJECTED,
}
_BRAND_STATES = {
    "PENDING": StepState.IN_REVIEW,
    "IN_REVIEW": StepState.IN_REVIEW,
    "APPROVED": StepState.APPROVED,
    "FAILED": StepState.REJECTED,
    "SUSPENDED": StepState.SUSPENDED,
    "DELETION_PENDING": StepState.SUSPENDED,
    "DELETION_FAILED": StepState.SUSPENDED,
}
_CAMPAIGN_STATES = {
    "PENDING": StepState.SUBMITTED,
    "IN_PROGRESS": StepState.IN_REVIEW,
    "VERIFIED": StepState.APPROVED,
    "FAILED": StepState.REJECTED,
    "SUSPENDED": StepState.SUSPENDED,
}


class TwilioSenderRegistry:
    """:class:`~neariq_sms.ports.registry.SenderRegistry` over the official ``twilio`` SDK.

    Args:
        client: a ``twilio.rest.Client`` of the account that will send (its
            credentials, region, edge and HTTP client are reused; the client
            itself is not modified), or ``None`` for "not configured".
        primary_profile_sid: the platform's own approved primary (ISV)
            customer profile, attached to every business's profile.
        public_url: the deployment's public base URL: Trust Hub status
            callbacks and the service's inbound fallback point at it.
        notification_email: the address Trust Hub writes to about standard
            businesses' bundles (the ISV's; default: the primary profile's).
        mock: register mock brands (no fees, no vetting, cannot send).
        timeout, retry, sleep: as for ``TwilioTelephony``.
    """

    def __init__(
        self,
        client: Client | None,
        *,
        primary_profile_sid: str | None,
        public_url: str | None = None,
        notification_email: str | None = None,
        mock: bool = False,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._calls: Calls | None = None
        self._account_sid: str | None = None
        if client is not None:
            quiet_sdk_request_log()
            http = TimedHttpClient(client.http_client, timeout)
            self._calls = Calls(rebind(client, http), http, retry or RetryPolicy(), sleep)
            self._account_sid = client.account_sid
        self._primary = primary_profile_sid
        self._public_url = public_url.rstrip("/") if public_url else None
        self._email = notification_email
        self._mock = mock
        self.timeout = timeout

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] = os.environ,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
    ) -> TwilioSenderRegistry:
        """Built from ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``,
        ``NEARIQ_SMS_TWILIO_PRIMARY_PROFILE_SID`` and ``NEARIQ_SMS_PUBLIC_URL``.

        Raises:
            InvalidField: a primary profile sid that is not a ``BU`` sid.
        """
        sid = environ.get("TWILIO_ACCOUNT_SID", "").strip()
        token = environ.get("TWILIO_AUTH_TOKEN", "").strip()
        primary = environ.get(PRIMARY_PROFILE_VARIABLE, "").strip() or None
        if primary is not None and not _PROFILE_SID.match(primary):
            raise InvalidField(
                PRIMARY_PROFILE_VARIABLE, "must be a Trust Hub profile sid (BU and 32 hex digits)"
            )
        client = None
        if sid and token:
            client = Client(
                sid,
                token,
                http_client=TwilioHttpClient(timeout=timeout),
                environment={"NEARIQ_SMS": "explicit", **environ},
            )
        public_url = environ.get("NEARIQ_SMS_PUBLIC_URL", "").strip() or None
        return cls(
            client, primary_profile_sid=primary, public_url=public_url, timeout=timeout, retry=retry
        )

    def __repr__(self) -> str:
        return (
            f"TwilioSenderRegistry(account_sid={self._account_sid!r},"
            f" primary_profile_sid={self._primary!r}, public_url={self._public_url!r})"
        )

    @property
    def configured(self) -> bool:
        return self._calls is not None and self._primary is not None

    # --- the port ----------------------------------------------------------------------

    def create(self, step: StepName, registration: SenderRegistration, *, resume: bool) -> str:
        calls = self._require()
        sid = registration.step(step).sid
        callback = self._public_url + REGISTRATION_PATH if self._public_url else None
        if step is StepName.CUSTOMER_PROFILE:
            return self._bundles(calls).customer_profile(registration, sid, callback)
        if step is StepName.TRUST_PRODUCT:
            return self._bundles(calls).trust_product(registration, sid, callback)
        if step is StepName.BRAND:
            return self._brand(calls, registration, sid, resume=resume)
        if step is StepName.MESSAGING_SERVICE:
            return sid or self._service(calls, registration, resume=resume)
        if step is StepName.CAMPAIGN:
            return self._campaign(calls, registration, sid, resume=resume)
        raise ValueError("the number joins the service through add_number")

    def status(self, step: StepName, registration: SenderRegistration) -> StepStatus:
        calls = self._require()
        sid = sid_of(registration, step)
        messaging = calls.client.messaging.v1
        th = calls.client.trusthub.v1
        try:
            if step in (StepName.CUSTOMER_PROFILE, StepName.TRUST_PRODUCT):
                bundles = (
                    th.customer_profiles if step is StepName.CUSTOMER_PROFILE else th.trust_products
                )
                return _bundle_status(calls.read(f"{step} status", bundles(sid).fetch))
            if step is StepName.BRAND:
                return _brand_status(
                    calls.read("brand status", messaging.brand_registrations(sid).fetch)
                )
            if step is StepName.MESSAGING_SERVICE:
                calls.read("service status", messaging.services(sid).fetch)
                return StepStatus(StepState.APPROVED, provider_status="active")
            service_sid = sid_of(registration, StepName.MESSAGING_SERVICE)
            if step is StepName.CAMPAIGN:
                campaign = messaging.services(service_sid).us_app_to_person(CAMPAIGN_SID)
                return _campaign_status(calls.read("campaign status", campaign.fetch))
            pool = messaging.services(service_sid).phone_numbers(sid)
            calls.read("number status", pool.fetch)
            return StepStatus(StepState.APPROVED, provider_status="in-service")
        except ProviderError as error:
            if error.provider_code != NOT_FOUND:
                raise
            return _gone(step)

    def add_number(self, service_sid: str, number_sid: str) -> None:
        calls = self._require()
        pool = calls.client.messaging.v1.services(service_sid).phone_numbers
        try:
            calls.read("number add", lambda: pool.create(phone_number_sid=number_sid))
        except ProviderError as error:
            # A retry after an unanswered try meets its own success; 21712 is another service's.
            if error.provider_code != NUMBER_IN_THIS_SERVICE and not self._in_pool(
                calls, service_sid, number_sid
            ):
                raise
        log.info("twilio number in service service=%s number=%s", service_sid, number_sid)

    def remove_number(self, service_sid: str, number_sid: str) -> None:
        calls = self._require()
        pool = calls.client.messaging.v1.services(service_sid).phone_numbers

        def delete() -> None:
            try:
                pool(number_sid).delete()
            except TwilioRestException as exc:
                if exc.status != 404:
                    raise

        calls.read("number remove", delete)
        log.info("twilio number out of service service=%s number=%s", service_sid, number_sid)

    def resend_otp(self, brand_sid: str) -> None:
        calls = self._require()
        brand = calls.client.messaging.v1.brand_registrations(brand_sid)
        calls.act("otp resend", brand.brand_registration_otps.create)
        log.info("twilio sole proprietor confirmation text sent again brand=%s", brand_sid)

    # --- the steps after Trust Hub ------------------------------------------------------

    def _brand(
        self, calls: Calls, registration: SenderRegistration, sid: str | None, *, resume: bool
    ) -> str:
        brands = calls.client.messaging.v1.brand_registrations
        if sid is not None:
            # A failed brand, corrected: the data it rests on first, then resubmit (202).
            self._bundles(calls).correct(registration)
            try:
                calls.act("brand resubmit", brands(sid).update)
            except ProviderError as error:
                current = calls.read("brand fetch", brands(sid).fetch)
                if error.provider_code != BRAND_NOT_UPDATABLE or current.status == "FAILED":
                    raise
            log.info("twilio brand resubmitted sid=%s", sid)
            return sid
        profile = sid_of(registration, StepName.CUSTOMER_PROFILE)
        trust = sid_of(registration, StepName.TRUST_PRODUCT)
        if resume:
            # Brands have no friendly name: find ours by its bundles. The list is known
            # to omit some brands (VETTED_VERIFIED), which a just-made brand is not yet.
            listed = calls.read("brand lookup", lambda: list(brands.list(page_size=1000)))
            for brand in listed:
                if (brand.customer_profile_bundle_sid, brand.a2p_profile_bundle_sid) == (
                    profile,
                    trust,
                ):
                    log.info("twilio brand found sid=%s (resumed)", brand.sid)
                    return str(brand.sid)
        options: dict[str, Any] = {"mock": True} if self._mock else {}
        if registration.kind is RegistrationKind.SOLE_PROPRIETOR:
            options["brand_type"] = "SOLE_PROPRIETOR"
        elif registration.kind is RegistrationKind.LOW_VOLUME:
            options["skip_automatic_sec_vet"] = True
        made = calls.act(
            "brand create",
            lambda: brands.create(
                customer_profile_bundle_sid=profile, a2p_profile_bundle_sid=trust, **options
            ),
        )
        log.info("twilio brand registered sid=%s", made.sid)
        return str(made.sid)

    def _service(self, calls: Calls, registration: SenderRegistration, *, resume: bool) -> str:
        services = calls.client.messaging.v1.services
        name = registration.provider_name("messaging_service")
        if resume:
            for service in calls.read(
                "service lookup", lambda: list(services.list(page_size=1000))
            ):
                if text(service, "friendly_name") == name:
                    log.info("twilio service found sid=%s (resumed)", service.sid)
                    return str(service.sid)
        # Numbers keep their own SMS URL (set at purchase): the service must not override it.
        options: dict[str, Any] = {"use_inbound_webhook_on_number": True}
        if self._public_url:
            options["inbound_request_url"] = self._public_url + INBOUND_PATH
        made = calls.act("service create", lambda: services.create(friendly_name=name, **options))
        log.info("twilio messaging service made sid=%s", made.sid)
        return str(made.sid)

    def _campaign(
        self, calls: Calls, registration: SenderRegistration, sid: str | None, *, resume: bool
    ) -> str:
        service_sid = sid_of(registration, StepName.MESSAGING_SERVICE)
        campaigns = calls.client.messaging.v1.services(service_sid).us_app_to_person
        if registration.kind is RegistrationKind.EXISTING or (resume and sid is None):
            existing = calls.read("campaign lookup", lambda: list(campaigns.list()))
            if existing:
                return str(existing[0].sid)
            if registration.kind is RegistrationKind.EXISTING:
                raise ProviderError(reason="the Messaging Service has no campaign to adopt")
        content = registration.details.campaign
        if content is None:
            raise ValueError("a registration's campaign content is set once it is registered")
        fields: dict[str, Any] = {
            "description": content.description,
            "message_flow": content.message_flow,
            "message_samples": list(content.sample_messages),
            "has_embedded_links": content.has_embedded_links,
            "has_embedded_phone": any(_PHONE_IN_TEXT.search(s) for s in content.sample_messages),
        }
        if sid is not None:
            # A failed campaign, corrected: Twilio takes it back into review.
            calls.act(
                "campaign update",
                lambda: campaigns(sid).update(age_gated=False, direct_lending=False, **fields),
            )
            return sid
        made = calls.act(
            "campaign create",
            lambda: campaigns.create(
                brand_registration_sid=sid_of(registration, StepName.BRAND),
                us_app_to_person_usecase=registration.kind.campaign_use_case,
                **fields,
            ),
        )
        log.info("twilio campaign made service=%s", service_sid)
        return str(made.sid)

    # --- plumbing ------------------------------------------------------------------------

    def _require(self) -> Calls:
        if self._calls is None:
            raise SmsNotConfigured()
        if self._primary is None:
            raise SmsNotConfigured(
                reason=f"no primary customer profile ({PRIMARY_PROFILE_VARIABLE})"
            )
        return self._calls

    def _bundles(self, calls: Calls) -> Bundles:
        assert self._primary is not None
        return Bundles(
            calls, primary_profile_sid=self._primary, email=lambda: self._isv_email(calls)
        )

    def _isv_email(self, calls: Calls) -> str:
        if self._email is None:
            primary = calls.client.trusthub.v1.customer_profiles(self._primary)
            try:
                profile = calls.read("primary profile fetch", primary.fetch)
            except ProviderError as error:
                if error.provider_code != NOT_FOUND:
                    raise
                raise SmsNotConfigured(
                    reason=f"the primary customer profile is not in this account"
                    f" ({PRIMARY_PROFILE_VARIABLE})"
                ) from None
            email = text(profile, "email")
            if email is None:
                raise ProviderError(reason="the primary customer profile has no email")
            self._email = email
        return self._email

    def _in_pool(self, calls: Calls, service_sid: str, number_sid: str) -> bool:
        pool = calls.client.messaging.v1.services(service_sid).phone_numbers(number_sid)
        try:
            calls.read("number lookup", pool.fetch)
        except ProviderError as error:
            if error.provider_code == NOT_FOUND:
                return False
            raise
        return True


def _issues(errors: Any, *, code_key: str = "error_code") -> tuple[RegistrationIssue, ...]:
    issues = []
    for item in errors or []:
        if not isinstance(item, dict):
            continue
        code = int_or_none(item.get(code_key, item.get("code")))
        fields = item.get("fields") or []
        issues.append(
            RegistrationIssue(
                code=code,
                description=str(item.get("description") or f"Twilio error {code}"),
                field=str(fields[0]) if fields else None,
            )
        )
    return tuple(issues)


def _bundle_status(bundle: Any) -> StepStatus:
    raw = text(bundle, "status") or ""
    state = _BUNDLE_STATES.get(raw, StepState.IN_REVIEW)
    issues = _issues(bundle.errors, code_key="code") if state is StepState.REJECTED else ()
    return StepStatus(state, provider_status=raw, issues=issues)


def _brand_status(brand: Any) -> StepStatus:
    raw, identity = text(brand, "status") or "", text(brand, "identity_status")
    state = _BRAND_STATES.get(raw, StepState.IN_REVIEW)
    issues = _issues(brand.errors) if state in (StepState.REJECTED, StepState.SUSPENDED) else ()
    if state is StepState.APPROVED and identity in {"UNVERIFIED", None}:
        if text(brand, "brand_type") == "SOLE_PROPRIETOR":
            # Approved by the registry, waiting for the owner's YES to its text.
            state = StepState.VERIFYING
        elif identity == "UNVERIFIED":
            state = StepState.REJECTED
            issues = (RegistrationIssue(None, "the registry could not verify the business"),)
    shown = f"{raw}/{identity}" if identity else raw
    return StepStatus(state, provider_status=shown, issues=issues)


def _campaign_status(campaign: Any) -> StepStatus:
    raw = text(campaign, "campaign_status") or ""
    state = _CAMPAIGN_STATES.get(raw, StepState.IN_REVIEW)
    issues = _issues(campaign.errors) if state in (StepState.REJECTED, StepState.SUSPENDED) else ()
    return StepStatus(state, provider_status=raw, issues=issues)


def _gone(step: StepName) -> StepStatus:
    if step is StepName.NUMBER:
        return StepStatus(StepState.PENDING, provider_status="not-in-service")
    issue = RegistrationIssue(NOT_FOUND, f"the {step} no longer exists at Twilio")
    return StepStatus(StepState.REJECTED, provider_status="missing", issues=(issue,))


def _conforms(registry: TwilioSenderRegistry) -> SenderRegistry:
    return registry  # mypy proves the adapter satisfies the port


__all__ = ["CAMPAIGN_SID", "REGISTRATION_PATH", "TwilioSenderRegistry"]
