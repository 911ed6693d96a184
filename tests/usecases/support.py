"""Helpers for use-case tests: a storage snapshot read through the port and a
ready business."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock, SimulatedTelephony
from neariq_sms.domain import Business, PhoneNumber, Policy, period_of
from neariq_sms.ports import UnitOfWork

CUSTOMER = "+15557654321"
OTHER_CUSTOMER = "+15557654322"
AUSTIN_NUMBER = "+15125550123"


def snapshot(
    uow: UnitOfWork, *, phones: Iterable[str] = (), periods: Iterable[str] = ()
) -> dict[str, Any]:
    """Everything storage holds for every business, read through the port only.

    Two snapshots are equal exactly when no row was written, changed or deleted
    (for the given extra phones and allowance periods, plus the ones storage mentions).
    """
    extra = {PhoneNumber(p) for p in phones}
    with uow:
        businesses = list(uow.businesses.list())
        state: dict[str, Any] = {"businesses": businesses}
        for business in businesses:
            consents = list(uow.consents.in_phone_order(business.id, after=None, limit=10**9))
            messages = list(uow.messages.for_business(business.id))
            known = extra | {c.phone for c in consents} | {m.to for m in messages}
            months = set(periods) | {m.period for m in messages}
            state[business.id] = {
                "numbers": list(uow.numbers.history(business.id)),
                "consents": consents,
                "events": {p: list(uow.consents.events(business.id, p)) for p in known},
                "messages": messages,
                "inbound": {
                    p: list(uow.inbound.for_sender(business.id, p, before=None, limit=10_000))
                    for p in known
                },
                "used": {m: uow.allowances.used(business.id, m) for m in months},
                "threads": list(uow.conversations.page(business.id, before=None, limit=10**6)),
            }
    return state


def provider_state(telephony: SimulatedTelephony) -> tuple[Any, ...]:
    """What the simulated provider did so far: calls, owned numbers, messages."""
    return (dict(telephony.calls), dict(telephony.owned), list(telephony.sent))


def used(uow: UnitOfWork, business_id: str, clock: ManualClock) -> int:
    with uow:
        return uow.allowances.used(business_id, period_of(clock.now()))


def ready_business(
    uow: UnitOfWork,
    telephony: SimulatedTelephony,
    clock: ManualClock,
    *,
    name: str = "Aster Grove Fitness",
    plan: str = "growth",
    number: str = AUSTIN_NUMBER,
    consent: Iterable[str] = (CUSTOMER,),
    **kwargs: Any,
) -> Business:
    """A business with an active number and consent from the given customers."""
    business = uc.create_business(
        name, plan, uow=uow, clock=clock, review_url="https://g.page/r/aster", **kwargs
    )
    uc.provision_number(business.id, number, uow=uow, telephony=telephony, clock=clock)
    for phone in consent:
        uc.record_consent(business.id, phone, "point_of_sale", uow=uow, clock=clock)
    return business


def policy(**limits: int) -> Policy:
    """A policy with the given plan limits (``growth=3``), other values default."""
    from neariq_sms.domain import Plan

    return Policy(monthly_allowance={Plan(k): v for k, v in limits.items()})
