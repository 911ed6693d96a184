"""The telephony provider port (Twilio in production, a simulator in the sandbox)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from neariq_sms.domain.business import AvailableNumber, PurchasedNumber
from neariq_sms.domain.messages import SentMessage
from neariq_sms.domain.phone import PhoneNumber


class TelephonyProvider(Protocol):
    """Buys, releases and sends through a provider account.

    Implementations translate every provider or transport failure into a
    domain error at the border: :class:`~neariq_sms.domain.errors.NumberUnavailable`,
    :class:`~neariq_sms.domain.errors.InvalidPhone`,
    :class:`~neariq_sms.domain.errors.RecipientOptedOut`,
    :class:`~neariq_sms.domain.errors.SmsNotConfigured` (credentials refused) or
    :class:`~neariq_sms.domain.errors.ProviderError` (with ``ambiguous=True``
    when the provider may have acted even so). Nothing from an SDK escapes.

    The provider owns its webhook URLs: a purchased number is pointed at the
    inbound-message webhook and every send carries the status callback, when
    the deployment has a public URL.
    """

    @property
    def configured(self) -> bool:
        """True when credentials are present; every other method needs it."""
        ...

    def search_available(self, area_code: str, limit: int) -> Sequence[AvailableNumber]:
        """SMS-capable local numbers for sale in a three-digit area code, at most ``limit``.

        Idempotent; may return an empty list. Raises ``ProviderError``.
        """
        ...

    def purchase(self, number: PhoneNumber) -> PurchasedNumber:
        """Buy ``number`` into the account and point its SMS webhook at us.

        Not idempotent: never retried blindly. Raises ``NumberUnavailable``
        when it can no longer be bought, ``ProviderError`` otherwise.
        """
        ...

    def release(self, provider_sid: str) -> None:
        """Release a bought number. Releasing one already gone succeeds (idempotent)."""
        ...

    def send(self, *, from_: PhoneNumber, to: PhoneNumber, body: str) -> SentMessage:
        """Submit one SMS; the answer carries the provider's sid and first status.

        Not idempotent: never retried blindly. Raises ``RecipientOptedOut``
        (Twilio 21610), ``InvalidPhone`` (not a reachable mobile number) or
        ``ProviderError``.
        """
        ...
