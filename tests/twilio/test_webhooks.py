"""Webhook helpers: form parsing, X-Twilio-Signature, the form fields, TwiML."""

from __future__ import annotations

import base64
import hashlib
import hmac
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from urllib.parse import urlencode

import pytest

from neariq_sms.adapters.twilio import (
    INBOUND_PATH,
    STATUS_PATH,
    InboundWebhook,
    TwilioSignatureVerifier,
    inbound_from_form,
    parse_form,
    status_from_form,
    status_message_id,
    status_report,
    status_report_from_form,
    twiml_reply,
)
from neariq_sms.domain import InvalidField, Keyword, MessageStatus, MissingField
from neariq_sms.domain.messages import StatusReport

TOKEN = "0123456789abcdef0123456789abcdef"
PUBLIC_URL = "https://sms.example.com"


def twilio_signature(token: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """Twilio's algorithm, written out independently of the SDK's RequestValidator."""
    data = url
    for name in sorted({name for name, _ in params}):
        for value in sorted({v for n, v in params if n == name}):
            data += name + value
    digest = hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


INBOUND_FORM = [
    ("ToCountry", "US"),
    ("ToState", "TX"),
    ("SmsMessageSid", "SM" + "a" * 32),
    ("NumMedia", "0"),
    ("ToCity", ""),
    ("FromZip", ""),
    ("SmsSid", "SM" + "a" * 32),
    ("FromState", ""),
    ("SmsStatus", "received"),
    ("FromCity", ""),
    ("Body", "Stop."),
    ("FromCountry", "US"),
    ("To", "+15125550123"),
    ("ToZip", ""),
    ("NumSegments", "1"),
    ("MessageSid", "SM" + "a" * 32),
    ("AccountSid", "AC" + "1" * 32),
    ("From", "+15557654321"),
    ("ApiVersion", "2010-04-01"),
]


@pytest.fixture
def verifier() -> TwilioSignatureVerifier:
    return TwilioSignatureVerifier(TOKEN, PUBLIC_URL)


def signed(params: Sequence[tuple[str, str]], path: str = INBOUND_PATH) -> str:
    return twilio_signature(TOKEN, PUBLIC_URL + path, params)


# --- signatures ---------------------------------------------------------------------


def test_the_known_answer_vector_from_twilios_own_tests() -> None:
    """Token 12345, mycompany.com with a query string: RSOYDt4T1cUTdK1PDd93/VVr8B8=."""
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ]
    expected = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == expected
    verifier = TwilioSignatureVerifier("12345", "https://mycompany.com")
    assert verifier.verify("/myapp.php", params, expected, query="foo=1&bar=2")
    assert not verifier.verify("/myapp.php", params, expected)


def test_a_valid_signature_over_the_form_as_received_verifies(
    verifier: TwilioSignatureVerifier,
) -> None:
    """The body Twilio posts, parsed with its blank fields, verifies against the public URL."""
    params = parse_form(urlencode(INBOUND_FORM).encode())
    assert verifier.verify(INBOUND_PATH, params, signed(INBOUND_FORM))


