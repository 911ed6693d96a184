"""The sender-registry port: a business's A2P 10DLC objects at the provider
(Twilio Trust Hub and Messaging in production, a simulator in the sandbox)."""

from __future__ import annotations

from typing import Protocol

from neariq_sms.domain.registration import SenderRegistration, StepName, StepStatus


class SenderRegistry(Protocol):
    """Makes and reads the provider objects of a :class:`SenderRegistration`.

    One call handles one step of the chain (:class:`StepName`); the use case
    decides which step is due (the prerequisites, the waits) and stores each
    sid before the next step, so the adapter keeps no state of its own: every
    sid it needs is on the registration's earlier steps.

    Implementations translate every provider or transport failure into a
    domain error at the border: :class:`~neariq_sms.domain.errors.SmsNotConfigured`
    (credentials refused, or no primary customer profile configured) or
    :class:`~neariq_sms.domain.errors.ProviderError` (``provider_code`` the
    provider's code; ``ambiguous=True`` when the provider may have acted even
    so; ``transient=True`` when it provably did not and a later try may
    succeed). Nothing from an SDK escapes. A rejection the provider reports
    on an object (a failed brand) is no error: :meth:`status` returns it.
    """

    @property
    def configured(self) -> bool:
        """True when credentials (and the platform's primary profile) are present;
        every other method needs it."""
        ...

    def create(self, step: StepName, registration: SenderRegistration, *, resume: bool) -> str:
        """Make the provider object(s) of ``step`` from the registration's details
        and submit them for review; return the step's sid.

        - ``CUSTOMER_PROFILE``: the whole sub-chain of the business's profile
          (secondary, or starter for a sole proprietor): its end users, the
          address and its supporting document, the assignments (the
          platform's primary profile included), the evaluation, and the
          submission for review. Returns the profile's sid.
        - ``TRUST_PRODUCT``: likewise, attached to the customer profile.
        - ``BRAND``: the brand registration of both bundles (low volume:
          secondary vetting skipped; sole proprietor: the owner gets the
          confirmation text once the registry approves).
        - ``MESSAGING_SERVICE``: the business's service.
        - ``CAMPAIGN``: the campaign on that service for the approved brand
          (the caller waits for the brand's ``approved``). For an
          ``existing`` registration nothing is made: the campaign already on
          the adopted service is looked up, and ``ProviderError`` raised
          when there is none.
        - ``NUMBER`` is not made here (:meth:`add_number`).

        Every object gets a name from :meth:`SenderRegistration.provider_name`.
        With ``resume`` (an earlier call's outcome is unknown: a crash, an
        ambiguous error) each object is first looked up by that name and only
        what is missing is made, so each provider object is made at most once
        per registration however often a step is retried.

        When the step already has a sid (a ``pending`` step with a sid: the
        provider rejected it and the business corrected its details) nothing
        new is made: the object, and the data it rests on (a brand's profile
        end users and address), are updated with the registration's details
        and submitted again; the same sid is returned. Doing it again when it
        was done already succeeds.

        A validation refusal by the provider is ``ProviderError`` (not
        ambiguous), with the provider's code and reason.

        Raises:
            ProviderError, SmsNotConfigured.
        """
        ...

    def status(self, step: StepName, registration: SenderRegistration) -> StepStatus:
        """The provider's current state of the step's object (its sid is on the
        registration), normalised, with the reasons of a rejection or
        suspension (``{code, description, field}``).

        A sole proprietor's brand that the registry approved but the owner
        has not confirmed yet is ``VERIFYING``; it is ``APPROVED`` only when
        both hold. A campaign is ``APPROVED`` when the provider verified it.
        The ``NUMBER`` step is ``APPROVED`` while the number is in the service.
        Read-only and idempotent. Raises ``ProviderError``.
        """
        ...

    def add_number(self, service_sid: str, number_sid: str) -> None:
        """Put a bought number (its provider sid) into the service's sender pool.

        Idempotent: a number already in this service succeeds. Raises
        ``ProviderError`` (a number held by another service, a suspended
        campaign's service).
        """
        ...

    def remove_number(self, service_sid: str, number_sid: str) -> None:
        """Take the number out of the service's sender pool (it stays bought).

        Idempotent: a number not (or no longer) in the service succeeds.
        Raises ``ProviderError``.
        """
        ...

    def resend_otp(self, brand_sid: str) -> None:
        """Send a sole proprietor's confirmation text again (the first one
        expires after 24 hours). Raises ``ProviderError``."""
        ...


__all__ = ["SenderRegistry"]
