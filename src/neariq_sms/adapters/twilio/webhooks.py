"""Twilio's webhooks without a web framework: form parsing, signatures, TwiML.

The HTTP layer owns the routes; it calls these functions. A webhook request
is verified against the public URL Twilio was given (``NEARIQ_SMS_PUBLIC_URL``
plus the path), never the URL the server sees behind a proxy, and against the
form parameters exactly as received, blank values included.

The twilio SDK is imported only where it is used, so the HTTP contract can
import the paths and the form helpers without the ``twilio`` extra installed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from urllib.parse import parse_qsl

INBOUND_PATH = "/api/sms/webhooks/twilio/inbound"
STATUS_PATH = "/api/sms/webhooks/twilio/status"
#: The request header that carries the signature (header names compare case-insensitively).
SIGNATURE_HEADER = "X-Twilio-Signature"
MAX_FORM_FIELDS = 1000

Params = Sequence[tuple[str, str]]


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """Decode an ``application/x-www-form-urlencoded`` body, order and blanks kept.

    Twilio sends empty fields (``FromCity=``); dropping them breaks the signature.

    Raises:
        ValueError: the body is not UTF-8 or not a well-formed form.
    """
    return parse_qsl(
        body.decode("utf-8"),
        keep_blank_values=True,
        strict_parsing=True,
        max_num_fields=MAX_FORM_FIELDS,
    )


class _MultiParams:
    """The Flask-``MultiDict`` face ``RequestValidator`` reads repeated keys through."""

    def __init__(self, params: Params) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in params:
            self._values.setdefault(name, []).append(value)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def getall(self, name: str) -> list[str]:
        return self._values[name]


class TwilioSignatureVerifier:
    """Checks ``X-Twilio-Signature`` (HMAC-SHA1 keyed with the account's auth token)."""

    def __init__(self, auth_token: str, public_url: str) -> None:
        from twilio.request_validator import RequestValidator

        if not auth_token:
            raise ValueError("an auth token is required")
        if not public_url.startswith(("https://", "http://")):
            raise ValueError("the public URL must be an absolute http(s) URL")
        self._validator = RequestValidator(auth_token)
        self.public_url = public_url.rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> TwilioSignatureVerifier | None:
        """From ``TWILIO_AUTH_TOKEN`` and ``NEARIQ_SMS_PUBLIC_URL``; ``None`` unless both set."""
        token = environ.get("TWILIO_AUTH_TOKEN", "").strip()
        public_url = environ.get("NEARIQ_SMS_PUBLIC_URL", "").strip()
        return cls(token, public_url) if token and public_url else None

    def __repr__(self) -> str:
        return f"TwilioSignatureVerifier(public_url={self.public_url!r})"

    def url_for(self, path: str, query: str = "") -> str:
        """The URL Twilio signed: the public URL, the path, and the query string as received."""
        return self.public_url + path + (f"?{query}" if query else "")

    def verify(self, path: str, params: Params, signature: str | None, query: str = "") -> bool:
        """True when ``signature`` is Twilio's for this request.

        Args:
            path: the request path, e.g. :data:`INBOUND_PATH`.
            params: the form parameters exactly as received (see :func:`parse_form`).
            signature: the ``X-Twilio-Signature`` header, ``None`` when absent.
            query: the raw query string, not re-encoded (a GET webhook's parameters).
        """
        if not signature:
            return False
        return bool(
            self._validator.validate(self.url_for(path, query), _MultiParams(params), signature)
        )


def _first(params: Params, *names: str) -> str | None:
    for name in names:
        for key, value in params:
            if key == name:
                return value
    return None


def inbound_from_form(params: Params) -> tuple[str, str, str, str | None]:
    """``(to, from_, body, message_sid)`` of an inbound-message webhook.

    Missing fields come back empty; ``handle_inbound_message`` ignores a
    message whose numbers do not parse. Keywords are read from ``Body``:
    ``OptOutType`` only arrives with Advanced Opt-Out.
    """
    return (
        _first(params, "To") or "",
        _first(params, "From") or "",
        _first(params, "Body") or "",
        _first(params, "MessageSid", "SmsMessageSid", "SmsSid") or None,
    )


def status_from_form(params: Params) -> tuple[str, str, int | None]:
    """``(message_sid, message_status, error_code)`` of a status callback.

    ``ErrorCode`` only comes with ``failed`` and ``undelivered``; anything
    that is not a number reads as ``None``.
    """
    raw_code = (_first(params, "ErrorCode") or "").strip()
    return (
        _first(params, "MessageSid", "SmsSid") or "",
        _first(params, "MessageStatus", "SmsStatus") or "",
        # isascii(): str.isdigit() accepts digits such as "²" that int() refuses.
        int(raw_code) if raw_code.isascii() and raw_code.isdigit() else None,
    )


def twiml_reply(text: str | None) -> str:
    """TwiML answering an inbound message: one ``<Message>``, or an empty ``<Response/>``."""
    from twilio.twiml.messaging_response import MessagingResponse

    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response.to_xml())


__all__ = [
    "INBOUND_PATH",
    "SIGNATURE_HEADER",
    "STATUS_PATH",
    "TwilioSignatureVerifier",
    "inbound_from_form",
    "parse_form",
    "status_from_form",
    "twiml_reply",
]