def test_a_forged_signature_does_not_verify(verifier: TwilioSignatureVerifier) -> None:
    """Signed with another token (a forger without ours)."""
    forged = twilio_signature("not-the-token", PUBLIC_URL + INBOUND_PATH, INBOUND_FORM)
    assert not verifier.verify(INBOUND_PATH, INBOUND_FORM, forged)
    assert not verifier.verify(INBOUND_PATH, INBOUND_FORM, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=")


@pytest.mark.parametrize("header", [None, ""])
def test_a_missing_signature_header_does_not_verify(
    header: str | None, verifier: TwilioSignatureVerifier
) -> None:
    """No X-Twilio-Signature at all, or an empty one."""
    assert not verifier.verify(INBOUND_PATH, INBOUND_FORM, header)


def test_a_changed_parameter_does_not_verify(verifier: TwilioSignatureVerifier) -> None:
    """The signature covers every value: another Body breaks it."""
    signature = signed(INBOUND_FORM)
    changed = [(k, "START" if k == "Body" else v) for k, v in INBOUND_FORM]
    assert not verifier.verify(INBOUND_PATH, changed, signature)


def test_an_added_or_dropped_parameter_does_not_verify(verifier: TwilioSignatureVerifier) -> None:
    """Dropping the blank fields (parse_qsl's default) breaks the signature, as does adding one."""
    signature = signed(INBOUND_FORM)
    without_blanks = [(k, v) for k, v in INBOUND_FORM if v]
    assert not verifier.verify(INBOUND_PATH, without_blanks, signature)
    assert not verifier.verify(INBOUND_PATH, [*INBOUND_FORM, ("Extra", "1")], signature)


def test_a_url_behind_a_different_public_host_does_not_verify() -> None:
    """Twilio signed the URL it was given; a verifier configured for another host refuses it."""
    signature = signed(INBOUND_FORM)
    elsewhere = TwilioSignatureVerifier(TOKEN, "https://other.example.net")
    internal = TwilioSignatureVerifier(TOKEN, "http://127.0.0.1:8000")
    assert not elsewhere.verify(INBOUND_PATH, INBOUND_FORM, signature)
    assert not internal.verify(INBOUND_PATH, INBOUND_FORM, signature)


def test_the_signature_binds_the_path(verifier: TwilioSignatureVerifier) -> None:
    """An inbound request's signature does not verify on the status path."""
    assert not verifier.verify(STATUS_PATH, INBOUND_FORM, signed(INBOUND_FORM))


def test_repeated_keys_are_all_signed(verifier: TwilioSignatureVerifier) -> None:
    """Every value of a repeated key counts (MediaUrl0, or a key sent twice)."""
    params = [("Body", "hi"), ("Tag", "b"), ("Tag", "a")]
    signature = signed(params)
    assert verifier.verify(INBOUND_PATH, params, signature)
    assert not verifier.verify(INBOUND_PATH, [("Body", "hi"), ("Tag", "b")], signature)


def test_a_get_webhook_signs_the_query_string(verifier: TwilioSignatureVerifier) -> None:
    """Parameters in the URL: the raw query is part of the signed URL."""
    query = "From=%2B15557654321&Body=hi"
    signature = twilio_signature(TOKEN, f"{PUBLIC_URL}{INBOUND_PATH}?{query}", [])
    assert verifier.verify(INBOUND_PATH, [], signature, query=query)
    assert not verifier.verify(INBOUND_PATH, [], signature, query="From=%2B15557654321&Body=yo")


def test_a_public_url_with_a_path_prefix_and_trailing_slash() -> None:
    """The public URL may carry a prefix; a trailing slash does not double up."""
    url = "https://example.com/neariq"
    signature = twilio_signature(TOKEN, url + STATUS_PATH, [("MessageSid", "SM1")])
    verifier = TwilioSignatureVerifier(TOKEN, url + "/")
    assert verifier.verify(STATUS_PATH, [("MessageSid", "SM1")], signature)


def test_from_env_needs_the_token_and_the_public_url() -> None:
    """Either missing: no verifier (the HTTP layer then refuses every webhook)."""
    assert TwilioSignatureVerifier.from_env({"TWILIO_AUTH_TOKEN": TOKEN}) is None
    assert TwilioSignatureVerifier.from_env({"NEARIQ_SMS_PUBLIC_URL": PUBLIC_URL}) is None
    built = TwilioSignatureVerifier.from_env(
        {"TWILIO_AUTH_TOKEN": TOKEN, "NEARIQ_SMS_PUBLIC_URL": PUBLIC_URL}
    )
    assert built is not None
    assert built.verify(INBOUND_PATH, INBOUND_FORM, signed(INBOUND_FORM))


# --- form parsing -------------------------------------------------------------------


def test_parse_form_keeps_blank_values_and_order() -> None:
    """Blank fields, repeated keys and their order survive; + and %XX decode."""
    assert parse_form(b"ToCity=&Body=Stop+now%21&A=1&A=2") == [
        ("ToCity", ""),
        ("Body", "Stop now!"),
        ("A", "1"),
        ("A", "2"),
    ]
    assert parse_form(b"") == []


@pytest.mark.parametrize("body", [b"Body", b"a=1&&b=2", b"Body=\xff"])
def test_parse_form_rejects_a_malformed_body(body: bytes) -> None:
    """A field without '=', an empty pair, or bytes that are not UTF-8."""
    with pytest.raises(ValueError):  # noqa: PT011 - ValueError is the documented contract
        parse_form(body)


SID = "SM" + "a" * 32
STATUS_FORM = [
    ("SmsSid", SID),
    ("SmsStatus", "undelivered"),
    ("MessageStatus", "undelivered"),
    ("To", "+15557654321"),
    ("MessageSid", SID),
    ("AccountSid", "AC" + "1" * 32),
    ("From", "+15125550123"),
    ("ApiVersion", "2010-04-01"),
    ("ErrorCode", "30003"),
]


def replaced(form: Sequence[tuple[str, str]], **fields: str | None) -> list[tuple[str, str]]:
    """``form`` with some fields given another value (``None``: dropped), order kept."""
    names = {name for name, _ in form}
    changed = [(k, fields.get(k, v)) for k, v in form]
    changed += [(k, v) for k, v in fields.items() if k not in names]
    return [(k, v) for k, v in changed if v is not None]


def test_inbound_from_form_reads_twilios_fields() -> None:
    """To, From, Body and MessageSid; no OptOutType without Advanced Opt-Out."""
    assert inbound_from_form(INBOUND_FORM) == InboundWebhook(
        to="+15125550123", from_="+15557654321", body="Stop.", message_sid=SID, opt_out_type=None
    )


def test_the_deprecated_sid_fields_stand_in_for_message_sid() -> None:
    """SmsMessageSid, then SmsSid, when MessageSid is absent; a missing Body reads as empty."""
    form = replaced(INBOUND_FORM, MessageSid=None, Body=None)
    assert inbound_from_form(form).message_sid == SID
    assert inbound_from_form(form).body == ""
    only_sms_sid = replaced(form, SmsMessageSid=None)
    assert inbound_from_form(only_sms_sid).message_sid == SID


@pytest.mark.parametrize(
    ("value", "keyword"),
    [("STOP", Keyword.OPT_OUT), ("START", Keyword.OPT_IN), ("HELP", Keyword.HELP), ("", None)],
)
def test_opt_out_type_is_twilios_own_classification(value: str, keyword: Keyword | None) -> None:
    """Advanced Opt-Out adds OptOutType=STOP|START|HELP; a blank one reads as absent."""
    form = replaced(INBOUND_FORM, Body="ARRET", OptOutType=value)
    assert inbound_from_form(form).opt_out_type is keyword


BAD_SIDS = [
    "SM" + "a" * 31,
    "SM" + "a" * 33,
    "SM" + "g" * 32,
    "sm" + "a" * 32,
    "PN" + "a" * 32,
    "SM" + "\uff11" * 32,
    SID + "NumMedia0",
    SID + "\n",
    " " + SID,
    "SM1",
]
BAD_NUMBERS = [
    "15557654321",
    "+1 555 765 4321",
    "+1-555-765-4321",
    "+15557654321\n",
    " +15557654321",
    "whatsapp:+15557654321",
    "+",
    "+05557654321",
    "+1555765432100000",
    "+\uff11\uff15\uff15\uff15\uff17\uff16\uff15\uff14\uff13\uff12\uff11",
    "+15557654321NumMedia0",
]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        *[("MessageSid", v) for v in BAD_SIDS],
        *[("SmsMessageSid", v) for v in BAD_SIDS[:3]],
        *[("From", v) for v in BAD_NUMBERS],
        *[("To", v) for v in BAD_NUMBERS[:4]],
        ("OptOutType", "stop"),
        ("OptOutType", "STOPALL"),
        ("OptOutType", "STOP\n"),
        ("OptOutType", "STOPSmsMessageSid"),
    ],
)
def test_an_inbound_field_of_the_wrong_shape_is_invalid(field: str, value: str) -> None:
    """The signature does not bind where one field ends: every field acted on is checked."""
    form = replaced(INBOUND_FORM, **{field: value})
    if field == "SmsMessageSid":
        form = replaced(form, MessageSid=None)
    with pytest.raises(InvalidField) as raised:
        inbound_from_form(form)
    assert raised.value.field == field


