"""The provider webhook port: is a request really from the telephony provider?"""

from __future__ import annotations

from typing import Protocol


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


__all__ = ["WebhookVerifier"]
