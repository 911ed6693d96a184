"""The SDK's HTTP side: our timeout on every call, the last response per thread
(``Retry-After``), a client rebound to it, and the SDK's request log kept quiet."""

from __future__ import annotations

import logging
import threading
from typing import Any

from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client


class TimedHttpClient(HttpClient):  # type: ignore[misc]  # twilio ships no type information
    """Delegates to the host's HTTP client with an explicit timeout on every call.

    It also keeps, per thread, the last response it saw: a
    ``TwilioRestException`` carries no headers, and ``Retry-After`` lives there.
    """

    def __init__(self, inner: Any, timeout: float) -> None:
        super().__init__(inner.logger, False, timeout)
        self._inner = inner
        self._local = threading.local()

    def request(
        self,
        method: str,
        uri: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        auth: Any = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Any:
        self._local.response = None
        response = self._inner.request(
            method,
            uri,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=self.timeout if timeout is None else timeout,
            allow_redirects=allow_redirects,
        )
        self._local.response = response
        return response

    @property
    def last_response(self) -> Response | None:
        return getattr(self._local, "response", None)


#: The SDK's request log: every request's URL and parameters (To, From, Body) at INFO.
SDK_REQUEST_LOGGER = "twilio.http_client"


def quiet_sdk_request_log() -> None:
    """Keep phone numbers and bodies out of a host's INFO log.

    Only when the host left the SDK logger's level unset: one that sets it
    (to DEBUG, to see requests) keeps its choice.
    """
    sdk = logging.getLogger(SDK_REQUEST_LOGGER)
    if sdk.level == logging.NOTSET:
        sdk.setLevel(logging.WARNING)


def rebind(client: Any, http_client: HttpClient) -> Any:
    """A client with ``client``'s identity and our HTTP client; the host's stays untouched."""
    return Client(
        username=client.username,
        password=client.password,
        account_sid=client.account_sid,
        region=client.region,
        edge=client.edge,
        http_client=http_client,
        # Non-empty, so the SDK does not fall back to os.environ for what the host left unset.
        environment={"NEARIQ_SMS": "credentials come from the host's client"},
        user_agent_extensions=list(client.user_agent_extensions or []),
        credential_provider=client.credential_provider,
    )


__all__ = ["SDK_REQUEST_LOGGER", "TimedHttpClient", "quiet_sdk_request_log", "rebind"]
