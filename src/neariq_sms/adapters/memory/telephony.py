"""The sandbox provider: a deterministic, scriptable stand-in for Twilio.

Its numbers lie in the fictional 555-01XX range of the requested area code;
area code 512's first result is the spec's ``+15125550123``. Sids look like
Twilio's and never repeat (random, not counted: processes sharing a database
and restarts must not collide). Failures can be scripted per operation to
exercise every path.

What the provider "holds" (numbers bought, messages accepted) lives in a
:class:`SandboxState`: :class:`MemoryState` in this process by default, or a
shared one (``adapters.sql.sandbox.SqlSandboxState``) so that every process on
one database sees one provider account.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal, Protocol

import attrs
import phonenumbers

from neariq_sms.adapters.memory.scripted import Failure, FailureScript
from neariq_sms.domain.business import AvailableNumber, PurchasedNumber
from neariq_sms.domain.errors import (
    NumberUnavailable,
    ProviderError,
    RecipientOptedOut,
    SmsError,
)
from neariq_sms.domain.messages import MessageStatus, ProviderMessage, SentMessage
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.telephony import TelephonyProvider

#: The code the simulator reports, as Twilio does, for a recipient that opted out at the carrier.
UNSUBSCRIBED_RECIPIENT = 21610

Operation = Literal["search", "purchase", "release", "send", "find_messages", "owned_numbers"]

_FIRST_LINE, _LAST_LINE = 123, 199
_LOCALITIES = {
    "206": ("Seattle", "WA"),
    "212": ("New York", "NY"),
    "213": ("Los Angeles", "CA"),
    "303": ("Denver", "CO"),
    "305": ("Miami", "FL"),
    "312": ("Chicago", "IL"),
    "404": ("Atlanta", "GA"),
    "415": ("San Francisco", "CA"),
    "512": ("Austin", "TX"),
    "617": ("Boston", "MA"),
    "702": ("Las Vegas", "NV"),
    "713": ("Houston", "TX"),
}


def _locality(area_code: str, number: PhoneNumber) -> tuple[str | None, str | None]:
    if area_code in _LOCALITIES:
        return _LOCALITIES[area_code]
    # Imported here: its data takes a second to load, which every command would pay.
    from phonenumbers import geocoder

    description = geocoder.description_for_number(phonenumbers.parse(number.e164), "en")
    city, _, state = description.partition(", ")
    return (city, state) if state else (None, description or None)


@attrs.frozen
class SentSms:
    """A message the simulator accepted."""

    sid: str
    from_: PhoneNumber
    to: PhoneNumber
    body: str
    sent_at: datetime
    #: Our id of the message, which a real provider's status callback would carry.
    message_id: str | None = None
    #: The Messaging Service it went through (a registered sender), if any.
    messaging_service_sid: str | None = None


class SandboxState(Protocol):
    """The account a simulated provider holds: bought numbers and accepted messages.

    Each method is atomic on its own; the simulator needs no more (a real
    provider gives no more either).
    """

    def owned(self) -> dict[str, PhoneNumber]:
        """Every number the account holds, by sid."""
        ...

    def owns(self, number: PhoneNumber) -> bool: ...

    def taken(self, prefix: str) -> set[PhoneNumber]:
        """The held numbers whose E.164 form starts with ``prefix``."""
        ...

    def buy(self, sid: str, number: PhoneNumber) -> bool:
        """Hold ``number`` under ``sid``; False (and nothing changed) when it is held already."""
        ...

    def release(self, sid: str) -> None:
        """Let go of the number held under ``sid``; nothing when there is none."""
        ...

    def record(self, message: SentSms) -> bool:
        """Keep an accepted message if and only if its sender is a number the account
        holds (one step); False, and nothing kept, when it is not."""
        ...

    def sent(self) -> list[SentSms]:
        """Every accepted message, oldest first."""
        ...

    def sent_between(
        self, from_: PhoneNumber, to: PhoneNumber, after: datetime, before: datetime
    ) -> list[SentSms]:
        """Messages from ``from_`` to ``to`` with ``after <= sent_at <= before``, oldest first."""
        ...


class MemoryState:
    """A :class:`SandboxState` in this process's memory. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owned: dict[str, PhoneNumber] = {}
        self._sent: list[SentSms] = []

    def owned(self) -> dict[str, PhoneNumber]:
        with self._lock:
            return dict(self._owned)

    def owns(self, number: PhoneNumber) -> bool:
        with self._lock:
            return number in self._owned.values()

    def taken(self, prefix: str) -> set[PhoneNumber]:
        with self._lock:
            return {n for n in self._owned.values() if n.e164.startswith(prefix)}

    def buy(self, sid: str, number: PhoneNumber) -> bool:
        with self._lock:
            if number in self._owned.values():
                return False
            self._owned[sid] = number
            return True

    def release(self, sid: str) -> None:
        with self._lock:
            self._owned.pop(sid, None)

    def record(self, message: SentSms) -> bool:
        with self._lock:
            if message.from_ not in self._owned.values():
                return False
            self._sent.append(message)
            return True

    def sent(self) -> list[SentSms]:
        with self._lock:
            return list(self._sent)

    def sent_between(
        self, from_: PhoneNumber, to: PhoneNumber, after: datetime, before: datetime
    ) -> list[SentSms]:
        with self._lock:
            return [
                m
                for m in self._sent
                if m.from_ == from_ and m.to == to and after <= m.sent_at <= before
            ]


