"""Twilio behind the :class:`~neariq_sms.ports.TelephonyProvider` port.

Every SDK or transport failure is translated into a domain error here; the
SDK never retries, so this adapter retries the idempotent calls (search,
release and the reconciliation lookups) with bounded exponential backoff and
never retries a send or a purchase.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from neariq_sms.adapters.twilio.border import (
    SDK_FAILURES,
    Failure,
    RetryPolicy,
    classify,
    with_retries,
)
from neariq_sms.adapters.twilio.border import text as _text
from neariq_sms.adapters.twilio.http_client import (
    TimedHttpClient,
    quiet_sdk_request_log,
    rebind,
)
from neariq_sms.adapters.twilio.webhooks import (
    INBOUND_PATH,
    UNSUBSCRIBED_RECIPIENT,
    status_callback_url,
)
from neariq_sms.domain.business import AvailableNumber, PurchasedNumber
from neariq_sms.domain.errors import (
    InvalidPhone,
    NumberUnavailable,
    ProviderError,
    RecipientOptedOut,
    SmsError,
    SmsNotConfigured,
)
from neariq_sms.domain.messages import MessageStatus, ProviderMessage, SentMessage
from neariq_sms.domain.phone import DEFAULT_REGION, PhoneNumber
from neariq_sms.ports.telephony import TelephonyProvider

log = logging.getLogger("neariq_sms.twilio")

Operation = Literal["search", "purchase", "release", "send", "find_messages", "owned_numbers"]
T = TypeVar("T")

#: Operations after which the provider may have acted although we saw no answer.
_ACTING: frozenset[Operation] = frozenset({"purchase", "send", "release"})
NUMBER_UNAVAILABLE_CODES = frozenset({21421, 21422, 21452})
INVALID_RECIPIENT_CODES = frozenset({21211, 21614})
#: Records one lookup of sent messages reads at most (Twilio's largest page).
LOOKUP_LIMIT = 1000
#: The newest records of a (from, to) pair read when the DateSent filter found nothing.
UNFILTERED_LOOKUP_LIMIT = 50


class TwilioTelephony:
    """:class:`~neariq_sms.ports.TelephonyProvider` over the official ``twilio`` SDK.

    Args:
        client: a ``twilio.rest.Client`` (its credentials, region, edge and
            HTTP client are reused; the client itself is not modified), or
            ``None`` for "not configured".
        public_url: the deployment's public base URL; when set, bought numbers
            point their SMS webhook at it and every send carries the status
            callback.
        timeout: seconds for every HTTP call (connect and read).
        retry: backoff for search and release.
        country: ISO country whose local numbers are searched.
        sleep: how to wait between retries (tests pass a recorder).
    """

    def __init__(
        self,
        client: Client | None,
        *,
        public_url: str | None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        country: str = DEFAULT_REGION,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        self._http: TimedHttpClient | None = None
        self._client: Any = None
        self._account_sid: str | None = None
        if client is not None:
            quiet_sdk_request_log()
            self._http = TimedHttpClient(client.http_client, timeout)
            self._client = rebind(client, self._http)
            self._account_sid = client.account_sid
        self._public_url = public_url.rstrip("/") if public_url else None
        self._retry = retry or RetryPolicy()
        self._country = country
        self._sleep = sleep
        self.timeout = timeout

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] = os.environ,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
    ) -> TwilioTelephony:
        """Built from ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN`` and ``NEARIQ_SMS_PUBLIC_URL``.

        Without both credentials the adapter is not configured; without a
        public URL numbers and messages carry no webhook URLs.
        """
        sid = environ.get("TWILIO_ACCOUNT_SID", "").strip()
        token = environ.get("TWILIO_AUTH_TOKEN", "").strip()
        client = None
        if sid and token:
            client = Client(
                sid,
                token,
                http_client=TwilioHttpClient(timeout=timeout),
                # Region and edge come from the same mapping, not from os.environ behind our back.
                environment={"NEARIQ_SMS": "explicit", **environ},
            )
        public_url = environ.get("NEARIQ_SMS_PUBLIC_URL", "").strip() or None
        return cls(client, public_url=public_url, timeout=timeout, retry=retry)

    def __repr__(self) -> str:
        return (
            f"TwilioTelephony(account_sid={self._account_sid!r},"
            f" public_url={self._public_url!r}, timeout={self.timeout!r})"
        )

    @property
    def configured(self) -> bool:
        return self._client is not None

    @property
    def sms_url(self) -> str | None:
        """Where bought numbers send inbound messages (``None`` without a public URL)."""
        return self._public_url + INBOUND_PATH if self._public_url else None

    @property
    def status_callback(self) -> str | None:
        """Where Twilio reports each sent message's delivery status."""
        return self.status_callback_for(None)

    def status_callback_for(self, message_id: str | None) -> str | None:
        """The status callback of one message (see :func:`status_callback_url`)."""
        return status_callback_url(self._public_url, message_id) if self._public_url else None

    # --- the port ----------------------------------------------------------------

    def search_available(self, area_code: str, limit: int) -> Sequence[AvailableNumber]:
        client = self._require_client()
        if limit < 1:
            return []
        records = self._with_retries(
            "search",
            lambda: client.available_phone_numbers(self._country).local.list(
                area_code=area_code, sms_enabled=True, limit=limit, page_size=limit
            ),
        )
        found = [number for record in records if (number := _available(record)) is not None]
        return found[:limit]

    def purchase(self, number: PhoneNumber) -> PurchasedNumber:
        client = self._require_client()
        webhooks: dict[str, str] = {}
        if self.sms_url:
            webhooks = {"sms_url": self.sms_url, "sms_method": "POST"}
        try:
            record = client.incoming_phone_numbers.create(phone_number=number.e164, **webhooks)
        except SDK_FAILURES as exc:
            raise self._classify(exc, "purchase", number).error from None
        sid = _text(record, "sid")
        if sid is None:
            raise ProviderError(reason="Twilio's answer carried no number sid", ambiguous=True)
        log.info("twilio number bought sid=%s number=%s", sid, number.e164)
        return PurchasedNumber(
            number=number,
            provider_sid=sid,
            friendly_name=_text(record, "friendly_name") or number.national,
        )

    def release(self, provider_sid: str) -> None:
        client = self._require_client()

        def delete() -> None:
            try:
                client.incoming_phone_numbers(provider_sid).delete()
            except TwilioRestException as exc:
                if exc.status != 404:
                    raise
                log.info("twilio number already released sid=%s", provider_sid)

        self._with_retries("release", delete)
        log.info("twilio number released sid=%s", provider_sid)

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
        """Also ``messaging_service_sid``: send through the business's registered
        Messaging Service, with ``from_`` (a number in its pool) as the sender."""
        client = self._require_client()
        url = self.status_callback_for(message_id)
        options: dict[str, object] = {"status_callback": url} if url else {}
        if validity_period is not None:
            options["validity_period"] = validity_period
        if messaging_service_sid is not None:
            options["messaging_service_sid"] = messaging_service_sid
        try:
            message = client.messages.create(to=to.e164, from_=from_.e164, body=body, **options)
        except SDK_FAILURES as exc:
            raise self._classify(exc, "send").error from None
        sid = _text(message, "sid")
        if sid is None:
            raise ProviderError(reason="Twilio's answer carried no message sid", ambiguous=True)
        status = MessageStatus.from_provider(_text(message, "status") or "") or MessageStatus.QUEUED
        log.info("twilio message submitted sid=%s status=%s", sid, status.value)
        return SentMessage(provider_sid=sid, status=status)

    def find_messages(
        self,
        *,
        from_: PhoneNumber,
        to: PhoneNumber,
        sent_after: datetime,
        sent_before: datetime,
    ) -> Sequence[ProviderMessage]:
        client = self._require_client()
        # Twilio documents DateSent at day granularity (GMT): ask from the
        # window's first day on and cut the window here.
        first_day = sent_after.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)

        def lookup(limit: int, **date_filter: datetime) -> list[Any]:
            return list(
                client.messages.list(to=to.e164, from_=from_.e164, limit=limit, **date_filter)
            )

        records = self._with_retries(
            "find_messages", lambda: lookup(LOOKUP_LIMIT, date_sent_after=first_day)
        )
        found = _in_window(records, sent_after, sent_before)
        if not found:
            # A message still in Twilio's queue has no date_sent yet, and whether the
            # DateSent filter lists it is not documented: read the pair's newest too.
            records = self._with_retries("find_messages", lambda: lookup(UNFILTERED_LOOKUP_LIMIT))
            found = _in_window(records, sent_after, sent_before)
        return sorted(found, key=lambda m: (m.sent_at, m.provider_sid))

    def owned_numbers(self) -> Sequence[PurchasedNumber]:
        """The account's numbers whose SMS URL starts with the public URL (without
        one: the numbers with no SMS URL, which is how :meth:`purchase` buys them)."""
        client = self._require_client()
        records = self._with_retries(
            "owned_numbers", lambda: list(client.incoming_phone_numbers.list())
        )
        owned = []
        for record in records:
            sms_url = _text(record, "sms_url")
            ours = (
                sms_url is not None and sms_url.startswith(self._public_url + "/")
                if self._public_url
                else sms_url is None
            )
            sid = _text(record, "sid")
            try:
                number = PhoneNumber(_text(record, "phone_number") or "")
            except InvalidPhone:
                continue
            if ours and sid is not None:
                owned.append(
                    PurchasedNumber(
                        number=number,
                        provider_sid=sid,
                        friendly_name=_text(record, "friendly_name") or number.national,
                    )
                )
        return owned

    # --- plumbing ----------------------------------------------------------------

    def _require_client(self) -> Any:
        if self._client is None:
            raise SmsNotConfigured()
        return self._client

    def _with_retries(self, operation: Operation, call: Callable[[], T]) -> T:
        return with_retries(
            call,
            what=operation,
            policy=self._retry,
            sleep=self._sleep,
            classify_one=lambda exc: self._classify(exc, operation),
        )

    def _classify(
        self, exc: Exception, operation: Operation, number: PhoneNumber | None = None
    ) -> Failure:
        """Translate one SDK or transport failure into a domain error."""

        def refine(status: int, code: int | None) -> SmsError | None:
            if operation == "purchase" and number is not None and code in NUMBER_UNAVAILABLE_CODES:
                return NumberUnavailable(number=number.e164)
            if operation == "send" and code == UNSUBSCRIBED_RECIPIENT:
                return RecipientOptedOut(provider_code=code)
            if operation == "send" and code in INVALID_RECIPIENT_CODES:
                return InvalidPhone(field="to")
            return None

        return classify(
            exc,
            what=operation,
            acting=operation in _ACTING,
            last=self._http.last_response if self._http else None,
            refine=refine,
        )


