"""Business operations the reference server and the CLI need."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from neariq_sms.domain.business import DEFAULT_TIMEZONE, Business
from neariq_sms.domain.errors import BusinessNotFound, SmsNotConfigured
from neariq_sms.domain.plans import Plan
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.ports.telephony import TelephonyProvider
from neariq_sms.usecases._common import log
from neariq_sms.usecases.numbers import release_held_number
from neariq_sms.usecases.outbound import cancel_all_scheduled


def create_business(
    name: object,
    plan: object,
    *,
    uow: UnitOfWork,
    clock: Clock,
    review_url: str | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    review_template: str | None = None,
    reminder_template: str | None = None,
    business_id: str | None = None,
) -> Business:
    """Create an active business. Raises ``MissingField``, ``InvalidField`` (see
    :meth:`Business.create`) or ``BusinessConflict``."""
    business = Business.create(
        name,
        plan,
        id=business_id or str(uuid.uuid4()),
        created_at=clock.now(),
        review_url=review_url,
        timezone=timezone,
        review_template=review_template,
        reminder_template=reminder_template,
    )
    with uow:
        uow.businesses.add(business)
        uow.commit()
    log.info("business created id=%s plan=%s", business.id, business.plan.value)
    return business


def _change(
    uow: UnitOfWork, business_id: str, transition: Callable[[Business], Business]
) -> Business:
    with uow:
        business = uow.businesses.get(business_id, for_update=True)
        if business is None:
            raise BusinessNotFound(business_id=business_id)
        updated = transition(business)
        uow.businesses.update(updated)
        uow.commit()
    return updated


def change_plan(business_id: str, plan: object, *, uow: UnitOfWork) -> Business:
    """Move a business to another plan. A downgrade below Growth keeps the number
    (release stays allowed) but blocks search, provision and send; scheduled
    messages are canceled at dispatch."""
    new_plan = Plan.parse(plan)
    return _change(uow, business_id, lambda business: business.with_plan(new_plan))


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
    if number is not None and number.active:
        if telephony is None or not telephony.configured:
            raise SmsNotConfigured()
        release_held_number(number, uow=uow, telephony=telephony, now=clock.now())
    now = clock.now()
    with uow:
        cancel_all_scheduled(uow, business_id, now=now)
        uow.commit()
    return _change(uow, business_id, Business.deactivated)


def reactivate_business(business_id: str, *, uow: UnitOfWork) -> Business:
    """Make a deactivated business active again, on the plan it had. Idempotent.

    Deactivation released its number and canceled its scheduled messages; those stay
    as they are: it provisions a number again to send. Consent records and opt-outs
    were kept throughout and apply again as they were.

    Raises:
        BusinessNotFound: no business has that id.
    """
    return _change(uow, business_id, Business.reactivated)


def list_businesses(*, uow: UnitOfWork) -> Sequence[Business]:
    with uow.reading():
        return list(uow.businesses.list())


__all__ = [
    "change_plan",
    "create_business",
    "deactivate_business",
    "list_businesses",
    "reactivate_business",
]