class SimulatedTelephony:
    """A :class:`~neariq_sms.ports.TelephonyProvider` that sends nothing. Thread-safe.

    ``clock`` stamps the messages it accepts (the system clock by default);
    pass the use cases' clock so that lookups by time window agree with them.
    ``state`` holds the account (this process's memory by default). Scripted
    failures, the call counts and the sets below belong to this instance.
    """

    def __init__(
        self,
        *,
        configured: bool = True,
        clock: Clock | None = None,
        state: SandboxState | None = None,
    ) -> None:
        self._configured = configured
        self._clock = clock
        self._state: SandboxState = state if state is not None else MemoryState()
        self._script = FailureScript()
        #: Recipients that texted STOP at the carrier: sending to them fails with 21610.
        self.carrier_opted_out: set[PhoneNumber] = set()
        #: Numbers that can no longer be bought.
        self.unavailable: set[PhoneNumber] = set()
        #: How many times each operation was called (failed calls included).
        self.calls: Counter[str] = self._script.calls
        #: The validity period each sent message asked for, by sid (reminders).
        self.validity_periods: dict[str, int] = {}

    @property
    def configured(self) -> bool:
        return self._configured

    @property
    def owned(self) -> dict[str, PhoneNumber]:
        """The numbers the account holds, by sid (a copy)."""
        return self._state.owned()

    @property
    def sent(self) -> list[SentSms]:
        """Every message accepted, in order (a copy)."""
        return self._state.sent()

    def fail_next(
        self, operation: Operation, error: SmsError, *, times: int = 1, after_effect: bool = False
    ) -> None:
        """Make the next ``times`` calls of ``operation`` raise ``error``.

        With ``after_effect`` the call takes effect first (the number is
        bought, the message sent) and then raises: what a timeout after a
        successful request looks like to the caller.
        """
        self._script.add(operation, error, times=times, after_effect=after_effect)

    def _begin(self, operation: Operation) -> Failure | None:
        return self._script.begin(operation, configured=self._configured)

    @staticmethod
    def _sid(prefix: str) -> str:
        return f"{prefix}{uuid.uuid4().hex}"

    def search_available(self, area_code: str, limit: int) -> Sequence[AvailableNumber]:
        failure = self._begin("search")
        taken = self._state.taken(f"+1{area_code}") | self.unavailable
        found: list[AvailableNumber] = []
        for line in range(_FIRST_LINE, _LAST_LINE + 1):
            if len(found) >= limit:
                break
            number = PhoneNumber(f"+1{area_code}5550{line:03d}")
            if number in taken:
                continue
            locality, region = _locality(area_code, number)
            found.append(AvailableNumber(number, number.national, locality, region))
        if failure is not None:
            raise failure.error
        return found

    def purchase(self, number: PhoneNumber) -> PurchasedNumber:
        failure = self._begin("purchase")
        sid = self._sid("PN")
        if number in self.unavailable or not self._state.buy(sid, number):
            raise NumberUnavailable(number=number.e164)
        if failure is not None:
            raise failure.error
        return PurchasedNumber(number=number, provider_sid=sid, friendly_name=number.national)

    def release(self, provider_sid: str) -> None:
        failure = self._begin("release")
        self._state.release(provider_sid)
        if failure is not None:
            raise failure.error

    def send(
        self,
        *,
        from_: PhoneNumber,
        to: PhoneNumber,
        body: str,
        message_id: str | None = None,
        validity_period: int | None = None,
        messaging_service_sid: str | None = None,
    ) -> SentMessage:
        failure = self._begin("send")
        # A foreign sender is refused first, then a recipient that opted out at the carrier.
        if to in self.carrier_opted_out and self._state.owns(from_):
            raise RecipientOptedOut(provider_code=UNSUBSCRIBED_RECIPIENT)
        sid = self._sid("SM")
        sent = SentSms(sid, from_, to, body, self._now(), message_id, messaging_service_sid)
        if not self._state.record(sent):
            raise ProviderError(
                reason="the sender is not a number of this account", provider_code=21606
            )
        if validity_period is not None:
            self.validity_periods[sid] = validity_period
        if failure is not None:
            raise failure.error
        return SentMessage(provider_sid=sid, status=MessageStatus.QUEUED)

    def find_messages(
        self,
        *,
        from_: PhoneNumber,
        to: PhoneNumber,
        sent_after: datetime,
        sent_before: datetime,
    ) -> Sequence[ProviderMessage]:
        failure = self._begin("find_messages")
        found = [
            ProviderMessage(m.sid, m.from_, m.to, m.body, MessageStatus.QUEUED, m.sent_at)
            for m in self._state.sent_between(from_, to, sent_after, sent_before)
        ]
        if failure is not None:
            raise failure.error
        return found

    def owned_numbers(self) -> Sequence[PurchasedNumber]:
        failure = self._begin("owned_numbers")
        owned = [PurchasedNumber(n, sid, n.national) for sid, n in self._state.owned().items()]
        if failure is not None:
            raise failure.error
        return owned

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)


def _conforms(telephony: SimulatedTelephony) -> TelephonyProvider:
    return telephony  # mypy proves the adapter satisfies the port