def _in_window(
    records: Sequence[object], sent_after: datetime, sent_before: datetime
) -> list[ProviderMessage]:
    found = []
    for record in records:
        sent_at = getattr(record, "date_sent", None) or getattr(record, "date_created", None)
        sid, body = _text(record, "sid"), getattr(record, "body", None)
        if not isinstance(sent_at, datetime) or sid is None or not isinstance(body, str):
            continue
        if sent_at.tzinfo is None:
            sent_at = sent_at.replace(tzinfo=UTC)
        if not sent_after <= sent_at <= sent_before:
            continue
        try:
            from_, to = (
                PhoneNumber(_text(record, "from_") or ""),
                PhoneNumber(_text(record, "to") or ""),
            )
        except InvalidPhone:
            continue
        status = MessageStatus.from_provider(_text(record, "status") or "") or MessageStatus.QUEUED
        found.append(ProviderMessage(sid, from_, to, body, status, sent_at))
    return found


def _available(record: object) -> AvailableNumber | None:
    raw = _text(record, "phone_number")
    try:
        number = PhoneNumber(raw or "")
    except InvalidPhone:
        log.debug("twilio offered a number that is not E.164, skipped")
        return None
    capabilities = getattr(record, "capabilities", None)
    if isinstance(capabilities, dict):
        # Available numbers have been seen with "SMS" and with "sms".
        sms = {str(k).lower(): v for k, v in capabilities.items()}.get("sms")
        if sms is not True and str(sms).lower() != "true":
            return None
    return AvailableNumber(
        number=number,
        friendly_name=_text(record, "friendly_name") or number.national,
        locality=_text(record, "locality"),
        region=_text(record, "region"),
    )


def _conforms(telephony: TwilioTelephony) -> TelephonyProvider:
    return telephony  # mypy proves the adapter satisfies the port


__all__ = ["RetryPolicy", "TwilioTelephony"]
