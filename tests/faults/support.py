"""Fault-injection helpers: a provider that notes every send to an opted-out phone
and the invariant check (the unit of work that fails on cue is
:class:`neariq_sms.testing.FaultyUnitOfWork`, re-exported here).

The invariants, stated once (every fault test and the load run check them):

1. **No message sent twice.** Every message the provider sent carries its sid
   on exactly one of our messages (after reconcile), so the provider sent as
   many messages as we recorded sids.
2. **Allowance.** For every business and period, ``used`` equals the sum of
   the ``units`` of that period's messages. A message holds ``units ==
   segments`` or ``0``; ``0`` only when it is failed or canceled *and the
   provider never sent it*; a message the provider sent always holds its
   segments (an asynchronous failure, reported by a status callback, was
   accepted and billed, so it keeps them). That is the issue's "units used ==
   segments of the messages not failed", with failed meaning refunded.
3. **No number bought and left unrecorded.** After reconcile every number
   the provider holds for us is the active number of exactly one business,
   with the provider's sid, and no claim is left pending.
4. **No opted-out phone messaged.** No send reached the provider while the
   recipient's consent record said opted out.
5. **Nothing left submitting** after reconcile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from neariq_sms.adapters.memory import SimulatedTelephony
from neariq_sms.domain import (
    MessageStatus,
    NumberStatus,
    PhoneNumber,
    SentMessage,
)
from neariq_sms.ports import UnitOfWork
from neariq_sms.testing import FaultyUnitOfWork, StorageDown, Where

__all__ = [
    "FaultyUnitOfWork",
    "GuardedTelephony",
    "ProviderView",
    "StorageDown",
    "Where",
    "violations",
]


class GuardedTelephony(SimulatedTelephony):
    """The simulator, noting every send that reaches it for an opted-out recipient.

    It reads consent through ``storage`` (the healthy unit of work): the
    provider call runs outside any transaction, so the read is what a
    concurrent observer would see at that moment.
    """

    def __init__(self, storage: UnitOfWork, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.storage = storage
        self.sent_to_opted_out: list[tuple[PhoneNumber, PhoneNumber]] = []

    def send(
        self, *, from_: PhoneNumber, to: PhoneNumber, body: str, message_id: str | None = None
    ) -> SentMessage:
        with self.storage:
            number = next(
                (
                    n
                    for b in self.storage.businesses.list()
                    if (n := self.storage.numbers.holding(b.id)) is not None and n.number == from_
                ),
                None,
            )
            consent = None if number is None else self.storage.consents.get(number.business_id, to)
        if consent is not None and consent.opted_out:
            self.sent_to_opted_out.append((from_, to))
        return super().send(from_=from_, to=to, body=body, message_id=message_id)


@attrs.frozen
class ProviderView:
    """What the provider account holds: sent messages by sid, numbers by sid."""

    sent: Mapping[str, tuple[PhoneNumber, PhoneNumber, str]]
    owned: Mapping[str, PhoneNumber]
    sent_to_opted_out: int = 0

    @classmethod
    def of_fake(cls, fake: Any) -> ProviderView:
        """The account of a ``tests.twilio.fake_twilio.FakeTwilio``."""
        with fake.lock:
            return cls(
                sent={
                    m["sid"]: (PhoneNumber(m["from"]), PhoneNumber(m["to"]), m["body"])
                    for m in fake.messages
                },
                owned={sid: PhoneNumber(r["phone_number"]) for sid, r in fake.owned.items()},
            )

    @classmethod
    def of(cls, telephony: SimulatedTelephony) -> ProviderView:
        opted_out = len(getattr(telephony, "sent_to_opted_out", ()))
        return cls(
            sent={m.sid: (m.from_, m.to, m.body) for m in telephony.sent},
            owned=dict(telephony.owned),
            sent_to_opted_out=opted_out,
        )


def violations(
    uow: UnitOfWork, provider: ProviderView, *, periods: Iterable[str] = ()
) -> list[str]:
    """Every broken invariant (see the module docstring), read through the port."""
    found: list[str] = []
    recorded: dict[str, str] = {}
    active: dict[str, PhoneNumber] = {}
    with uow:
        businesses = list(uow.businesses.list())
        for business in businesses:
            messages = list(uow.messages.for_business(business.id))
            months = set(periods) | {m.period for m in messages}
            for period in sorted(months):
                used = uow.allowances.used(business.id, period)
                units = sum(m.units for m in messages if m.period == period)
                if used != units:
                    found.append(f"{business.id} {period}: used {used} != units {units}")
            for m in messages:
                if m.status is MessageStatus.SUBMITTING:
                    found.append(f"message {m.id} left submitting")
                if m.units not in (0, m.segments):
                    found.append(f"message {m.id} holds {m.units} of {m.segments} units")
                if m.provider_sid is not None:
                    if m.provider_sid in recorded:
                        found.append(f"sid {m.provider_sid} recorded twice")
                    recorded[m.provider_sid] = m.id
                    if m.units != m.segments:
                        found.append(f"message {m.id} went out but gave its units back")
                if m.units == 0 and m.status not in (MessageStatus.FAILED, MessageStatus.CANCELED):
                    found.append(f"message {m.id} is {m.status.value} with no units")
            for n in uow.numbers.history(business.id):
                if n.status is NumberStatus.PENDING:
                    found.append(f"claim {n.number} of {business.id} left pending")
                if n.status is NumberStatus.ACTIVE:
                    if n.provider_sid is None or n.provider_sid in active:
                        found.append(f"active number {n.number} has a bad sid {n.provider_sid}")
                    else:
                        active[n.provider_sid] = n.number
    for sid, (from_, to, _) in provider.sent.items():
        if sid not in recorded:
            found.append(f"provider sent {sid} {from_}->{to} that no message records")
    for sid, number in provider.owned.items():
        if active.get(sid) != number:
            found.append(f"provider holds {number} ({sid}) that no business holds")
    for sid, number in active.items():
        if sid not in provider.owned:
            found.append(f"{number} is active but the provider does not hold it ({sid})")
    if provider.sent_to_opted_out:
        found.append(f"{provider.sent_to_opted_out} send(s) to an opted-out recipient")
    return found
