"""The border with the twilio SDK: every SDK or transport failure becomes a
domain error here, and idempotent calls are retried with bounded backoff.

Shared by the telephony provider and the sender registry. ``acting`` says
whether the call may have changed something at Twilio (a create, a delete):
a 5xx or a timeout on such a call is *ambiguous* (Twilio may have acted); on
a read it is a plain, retryable failure.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TypeVar

import attrs
import requests
import urllib3.exceptions
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.response import Response

from neariq_sms.domain.errors import ProviderError, SmsError, SmsNotConfigured

log = logging.getLogger("neariq_sms.twilio")
T = TypeVar("T")

AUTHENTICATE = 20003
NOT_FOUND = 20404
TOO_MANY_REQUESTS = 20429
#: What the SDK and its transport raise; ValueError covers an answer that is not JSON.
SDK_FAILURES = (TwilioException, requests.RequestException, ValueError)
#: A refusal a caller knows better than the generic one: (HTTP status, Twilio code) -> error.
Refine = Callable[[int, int | None], SmsError | None]


@attrs.frozen
class RetryPolicy:
    """Bounded exponential backoff for the idempotent calls (search, release, lookups).

    ``attempts`` counts the first try. The wait before retry *n* is
    ``base_delay * 2 ** (n - 1)``, capped at ``max_delay``; a ``Retry-After``
    from Twilio replaces it, and one longer than ``max_delay`` ends the
    retries (asking again earlier than Twilio said is pointless).
    """

    attempts: int = attrs.field(default=3, validator=attrs.validators.ge(1))
    base_delay: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    max_delay: float = attrs.field(default=8.0, validator=attrs.validators.ge(0))

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait after failed try number ``attempt``; ``None`` to give up."""
        if attempt >= self.attempts:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_delay else None
        return min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)


@attrs.frozen
class Failure:
    error: SmsError
    #: Worth another try of an idempotent call (429, 5xx, timeouts, connection errors).
    transient: bool
    retry_after: float | None = None


def classify(
    exc: Exception,
    *,
    what: str,
    acting: bool,
    last: Response | None,
    refine: Refine | None = None,
) -> Failure:
    """Translate one SDK or transport failure of the call ``what`` into a domain error.

    ``last`` is the last HTTP response seen on this thread (a
    ``TwilioRestException`` carries no headers, and ``Retry-After`` lives there).
    """
    if isinstance(exc, TwilioRestException | TwilioServiceException):
        status, code = int(exc.status), int_or_none(exc.code)
    elif isinstance(exc, TwilioException) and len(exc.args) > 1 and _is_response(exc.args[1]):
        # list() and page() raise a plain TwilioException("Unable to fetch page", response).
        status, code = exc.args[1].status_code, _body_code(exc.args[1].text)
        last = exc.args[1]
    elif isinstance(exc, requests.RequestException):
        return transport_failure(exc, what, acting)
    else:
        # An answer we cannot read (not JSON, unexpected shape): Twilio did answer.
        log.warning("twilio %s: unreadable answer (%s)", what, type(exc).__name__)
        return Failure(
            ProviderError(reason="Twilio's answer could not be read", ambiguous=acting),
            transient=True,
        )
    log.info("twilio %s refused: HTTP %d, error %s", what, status, code)
    return http_failure(status, code, acting=acting, retry_after=retry_after(last), refine=refine)


def http_failure(
    status: int,
    code: int | None,
    *,
    acting: bool,
    retry_after: float | None,
    refine: Refine | None = None,
) -> Failure:
    if code == AUTHENTICATE or status == 401:
        # Credentials Twilio refuses are as good as none: the port's SmsNotConfigured
        # (503), not a 502. Twilio never processes an unauthenticated request, so a
        # refused send is a plain failure the use case refunds.
        log.warning("twilio refused the account credentials (error %s)", code)
        return Failure(SmsNotConfigured(), transient=False)
    refined = refine(status, code) if refine is not None else None
    if refined is not None:
        return Failure(refined, transient=False)
    if status == 429 or code == TOO_MANY_REQUESTS:
        # Twilio never processes a 429: retrying is safe and nothing happened.
        error = ProviderError(
            reason="Twilio is limiting the request rate",
            provider_code=code or TOO_MANY_REQUESTS,
            ambiguous=False,
            transient=True,
        )
        return Failure(error, transient=True, retry_after=retry_after)
    if status >= 500:
        error = ProviderError(
            reason=f"Twilio answered HTTP {status}", provider_code=code, ambiguous=acting
        )
        return Failure(error, transient=True, retry_after=retry_after)
    return Failure(
        ProviderError(reason=f"Twilio refused the request (error {code})", provider_code=code),
        transient=False,
    )


def transport_failure(exc: requests.RequestException, what: str, acting: bool) -> Failure:
    if _never_sent(exc):
        log.warning("twilio %s: could not connect (%s)", what, type(exc).__name__)
        error = ProviderError(reason="could not connect to Twilio", transient=True)
        return Failure(error, transient=True)
    timed_out = isinstance(exc, requests.Timeout)
    reason = "Twilio did not answer in time" if timed_out else "the connection to Twilio failed"
    log.warning("twilio %s: %s (%s)", what, reason, type(exc).__name__)
    return Failure(ProviderError(reason=reason, ambiguous=acting), transient=True)


def with_retries(
    call: Callable[[], T],
    *,
    what: str,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    classify_one: Callable[[Exception], Failure],
) -> T:
    """``call()``, tried again after transient failures while ``policy`` allows.

    Only for calls that are safe to repeat (reads, idempotent writes).
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return call()
        except SDK_FAILURES as exc:
            failure = classify_one(exc)
        wait = policy.delay(attempt, failure.retry_after) if failure.transient else None
        if wait is None:
            raise failure.error from None
        log.warning(
            "twilio %s failed (%s), try %d of %d in %.2fs",
            what,
            failure.error,
            attempt + 1,
            policy.attempts,
            wait,
        )
        sleep(wait)


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request provably never reached Twilio (no connection was made)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError) and exc.args:
        reason = getattr(exc.args[0], "reason", None)
        # NewConnectionError (refused, DNS) is a ConnectTimeoutError in urllib3 2.
        return isinstance(reason, urllib3.exceptions.ConnectTimeoutError)
    return False


def _is_response(value: object) -> bool:
    return hasattr(value, "status_code") and hasattr(value, "text")


def _body_code(text: str) -> int | None:
    try:
        payload = json.loads(text)
    except (TypeError, ValueError):
        return None
    return int_or_none(payload.get("code")) if isinstance(payload, dict) else None


def int_or_none(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        # isascii(): str.isdigit() accepts digits such as "²" that int() refuses.
        if text.isascii() and text.isdigit():
            return int(text)
    return None


def retry_after(response: Response | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    headers = getattr(response, "headers", None) or {}
    raw = next((str(v) for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    if raw is None or not raw.strip():
        return None
    raw = raw.strip()
    if raw.isascii() and raw.isdigit():
        return float(raw)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return None if when.tzinfo is None else max(0.0, when.timestamp() - time.time())


def text(record: object, name: str) -> str | None:
    """A record's non-blank string attribute, else ``None``."""
    value = getattr(record, name, None)
    return value if isinstance(value, str) and value.strip() else None


__all__ = [
    "AUTHENTICATE",
    "NOT_FOUND",
    "SDK_FAILURES",
    "TOO_MANY_REQUESTS",
    "Failure",
    "Refine",
    "RetryPolicy",
    "classify",
    "http_failure",
    "int_or_none",
    "retry_after",
    "text",
    "transport_failure",
    "with_retries",
]
