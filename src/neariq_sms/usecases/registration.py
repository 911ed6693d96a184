"""A business registers as a US sender; the number joins its Messaging Service.

``register_sender`` only stores what the business submitted (``submitted``):
the provider calls are :func:`~neariq_sms.usecases.registration_sync.sync_registrations`'s,
which runs from cron and may take weeks to reach ``approved``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

from neariq_sms.domain.business import SmsNumber
from neariq_sms.domain.errors import (
    InvalidField,
    MissingField,
    RegistrationInProgress,
    RegistrationRequired,
    SmsError,
    SmsNotConfigured,
)
from neariq_sms.domain.parsing import parse_text
from neariq_sms.domain.registration import (
    RESUBMITTABLE,
    RegistrationKind,
    SenderRegistration,
    StepName,
    StepState,
)
from neariq_sms.domain.registration_campaign import propose_campaign
from neariq_sms.domain.registration_input import RegistrationDetails, parse_registration_details
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.registry import SenderRegistry
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.usecases._common import active_business, log

_SERVICE_SID = re.compile(r"^MG[0-9a-f]{32}$")


def parse_kind(raw: object) -> RegistrationKind:
    text = parse_text(raw, "kind").strip()
    try:
        return RegistrationKind(text)
    except ValueError:
        names = ", ".join(k.value for k in RegistrationKind)
        raise InvalidField("kind", f"must be one of {names}") from None


def parse_registration(
    request: Mapping[str, object],
) -> tuple[RegistrationKind, RegistrationDetails, str | None]:
    """The kind, details and (``existing`` only) adopted service of a ``register``
    request's fields (``kind``, ``business``, ``representative``, ``campaign``,
    ``messagingServiceSid``).

    Raises:
        MissingField, InvalidField (naming the path), InvalidPhone.
    """
    kind = parse_kind(request.get("kind"))
    if kind is RegistrationKind.EXISTING:
        raw = request.get("messagingServiceSid")
        if raw is None or raw == "":
            raise MissingField("messagingServiceSid")
        if not isinstance(raw, str) or not _SERVICE_SID.match(raw):
            raise InvalidField("messagingServiceSid", "must be a Messaging Service sid (MG…)")
        return kind, RegistrationDetails(None, None), raw
    details = parse_registration_details(
        sole_proprietor=kind is RegistrationKind.SOLE_PROPRIETOR,
        business=request.get("business"),
        representative=request.get("representative"),
        campaign=request.get("campaign"),
    )
    return kind, details, None


def register_sender(
    business_id: str,
    request: Mapping[str, object],
    *,
    uow: UnitOfWork,
    registry: SenderRegistry | None,
    clock: Clock,
) -> SenderRegistration:
    """Store the business's registration as ``submitted`` for the next sync, or,
    after ``rejected`` or ``suspended``, resubmit it with the corrections.

    ``request`` holds the HTTP contract's fields (see :func:`parse_registration`).
    Without ``campaign`` the campaign is proposed from the business's own
    templates. Nothing reaches the provider here.

    Raises:
        MissingField, InvalidField, InvalidPhone, BusinessNotFound,
        SmsNotConfigured (no registry), PlanRequired,
        RegistrationInProgress (one in flight, or approved: 409).
    """
    kind, details, service = parse_registration(request)
    now = clock.now()
    with uow:
        business = active_business(uow, business_id)
        if registry is None or not registry.configured:
            raise SmsNotConfigured(reason="no sender registry configured")
        business.plan.require_sms()
        current = uow.registrations.current(business.id, for_update=True)
        if current is not None and current.status not in RESUBMITTABLE:
            raise RegistrationInProgress(state=current.status.value)
        if details.campaign is None and kind is not RegistrationKind.EXISTING:
            website = details.business.website if details.business else None
            campaign = propose_campaign(business, website=website)
            details = RegistrationDetails(details.business, details.representative, campaign)
        if current is None:
            registration = SenderRegistration.draft(
                id=uuid.uuid4().hex, business_id=business.id, kind=kind, details=details,
                now=now, messaging_service_sid=service,
            ).submit(now)  # fmt: skip
            uow.registrations.add(registration)
        elif current.kind is not kind:
            raise InvalidField("kind", f"must stay {current.kind.value} when resubmitting")
        else:
            registration = current.resubmit(details, now)
            uow.registrations.update(registration)
        uow.commit()
    log.info("registration submitted business=%s kind=%s", business.id, kind.value)
    return registration


def get_registration(business_id: str, *, uow: UnitOfWork) -> SenderRegistration | None:
    """The business's current registration, or ``None``. Raises ``BusinessNotFound``."""
    with uow.reading():
        business = active_business(uow, business_id)
        return uow.registrations.current(business.id)


