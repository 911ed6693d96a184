"""Business operations the reference server and the CLI need."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import attrs

from neariq_sms.domain.business import MAX_BUSINESS_NAME, Business, NumberStatus
from neariq_sms.domain.errors import BusinessNotFound, InvalidField, SmsNotConfigured
from neariq_sms.domain.parsing import parse_template, parse_text, parse_timezone
from neariq_sms.domain.plans import Plan
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.ports.telephony import TelephonyProvider
from neariq_sms.usecases._common import log
from neariq_sms.usecases.numbers import release_number
from neariq_sms.usecases.sending import _cancel


def _check_url(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    if not raw.startswith(("https://", "http://")) or len(raw) > 500 or not raw.isprintable():
        raise InvalidField("review_url", "must be an http(s) URL of at most 500 characters")
    return raw


def create_business(
    name: object,
    plan: object,
    *,
    uow: UnitOfWork,
    clock: Clock,
    review_url: str | None = None,
    timezone: str = "America/Chicago",
    review_template: str | None = None,
    business_id: str | None = None,
) -> Business:
    """Create an active business. Raises ``InvalidField`` or ``BusinessConflict``."""
    text = parse_text(name, "name").strip()
    if len(text) > MAX_BUSINESS_NAME or not text.isprintable():
        raise InvalidField("name", f"must be printable and at most {MAX_BUSINESS_NAME} characters")
    business = Business(
        id=business_id or str(uuid.uuid4()),
        name=text,
        plan=Plan.parse(plan),
        created_at=clock.now(),
        review_url=_check_url(review_url),
        timezone=parse_timezone(timezone),
        review_template=parse_template(review_template) if review_template else None,
    )
    with uow:
        uow.businesses.add(business)
        uow.commit()
    log.info("business created id=%s plan=%s", business.id, business.plan.value)
    return business


def _change(
    uow: UnitOfWork, business_id: str, *, plan: Plan | None = None, active: bool | None = None
) -> Business:
    with uow:
        business = uow.businesses.get(business_id, for_update=True)
        if business is None:
            raise BusinessNotFound(business_id=business_id)
        updated = attrs.evolve(
            business,
            plan=business.plan if plan is None else plan,
            active=business.active if active is None else active,
        )
        uow.businesses.update(updated)
        uow.commit()
    return updated


def change_plan(business_id: str, plan: object, *, uow: UnitOfWork) -> Business:
    """Move a business to another plan. A downgrade below Growth keeps the number
    (release stays allowed) but blocks search, provision and send; scheduled
    messages are canceled at dispatch."""
    return _change(uow, business_id, plan=Plan.parse(plan))


def deactivate_business(
    business_id: str,
    *,
    uow: UnitOfWork,
    clock: Clock,
    telephony: TelephonyProvider | None = None,
) -> Business:
    """Deactivate a business: its number is released at the provider first,
    then its scheduled messages are canceled and refunded. Afterwards every
    operation for it answers ``BusinessNotFound``; a second call changes nothing.

    A business holding an active number needs the provider that sold it:
    without one (``telephony`` omitted or not configured) the call raises
    ``SmsNotConfigured`` and changes nothing, rather than leave a number the
    account keeps paying for behind an inactive business. A provider failure
    (``ProviderError``) likewise leaves the business as it was.

    Raises:
        BusinessNotFound, SmsNotConfigured, ProviderError.
    """
    with uow:
        number = uow.numbers.holding(business_id)
    if number is not None and number.status is NumberStatus.ACTIVE:
        if telephony is None:
            raise SmsNotConfigured()
        release_number(business_id, uow=uow, telephony=telephony, clock=clock)
    now = clock.now()
    with uow:
        for message in uow.messages.scheduled_for(business_id):
            _cancel(message, uow=uow, now=now)
        uow.commit()
    return _change(uow, business_id, active=False)


def reactivate_business(business_id: str, *, uow: UnitOfWork) -> Business:
    """Make a deactivated business active again, on the plan it had. Idempotent.

    Deactivation released its number and canceled its scheduled messages; those stay
    as they are: it provisions a number again to send. Consent records and opt-outs
    were kept throughout and apply again as they were.

    Raises:
        BusinessNotFound: no business has that id.
    """
    return _change(uow, business_id, active=True)


def list_businesses(*, uow: UnitOfWork) -> Sequence[Business]:
    with uow:
        return list(uow.businesses.list())


__all__ = [
    "change_plan",
    "create_business",
    "deactivate_business",
    "list_businesses",
    "reactivate_business",
]