@pytest.mark.parametrize("field", ["MessageSid", "From", "To"])
def test_a_missing_inbound_field_is_missing(field: str) -> None:
    """Twilio always sends them: absent or blank is missing_field."""
    drop: dict[str, str | None] = {field: None}
    if field == "MessageSid":
        drop |= {"SmsMessageSid": None, "SmsSid": None}
    with pytest.raises(MissingField) as raised:
        inbound_from_form(replaced(INBOUND_FORM, **drop))
    assert raised.value.field == field
    with pytest.raises(MissingField):
        inbound_from_form(replaced(INBOUND_FORM, **{**drop, field: ""}))


def test_a_field_acted_on_given_twice_is_invalid() -> None:
    """Two MessageSid values (or two From, two ErrorCode) cannot both be the message's."""
    with pytest.raises(InvalidField):
        inbound_from_form([*INBOUND_FORM, ("MessageSid", "SM" + "b" * 32)])
    with pytest.raises(InvalidField):
        inbound_from_form([*INBOUND_FORM, ("From", "+15557654321")])
    with pytest.raises(InvalidField):
        status_from_form([*STATUS_FORM, ("ErrorCode", "30003")])


def test_status_from_form_reads_sid_status_and_error_code() -> None:
    """ErrorCode is an int when present, None when absent or blank."""
    assert status_from_form(STATUS_FORM) == (SID, "undelivered", 30003)
    delivered = replaced(STATUS_FORM, MessageStatus="delivered", ErrorCode="")
    assert status_from_form(delivered) == (SID, "delivered", None)
    assert status_from_form(replaced(delivered, ErrorCode=None)) == (SID, "delivered", None)
    legacy = [("SmsSid", SID), ("SmsStatus", "sent")]
    assert status_from_form(legacy) == (SID, "sent", None)


