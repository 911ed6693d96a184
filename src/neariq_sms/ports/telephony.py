"""The telephony provider port (Twilio in production, a simulator in the sandbox)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from neariq_sms.domain.business import AvailableNumber, PurchasedNumber
from neariq_sms.domain.messages import ProviderMessage, SentMessage
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
        """Submit one SMS; the answer carries the provider's sid and first status.

        ``messaging_service_sid`` sends through that Messaging Service, with
        ``from_`` (a number in its sender pool) as the sender: how a business
        with an approved US registration sends. Without it, plainly from ``from_``.

        ``validity_period`` (seconds, 1-36,000) asks the provider to drop the
        message rather than deliver it later than that (a reminder after its
        appointment began); callers pass it only when they need it.

        ``message_id`` is our id of the message: the status callback carries
        it (in its URL), so that a callback finds its message even when it
        arrives before the sid this answer carries has been stored.

        Not idempotent: never retried blindly. Raises ``RecipientOptedOut``
        (Twilio 21610), ``InvalidPhone`` (not a reachable mobile number) or
        ``ProviderError``.
        """
        ...

    def find_messages(
        self,
        *,
        from_: PhoneNumber,
        to: PhoneNumber,
        sent_after: datetime,
        sent_before: datetime,
    ) -> Sequence[ProviderMessage]:
        """Messages the account sent from ``from_`` to ``to`` whose ``sent_at``
        lies in ``[sent_after, sent_before]``, oldest first.

        What reconciliation asks when a send's outcome is unknown. Read-only
        and idempotent (retried like a search); may return an empty list.
        Raises ``ProviderError``.
        """
        ...

    def owned_numbers(self) -> Sequence[PurchasedNumber]:
        """Every number the account holds whose SMS webhook points at this deployment.

        Numbers :meth:`purchase` bought are among them; numbers of other
        applications sharing the account are not. Read-only and idempotent.
        Raises ``ProviderError``.
        """
        ...
