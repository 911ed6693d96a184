"""The business's SMS number: status, search, provision, release."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import attrs

from neariq_sms.domain.allowance import Allowance, period_of
from neariq_sms.domain.business import (
    AvailableNumber,
    Business,
    NumberStatus,
    PurchasedNumber,
    SmsNumber,
)
from neariq_sms.domain.errors import (
    DuplicateNumber,
    NoSmsNumber,
    NumberAlreadyProvisioned,
    ProviderError,
    SmsError,
)
from neariq_sms.domain.parsing import parse_area_code, parse_limit, parse_phone
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import DEFAULT_POLICY, Policy
from neariq_sms.domain.registration import SenderRegistration
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.registry import SenderRegistry
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.ports.telephony import TelephonyProvider
from neariq_sms.usecases._common import (
    active_business,
    business_with_number,
    load_business,
    log,
    require_configured,
    require_sms_plan,
)
from neariq_sms.usecases.outbound import cancel_all_scheduled
from neariq_sms.usecases.registration import attach_number, detach_number

MAX_SEARCH_LIMIT = 50
DEFAULT_SEARCH_LIMIT = 20


@attrs.frozen
class SmsStatus:
    """What ``GET /api/sms`` reports."""

    configured: bool
    business: Business
    number: SmsNumber | None
    allowance: Allowance
    registration: SenderRegistration | None = None
    registration_required: bool = False

    @property
    def sms_enabled(self) -> bool:
        """The business can send now: plan, active number, and an approved
        registration where one is required."""
        registered = not self.registration_required or (
            self.registration is not None and self.registration.approved
        )
        return self.business.plan.includes_sms and self.number is not None and registered


@attrs.frozen
class ProvisionResult:
    number: str
    sid: str


def get_status(
    business_id: str,
    *,
    uow: UnitOfWork,
    telephony: TelephonyProvider,
    clock: Clock,
    policy: Policy = DEFAULT_POLICY,
) -> SmsStatus:
    """The business, its active number (if any) and this month's allowance. Read-only."""
    period = period_of(clock.now())
    with uow.reading():
        business, number = business_with_number(uow, business_id)
        business = active_business(uow, business_id, business)
        used = uow.allowances.used(business.id, period)
        registration = uow.registrations.current(business.id)
    active = number if number is not None and number.status is NumberStatus.ACTIVE else None
    allowance = Allowance(business.id, period, policy.allowance_for(business.plan), used)
    return SmsStatus(
        telephony.configured, business, active, allowance, registration,
        policy.registration_required,
    )  # fmt: skip


def search_numbers(
    business_id: str,
    area_code: str,
    limit: int | None = None,
    *,
    uow: UnitOfWork,
    telephony: TelephonyProvider,
) -> Sequence[AvailableNumber]:
    """SMS-capable numbers for sale in an area code, at most ``limit`` (default
    :data:`DEFAULT_SEARCH_LIMIT`). Changes nothing.

    Raises:
        InvalidField, BusinessNotFound, SmsNotConfigured, PlanRequired, ProviderError.
    """
    code = parse_area_code(area_code)
    count = parse_limit(limit, default=DEFAULT_SEARCH_LIMIT, maximum=MAX_SEARCH_LIMIT)
    business = load_business(uow, business_id)
    require_configured(telephony)
    require_sms_plan(business)
    return list(telephony.search_available(code, count))[:count]


def provision_number(
    business_id: str,
    phone_number: PhoneNumber | str,
    *,
    uow: UnitOfWork,
    telephony: TelephonyProvider,
    clock: Clock,
    policy: Policy = DEFAULT_POLICY,
    registry: SenderRegistry | None = None,
) -> ProvisionResult:
    """Buy a number for the business; with a ``registry``, the number then joins the
    business's Messaging Service when it has one (a registered sender).

    The slot is claimed in storage first (a ``pending`` row that the
    one-number-per-business and one-business-per-number constraints cover),
    so that of many concurrent requests only one ever pays the provider. Then
    the purchase; then the row becomes ``active``. If the purchase fails the
    claim is dropped, unless its outcome is unknown (a timeout: the claim
    stays for :func:`~neariq_sms.usecases.reconcile.reconcile`); if storing
    fails after the purchase, the number is released again, so no paid number
    is left orphaned. A process killed in between leaves a claim or a number
    no business holds, which reconcile settles too.

    ``phone_number`` may be text, parsed in the policy's region. The business,
    provider and plan are checked in the claim's own transaction.

    Raises:
        MissingField, InvalidField, InvalidPhone, BusinessNotFound,
        SmsNotConfigured, PlanRequired, NumberAlreadyProvisioned,
        DuplicateNumber, NumberUnavailable, ProviderError.
    """
    number = parse_phone(phone_number, field="phoneNumber", region=policy.default_region)
    claim = _claim(business_id, number, uow=uow, telephony=telephony, now=clock.now())
    try:
        purchased = telephony.purchase(number)
    except SmsError as exc:
        if isinstance(exc, ProviderError) and exc.ambiguous:
            # The provider may have sold us the number: keep the claim (the slot
            # stays held) for reconcile, which activates it or drops it.
            log.warning("purchase outcome unknown, claim kept for reconciliation number=%s", number)
            raise
        with uow:
            uow.numbers.delete(claim.id)
            uow.commit()
        raise
    _store_purchase(claim, purchased, uow=uow, telephony=telephony)
    log.info("number provisioned business=%s number=%s", claim.business_id, number)
    if registry is not None:
        active = claim.activated(purchased)
        attach_number(claim.business_id, active, uow=uow, registry=registry, clock=clock)
    return ProvisionResult(number=number.e164, sid=purchased.provider_sid)


