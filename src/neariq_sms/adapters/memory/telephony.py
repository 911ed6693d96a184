"""The sandbox provider: a deterministic, scriptable stand-in for Twilio.

Its numbers lie in the fictional 555-01XX range of the requested area code;
area code 512's first result is the spec's ``+15125550123``. Sids look like
Twilio's. Failures can be scripted per operation to exercise every path.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

import attrs
import phonenumbers
from phonenumbers import geocoder

from neariq_sms.domain.business import AvailableNumber, PurchasedNumber
from neariq_sms.domain.errors import (
    NumberUnavailable,
    ProviderError,
    RecipientOptedOut,
    SmsError,
    SmsNotConfigured,
)
from neariq_sms.domain.messages import MessageStatus, ProviderMessage, SentMessage
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.telephony import TelephonyProvider

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
    sent_at: datetime | None = None
    #: Our id of the message, which a real provider's status callback would carry.
    message_id: str | None = None


@attrs.frozen
class _Failure:
    error: SmsError
    #: The operation takes effect before the error is raised (a timeout after success).
    after_effect: bool


class SimulatedTelephony:
    """In-memory :class:`~neariq_sms.ports.TelephonyProvider`. Thread-safe.

    ``clock`` stamps the messages it accepts (the system clock by default);
    pass the use cases' clock so that lookups by time window agree with them.
    """

    def __init__(self, *, configured: bool = True, clock: Clock | None = None) -> None:
        self._configured = configured
        self._clock = clock
        self._lock = threading.Lock()
        self._serial = 0
        self._failures: dict[str, deque[_Failure]] = {}
        #: Numbers the account owns, by sid.
        self.owned: dict[str, PhoneNumber] = {}
        #: Every message accepted, in order.
        self.sent: list[SentSms] = []
        #: Recipients that texted STOP at the carrier: sending to them fails with 21610.
        self.carrier_opted_out: set[PhoneNumber] = set()
        #: Numbers that can no longer be bought.
        self.unavailable: set[PhoneNumber] = set()
        #: How many times each operation was called (failed calls included).
        self.calls: Counter[str] = Counter()

    @property
    def configured(self) -> bool:
        return self._configured

    def fail_next(
        self, operation: Operation, error: SmsError, *, times: int = 1, after_effect: bool = False
    ) -> None:
        """Make the next ``times`` calls of ``operation`` raise ``error``.

        With ``after_effect`` the call takes effect first (the number is
        bought, the message sent) and then raises: what a timeout after a
        successful request looks like to the caller.
        """
        with self._lock:
            queue = self._failures.setdefault(operation, deque())
            queue.extend(_Failure(error, after_effect) for _ in range(times))

    def _begin(self, operation: Operation) -> _Failure | None:
        self.calls[operation] += 1
        if not self._configured:
            raise SmsNotConfigured()
        queue = self._failures.get(operation)
        failure = queue.popleft() if queue else None
        if failure is not None and not failure.after_effect:
            raise failure.error
        return failure

    def _sid(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self._serial:032x}"

    def search_available(self, area_code: str, limit: int) -> Sequence[AvailableNumber]:
        with self._lock:
            failure = self._begin("search")
            owned = set(self.owned.values())
            found: list[AvailableNumber] = []
            for line in range(_FIRST_LINE, _LAST_LINE + 1):
                if len(found) >= limit:
                    break
                number = PhoneNumber(f"+1{area_code}5550{line:03d}")
                if number in owned or number in self.unavailable:
                    continue
                locality, region = _locality(area_code, number)
                found.append(AvailableNumber(number, number.national, locality, region))
        if failure is not None:
            raise failure.error
        return found

    def purchase(self, number: PhoneNumber) -> PurchasedNumber:
        with self._lock:
            failure = self._begin("purchase")
            if number in self.unavailable or number in self.owned.values():
                raise NumberUnavailable(number=number.e164)
            sid = self._sid("PN")
            self.owned[sid] = number
        if failure is not None:
            raise failure.error
        return PurchasedNumber(number=number, provider_sid=sid, friendly_name=number.national)

    def release(self, provider_sid: str) -> None:
        with self._lock:
            failure = self._begin("release")
            self.owned.pop(provider_sid, None)
        if failure is not None:
            raise failure.error

    def send(
        self, *, from_: PhoneNumber, to: PhoneNumber, body: str, message_id: str | None = None
    ) -> SentMessage:
        with self._lock:
            failure = self._begin("send")
            if from_ not in self.owned.values():
                raise ProviderError(
                    reason="the sender is not a number of this account", provider_code=21606
                )
            if to in self.carrier_opted_out:
                raise RecipientOptedOut()
            sid = self._sid("SM")
            self.sent.append(SentSms(sid, from_, to, body, self._now(), message_id))
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
        with self._lock:
            failure = self._begin("find_messages")
            found = [
                ProviderMessage(m.sid, m.from_, m.to, m.body, MessageStatus.QUEUED, m.sent_at)
                for m in self.sent
                if m.from_ == from_
                and m.to == to
                and m.sent_at is not None
                and sent_after <= m.sent_at <= sent_before
            ]
        if failure is not None:
            raise failure.error
        return found

    def owned_numbers(self) -> Sequence[PurchasedNumber]:
        with self._lock:
            failure = self._begin("owned_numbers")
            owned = [PurchasedNumber(n, sid, n.national) for sid, n in self.owned.items()]
        if failure is not None:
            raise failure.error
        return owned

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)


def _conforms(telephony: SimulatedTelephony) -> TelephonyProvider:
    return telephony  # mypy proves the adapter satisfies the port