@pytest.mark.parametrize(
    "status",
    [
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
    ],
)
def test_every_status_twilio_sends_is_accepted(status: str) -> None:
    """Twilio's whole MessageStatus set reads (the use case ignores the ones it does not track)."""
    assert status_from_form(replaced(STATUS_FORM, MessageStatus=status))[1] == status


@pytest.mark.parametrize("code", ["0", "21610", "30008", "063016", "999999"])
def test_an_error_code_in_range_reads_as_its_integer(code: str) -> None:
    """Twilio's codes have at most six digits."""
    assert status_from_form(replaced(STATUS_FORM, ErrorCode=code))[2] == int(code)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        *[("MessageSid", v) for v in BAD_SIDS],
        ("MessageStatus", "DELIVERED"),
        ("MessageStatus", "delivered\n"),
        ("MessageStatus", "bogus"),
        ("MessageStatus", "deliveredTo+15557654321"),
        ("MessageStatus", "submitting"),
        ("ErrorCode", "9" * 20),
        ("ErrorCode", "2147483648"),
        ("ErrorCode", "1000000"),
        ("ErrorCode", "-1"),
        ("ErrorCode", "+30003"),
        ("ErrorCode", " 30003"),
        ("ErrorCode", "30003\n"),
        ("ErrorCode", "1e3"),
        ("ErrorCode", "3_0003"),
        ("ErrorCode", "\u00b2"),
        ("ErrorCode", "\u0663\u0660"),
        ("ErrorCode", "\uff12\uff11\uff16\uff11\uff10"),
        ("ErrorCode", "30003From+15125550123"),
    ],
)
def test_a_status_field_of_the_wrong_shape_is_invalid(field: str, value: str) -> None:
    """An unknown status, a sid that is not Twilio's, an ErrorCode out of range: invalid_field."""
    with pytest.raises(InvalidField) as raised:
        status_from_form(replaced(STATUS_FORM, **{field: value}))
    assert raised.value.field == field


@pytest.mark.parametrize("field", ["MessageSid", "MessageStatus"])
def test_a_missing_status_field_is_missing(field: str) -> None:
    """No sid or no status: nothing to apply."""
    legacy = {"MessageSid": "SmsSid", "MessageStatus": "SmsStatus"}[field]
    with pytest.raises(MissingField) as raised:
        status_from_form(replaced(STATUS_FORM, **{field: None, legacy: None}))
    assert raised.value.field == field