def _claim(
    business_id: str,
    number: PhoneNumber,
    *,
    uow: UnitOfWork,
    telephony: TelephonyProvider,
    now: datetime,
) -> SmsNumber:
    """The first step of a purchase: every rule checked and the slot claimed, in one
    transaction (the one-number constraints make concurrent claims lose here)."""
    with uow:
        business = active_business(uow, business_id)
        require_configured(telephony)
        require_sms_plan(business)
        held = uow.numbers.holding(business.id)
        if held is not None:
            raise NumberAlreadyProvisioned(number=held.number.e164)
        if uow.numbers.holder_of(number) is not None:
            raise DuplicateNumber(number=number.e164)
        claim = SmsNumber(
            id=uuid.uuid4().hex,
            business_id=business.id,
            number=number,
            status=NumberStatus.PENDING,
            created_at=now,
        )
        uow.numbers.add(claim)
        uow.commit()
    return claim


def _store_purchase(
    claim: SmsNumber, purchased: PurchasedNumber, *, uow: UnitOfWork, telephony: TelephonyProvider
) -> None:
    """The last step: the claim becomes active. If that cannot be stored the number
    is released again (and its claim dropped), so no paid number is left orphaned."""
    try:
        with uow:
            uow.numbers.update(claim.activated(purchased))
            uow.commit()
    except BaseException:
        log.exception("storing a purchased number failed; releasing it number=%s", claim.number)
        try:
            telephony.release(purchased.provider_sid)
        except Exception:
            log.exception("compensating release failed sid=%s", purchased.provider_sid)
        else:
            # The number is gone again: drop the claim too, or the business would
            # hold a pending slot forever. Storage may still be down: best effort.
            try:
                with uow:
                    uow.numbers.delete(claim.id)
                    uow.commit()
            except Exception:
                log.exception("dropping the claim of a released number failed id=%s", claim.id)
        raise


def release_number(
    business_id: str,
    *,
    uow: UnitOfWork,
    telephony: TelephonyProvider,
    clock: Clock,
    registry: SenderRegistry | None = None,
) -> SmsNumber:
    """Release the business's number (allowed on every plan).

    With a ``registry`` the number leaves the business's Messaging Service
    first. Calls the provider, then marks the number released (the row stays
    as history), cancels the business's scheduled messages and gives their
    allowance back.

    Raises:
        BusinessNotFound, SmsNotConfigured, NoSmsNumber, ProviderError.
    """
    now = clock.now()
    load_business(uow, business_id)
    require_configured(telephony)
    with uow:
        number = uow.numbers.holding(business_id)
    if number is None or not number.active or number.provider_sid is None:
        raise NoSmsNumber()
    if registry is not None:
        detach_number(business_id, number, uow=uow, registry=registry, clock=clock)
    return release_held_number(number, uow=uow, telephony=telephony, now=now)


def release_held_number(
    number: SmsNumber, *, uow: UnitOfWork, telephony: TelephonyProvider, now: datetime
) -> SmsNumber:
    """The step a release and a deactivation share, for an active number: the
    provider first, then the row marked released (kept as history) and every
    scheduled message of the business canceled and refunded.

    Raises:
        NoSmsNumber: the number has no provider sid; ProviderError.
    """
    if number.provider_sid is None:
        raise NoSmsNumber()
    telephony.release(number.provider_sid)
    released = number.released(now=now)
    with uow:
        uow.numbers.update(released)
        canceled = cancel_all_scheduled(uow, number.business_id, now=now)
        uow.commit()
    log.info(
        "number released business=%s number=%s canceled=%d",
        number.business_id,
        number.number,
        canceled,
    )
    return released


__all__ = [
    "ProvisionResult",
    "SmsStatus",
    "get_status",
    "provision_number",
    "release_held_number",
    "release_number",
    "search_numbers",
]
