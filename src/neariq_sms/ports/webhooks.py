"""The provider webhook port: is a request really from the telephony provider,
and what does it report, in the domain's words?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from neariq_sms.domain.messages import InboundReport, StatusReport

#: Where the provider delivers a customer's inbound messages: the HTTP adapter
#: routes it, the provider's adapter points bought numbers at it.
INBOUND_PATH = "/api/sms/webhooks/twilio/inbound"
#: Where the provider reports a sent message's status: routed and given the same way.
STATUS_PATH = "/api/sms/webhooks/twilio/status"
#: Where the provider reports a registration object's status (a bundle's review, a
#: brand's, a campaign's): routed by the HTTP adapter, given by the registry adapter.
REGISTRATION_PATH = "/api/sms/webhooks/twilio/registration"

Params = Sequence[tuple[str, str]]


class WebhookVerifier(Protocol):
    """Checks a provider webhook's signature (Twilio's ``X-Twilio-Signature``).

    The HTTP adapter asks it before acting on any webhook; the provider's
    adapter implements it with the account's secret.
    """

    def verify(
        self, path: str, params: list[tuple[str, str]], signature: str, query: str = ""
    ) -> bool:
        """Whether ``signature`` signs this request.

        Args:
            path: the request path, as the provider called it.
            params: the form fields, in the order they arrived.
            signature: the signature header's value.
            query: the raw query string, not re-encoded (a GET webhook's parameters).

        Returns:
            False for a malformed or wrong signature.
        """
        ...


class ProviderWebhooks(WebhookVerifier, Protocol):
    """A provider's webhooks: the signature check, and each request read into a
    domain report, so that no provider code (Twilio's 21610) passes this port.

    The HTTP adapter verifies the signature first (:meth:`verify` over
    :meth:`read_form`'s parameters), then reads the report: a request whose
    signature fails answers 403 before any shape is checked.
    """

    @property
    def signature_header(self) -> str:
        """The request header that carries the signature (any case)."""
        ...

    @property
    def reply_media_type(self) -> str:
        """The media type of :meth:`reply`'s text."""
        ...

    def read_form(self, body: bytes) -> list[tuple[str, str]]:
        """The request body's form parameters, order and blank values kept.

        Raises:
            ValueError: not a well-formed form (or not UTF-8).
        """
        ...

    def inbound_report(self, params: Params) -> InboundReport:
        """An inbound-message webhook's fields, every one acted on shape checked.

        Raises:
            MissingField, InvalidField: the field named, as the provider spells it.
        """
        ...

    def status_report(self, params: Params, query: str) -> StatusReport:
        """A status callback as a domain report; ``query`` is the callback URL's
        query string, which may carry our message id.

        Raises:
            MissingField, InvalidField: the field named, as the provider spells it.
        """
        ...

    def reply(self, text: str | None) -> str:
        """The answer to an inbound message: ``text`` sent back, or no reply."""
        ...


__all__ = [
    "INBOUND_PATH",
    "REGISTRATION_PATH",
    "STATUS_PATH",
    "ProviderWebhooks",
    "WebhookVerifier",
]
