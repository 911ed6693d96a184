"""Twilio's webhooks without a web framework: form parsing, signatures, TwiML.

:class:`TwilioSignatureVerifier` is the :class:`~neariq_sms.ports.webhooks.ProviderWebhooks`
port: the HTTP layer owns the routes and reaches these functions only through
it, as domain reports (Twilio's codes, such as 21610, stay here). A webhook request
is verified against the public URL Twilio was given (``NEARIQ_SMS_PUBLIC_URL``
plus the path), never the URL the server sees behind a proxy, and against the
form parameters exactly as received, blank values included.

The twilio SDK is imported only where it is used, so this module imports
without the ``twilio`` extra installed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from urllib.parse import parse_qsl, urlencode

from neariq_sms.domain.errors import InvalidField, MissingField
from neariq_sms.domain.keywords import Keyword
from neariq_sms.domain.messages import InboundReport, MessageStatus, StatusReport
from neariq_sms.ports.webhooks import INBOUND_PATH, STATUS_PATH, ProviderWebhooks

#: The query parameter of a status callback URL that carries our message id: a
#: callback can arrive before the send's answer (and its sid) has been stored.
STATUS_MESSAGE_PARAM = "messageId"
#: The request header that carries the signature (header names compare case-insensitively).
SIGNATURE_HEADER = "X-Twilio-Signature"
#: Twilio's error code for a recipient that unsubscribed at the carrier (texted STOP).
UNSUBSCRIBED_RECIPIENT = 21610
MAX_FORM_FIELDS = 1000

Params = Sequence[tuple[str, str]]


def status_callback_url(public_url: str, message_id: str | None = None) -> str:
    """Where Twilio reports a message's status: with our message id in the query
    string (:data:`STATUS_MESSAGE_PARAM`), which Twilio's signature covers."""
    url = public_url + STATUS_PATH
    return f"{url}?{urlencode({STATUS_MESSAGE_PARAM: message_id})}" if message_id else url


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

    # The rest of the port: Twilio's requests read into domain reports.
    signature_header = SIGNATURE_HEADER
    reply_media_type = "application/xml"

    def read_form(self, body: bytes) -> list[tuple[str, str]]:
        return parse_form(body)

    def inbound_report(self, params: Params) -> InboundReport:
        return inbound_from_form(params)

    def status_report(self, params: Params, query: str) -> StatusReport:
        return status_report_from_form(params, query)

    def reply(self, text: str | None) -> str:
        return twiml_reply(text)


#: Twilio's message sids: ``SM`` (SMS) or ``MM`` (MMS) and 32 hex digits, 34 characters
#: (the ``sid`` pattern of Twilio's OpenAPI description). ``[0-9]``, not ``\d``, which
#: matches other scripts' digits too; ``fullmatch``, since ``$`` also matches before a newline.
_MESSAGE_SID = re.compile(r"(?:SM|MM)[0-9a-fA-F]{32}")
#: E.164 exactly as Twilio writes it: ``+``, a non-zero digit, at most 15 digits in all.
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
#: Twilio's codes have five digits (a few six); the bound keeps them inside every
#: storage column (int32 on PostgreSQL).
_ERROR_CODE = re.compile(r"[0-9]{1,6}")
#: Every ``MessageStatus`` Twilio's Message resource defines.
TWILIO_MESSAGE_STATUSES = frozenset(
    {
        "accepted",
        "scheduled",
        "canceled",
        "queued",
        "sending",
        "sent",
        "failed",
        "delivered",
        "undelivered",
        "receiving",
        "received",
        "read",
        "partially_delivered",
    }
)
#: Advanced Opt-Out's classification of an inbound message.
_OPT_OUT_TYPES = {"STOP": Keyword.OPT_OUT, "START": Keyword.OPT_IN, "HELP": Keyword.HELP}
_SID_FIELDS = ("MessageSid", "SmsMessageSid", "SmsSid")


def _field(params: Params, name: str) -> str | None:
    """The one value of ``name``, ``None`` when absent; a field acted on comes once."""
    values = [value for key, value in params if key == name]
    if len(values) > 1:
        raise InvalidField(name, "must be given once")
    return values[0] if values else None


def _first_present(params: Params, names: Sequence[str]) -> tuple[str, str] | None:
    """The first of ``names`` (newest first, deprecated duplicates after) with a value."""
    for name in names:
        value = _field(params, name)
        if value:
            return name, value
    return None


def _message_sid(params: Params, names: Sequence[str]) -> str:
    found = _first_present(params, names)
    if found is None:
        raise MissingField(names[0])
    name, sid = found
    if not _MESSAGE_SID.fullmatch(sid):
        raise InvalidField(name, "must be a Twilio message sid (SM or MM and 32 hex digits)")
    return sid


def _e164(params: Params, name: str) -> str:
    value = _field(params, name)
    if not value:
        raise MissingField(name)
    if not _E164.fullmatch(value):
        raise InvalidField(name, "must be an E.164 number (+ and up to 15 digits)")
    return value


#: The fields of an inbound-message webhook the library acts on (a domain report).
InboundWebhook = InboundReport