def test_status_message_id_reads_our_id_from_the_callback_query() -> None:
    """32 hex digits, once; absent or blank is None (URLs given before ids were carried)."""
    message_id = "0123456789abcdef" * 2
    assert status_message_id(f"messageId={message_id}") == message_id
    assert status_message_id(f"a=1&messageId={message_id}") == message_id
    assert status_message_id("") is None
    assert status_message_id("messageId=") is None
    for bad in [f"messageId={message_id}A", f"messageId={message_id}&messageId={message_id}"]:
        with pytest.raises(InvalidField):
            status_message_id(bad)


def test_the_malleability_attack_moves_characters_without_breaking_the_signature(
    verifier: TwilioSignatureVerifier,
) -> None:
    """Folding NumMedia into MessageSid keeps the signature valid; the sid's shape refuses it."""
    folded = [(k, v + "NumMedia0" if k == "MessageSid" else v) for k, v in INBOUND_FORM]
    folded = [(k, v) for k, v in folded if k != "NumMedia"]
    assert verifier.verify(INBOUND_PATH, folded, signed(INBOUND_FORM))
    with pytest.raises(InvalidField):
        inbound_from_form(folded)


def test_the_webhook_helpers_import_without_the_twilio_sdk() -> None:
    """The HTTP contract imports the paths and form helpers whether or not twilio is installed."""
    script = (
        "import sys\n"
        "sys.modules['twilio'] = None\n"
        "from neariq_sms.adapters.http import ROUTES\n"
        "from neariq_sms.adapters.twilio.webhooks import INBOUND_PATH, STATUS_PATH, parse_form\n"
        "assert INBOUND_PATH in ROUTES and STATUS_PATH in ROUTES\n"
        "assert parse_form(b'a=&b=2') == [('a', ''), ('b', '2')]\n"
        "print(sorted(m for m in sys.modules if m.startswith('twilio.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --- TwiML --------------------------------------------------------------------------


def test_twiml_reply_without_text_is_an_empty_response() -> None:
    """Twilio accepts an empty <Response/>: no reply is sent."""
    root = ET.fromstring(twiml_reply(None))  # noqa: S314 - our own output, not untrusted
    assert (root.tag, list(root)) == ("Response", [])


def test_twiml_reply_escapes_the_message() -> None:
    """One <Message> whose text survives XML escaping intact."""
    text = 'Aster & Grove <gym>: reply "STOP" to opt out.'
    root = ET.fromstring(twiml_reply(text))  # noqa: S314 - our own output, not untrusted
    [message] = list(root)
    assert (message.tag, message.text) == ("Message", text)


# --- the status callback as a domain report -----------------------------------------


@pytest.mark.parametrize(
    ("code", "opted_out"), [("21610", True), ("30003", False), ("", False), (None, False)]
)
def test_a_status_callback_becomes_a_domain_report(code: str | None, opted_out: bool) -> None:
    """Twilio's 21610 reads as ``recipient_opted_out``; the code itself is kept as given."""
    form = replaced(STATUS_FORM, ErrorCode=code)
    report = status_report_from_form(form, f"messageId={'c' * 32}")
    assert report == StatusReport(
        provider_sid=SID,
        status=MessageStatus.UNDELIVERED,
        error_code=int(code) if code else None,
        recipient_opted_out=opted_out,
        message_id="c" * 32,
    )


def test_an_untracked_status_reads_as_none_and_no_id_as_none() -> None:
    """Twilio's ``received`` is no outbound status of ours; a URL without ``messageId``."""
    report = status_report_from_form(replaced(STATUS_FORM, MessageStatus="received"), "")
    assert (report.status, report.message_id) == (None, None)
    assert status_report(SID, "delivered") == StatusReport(SID, MessageStatus.DELIVERED)


def test_the_report_checks_the_form_before_the_query() -> None:
    """A bad form answers for its own field even when the query is bad too."""
    with pytest.raises(InvalidField) as raised:
        status_report_from_form(replaced(STATUS_FORM, MessageStatus="bogus"), "messageId=zz")
    assert raised.value.field == "MessageStatus"
    with pytest.raises(InvalidField) as raised:
        status_report_from_form(STATUS_FORM, "messageId=zz")
    assert raised.value.field == "messageId"