def resend_registration_otp(
    business_id: str, *, uow: UnitOfWork, registry: SenderRegistry
) -> SenderRegistration:
    """Text a sole proprietor's owner the confirmation request again (it expires
    after 24 hours). Only while the brand waits for the owner's YES.

    Raises:
        BusinessNotFound, SmsNotConfigured, RegistrationRequired (none),
        InvalidField (``kind``: not a sole proprietor; ``action``: no confirmation
        awaited), ProviderError.
    """
    with uow.reading():
        business = active_business(uow, business_id)
        registration = uow.registrations.current(business.id)
    if not registry.configured:
        raise SmsNotConfigured(reason="no sender registry configured")
    if registration is None:
        raise RegistrationRequired()
    if registration.kind is not RegistrationKind.SOLE_PROPRIETOR:
        raise InvalidField("kind", "only a sole proprietor's registration is confirmed by text")
    brand = registration.step(StepName.BRAND)
    if brand.state is not StepState.VERIFYING or brand.sid is None:
        raise InvalidField("action", "no confirmation text is awaited for this registration")
    registry.resend_otp(brand.sid)
    return registration


def attach_number(
    business_id: str,
    number: SmsNumber,
    *,
    uow: UnitOfWork,
    registry: SenderRegistry,
    clock: Clock,
) -> None:
    """Put the business's active number into its Messaging Service, when both exist
    and it is not there yet; the ``number`` step records it. A provider failure
    is logged and left for the next sync (the number stays bought)."""
    with uow.reading():
        registration = uow.registrations.current(business_id)
    service = registration.messaging_service_sid if registration else None
    if registration is None or service is None or number.provider_sid is None:
        return
    if registration.step(StepName.NUMBER).sid == number.provider_sid:
        return
    try:
        registry.add_number(service, number.provider_sid)
    except SmsError as exc:
        log.warning("number not added to its service business=%s: %s", business_id, exc.code)
        return
    with uow:
        current = uow.registrations.current(business_id, for_update=True)
        if current is not None and current.id == registration.id:
            uow.registrations.update(current.with_number(number.provider_sid, now=clock.now()))
            uow.commit()


def detach_number(
    business_id: str,
    number: SmsNumber,
    *,
    uow: UnitOfWork,
    registry: SenderRegistry,
    clock: Clock,
) -> None:
    """Take the number out of the business's Messaging Service before it is released.

    Raises ``ProviderError`` (the release then does not happen).
    """
    with uow.reading():
        registration = uow.registrations.current(business_id)
    service = registration.messaging_service_sid if registration else None
    if registration is None or service is None or number.provider_sid is None:
        return
    registry.remove_number(service, number.provider_sid)
    with uow:
        current = uow.registrations.current(business_id, for_update=True)
        if current is not None:
            uow.registrations.update(current.without_number(now=clock.now()))
            uow.commit()


__all__ = [
    "attach_number",
    "detach_number",
    "get_registration",
    "parse_registration",
    "register_sender",
    "resend_registration_otp",
]