def inbound_from_form(params: Params) -> InboundReport:
    """The inbound-message webhook's fields, each checked for the shape Twilio sends.

    Twilio's signature runs every name and value together with no separator,
    so characters can be moved from one parameter into its neighbour without
    breaking it (``NumMedia`` folded into ``MessageSid`` makes a "new" sid):
    the sid, both numbers and ``OptOutType`` must be exactly what Twilio
    sends, each given once. ``MessageSid`` falls back to its deprecated
    duplicates ``SmsMessageSid`` and ``SmsSid``; a missing ``Body`` reads as
    empty (a message with media only). Other parameters are not read.

    Raises:
        MissingField: no sid, no ``From`` or no ``To``.
        InvalidField: a field of the wrong shape, or given twice.
    """
    message_sid = _message_sid(params, _SID_FIELDS)
    from_ = _e164(params, "From")
    to = _e164(params, "To")
    raw_type = _field(params, "OptOutType")
    opt_out_type = _OPT_OUT_TYPES.get(raw_type) if raw_type else None
    if raw_type and opt_out_type is None:
        raise InvalidField("OptOutType", "must be STOP, START or HELP")
    return InboundReport(to, from_, _field(params, "Body") or "", message_sid, opt_out_type)


def status_from_form(params: Params) -> tuple[str, str, int | None]:
    """``(message_sid, message_status, error_code)`` of a status callback, shapes checked.

    The sid as for :func:`inbound_from_form`; ``MessageStatus`` (or the
    deprecated ``SmsStatus``) one of Twilio's statuses, as Twilio writes them;
    ``ErrorCode``, which only comes with ``failed`` and ``undelivered``, an
    ASCII integer of at most six digits (absent or blank: ``None``).

    Raises:
        MissingField: no sid or no status.
        InvalidField: a field of the wrong shape, or given twice.
    """
    sid = _message_sid(params, _SID_FIELDS)
    found = _first_present(params, ("MessageStatus", "SmsStatus"))
    if found is None:
        raise MissingField("MessageStatus")
    name, status = found
    if status not in TWILIO_MESSAGE_STATUSES:
        raise InvalidField(name, "must be one of Twilio's message statuses")
    raw_code = _field(params, "ErrorCode")
    if raw_code and not _ERROR_CODE.fullmatch(raw_code):
        raise InvalidField("ErrorCode", "must be an integer of at most six digits")
    return sid, status, int(raw_code) if raw_code else None


def status_report(
    sid: str, status: str, error_code: int | None = None, *, message_id: str | None = None
) -> StatusReport:
    """Twilio's status values in the domain's words (21610: the recipient opted out)."""
    return StatusReport(
        provider_sid=sid,
        status=MessageStatus.from_provider(status),
        error_code=error_code,
        recipient_opted_out=error_code == UNSUBSCRIBED_RECIPIENT,
        message_id=message_id,
    )


def status_report_from_form(params: Params, query: str) -> StatusReport:
    """A status callback as a domain report: :func:`status_from_form` on the form,
    :func:`status_message_id` on the callback URL's query, every shape checked.

    Raises:
        MissingField, InvalidField: as those two do, form first.
    """
    sid, status, error_code = status_from_form(params)
    return status_report(sid, status, error_code, message_id=status_message_id(query))


#: The library's own message ids (``uuid4().hex``).
_MESSAGE_ID = re.compile(r"[0-9a-f]{32}")


def status_message_id(query: str) -> str | None:
    """Our message id from a status callback's query string, shape checked.

    The id rides in the StatusCallback URL (:data:`STATUS_MESSAGE_PARAM`),
    which the signature covers, but where the URL ends and the first form
    parameter begins is not bound either: the id must be one of ours, given
    once. ``None`` when absent or blank (callback URLs given before ids were
    carried).

    Raises:
        InvalidField: not 32 hex digits, given twice, or an unreadable query.
    """
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise InvalidField(STATUS_MESSAGE_PARAM, "the query string is unreadable") from None
    values = [value for name, value in pairs if name == STATUS_MESSAGE_PARAM]
    if len(values) > 1:
        raise InvalidField(STATUS_MESSAGE_PARAM, "must be given once")
    if not values or not values[0]:
        return None
    if not _MESSAGE_ID.fullmatch(values[0]):
        raise InvalidField(STATUS_MESSAGE_PARAM, "must be a message id (32 hex digits)")
    return values[0]


def twiml_reply(text: str | None) -> str:
    """TwiML answering an inbound message: one ``<Message>``, or an empty ``<Response/>``."""
    from twilio.twiml.messaging_response import MessagingResponse

    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response.to_xml())


def _conforms(verifier: TwilioSignatureVerifier) -> ProviderWebhooks:
    return verifier  # mypy proves the adapter satisfies the port


__all__ = [
    "INBOUND_PATH",
    "SIGNATURE_HEADER",
    "STATUS_MESSAGE_PARAM",
    "STATUS_PATH",
    "TWILIO_MESSAGE_STATUSES",
    "UNSUBSCRIBED_RECIPIENT",
    "InboundWebhook",
    "TwilioSignatureVerifier",
    "inbound_from_form",
    "parse_form",
    "status_callback_url",
    "status_from_form",
    "status_message_id",
    "status_report",
    "status_report_from_form",
    "twiml_reply",
]
