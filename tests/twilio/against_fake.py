"""Run the ``neariq-sms`` command in a process whose Twilio SDK talks to a loopback fake.

``python -m tests.twilio.against_fake <fake base URL> <neariq-sms arguments...>``

The process is the real CLI (``serve``, ``registration sync``, ...) with the
real configuration from its environment (``TWILIO_ACCOUNT_SID``, ...); only
the SDK's HTTP client is told to send ``*.twilio.com`` requests to the fake,
as :class:`tests.twilio.fake_twilio.LoopbackHttpClient` does in-process.
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient

from tests.twilio.fake_twilio import HOST_HEADER


def point_sdk_at(base_url: str) -> None:
    base = urlsplit(base_url)
    original = TwilioHttpClient.request

    def request(self: TwilioHttpClient, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        if parts.hostname and parts.hostname.endswith("twilio.com"):
            url = urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))
            kwargs["headers"] = {
                **(kwargs.get("headers") or {}),
                HOST_HEADER: parts.hostname.split(".")[0],
            }
            if self.session is not None:
                self.session.trust_env = False  # no proxy between us and the loopback fake
        return original(self, method, url, *args, **kwargs)

    TwilioHttpClient.request = request  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    point_sdk_at(argv[0])
    from neariq_sms.cli import main as cli

    return cli(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
