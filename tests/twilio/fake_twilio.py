"""A loopback imitation of the Twilio REST operations the adapter uses.

A real HTTP server on 127.0.0.1 (``ThreadingHTTPServer`` in a thread) that
speaks Twilio's 2010-04-01 API as far as ``neariq_sms`` needs it: the paths,
form and query parameters, HTTP Basic auth, the JSON records and the error
shape (``code``, ``message``, ``more_info``, ``status``). The real SDK reaches
it over HTTP through :class:`LoopbackHttpClient`, a ``TwilioHttpClient`` that
rewrites ``https://api.twilio.com`` to the server.

Besides the four operations (search, buy, release, send) it lists messages
(``To``, ``From``, ``DateSent`` filters) and the account's numbers, which
reconciliation reads.

The US A2P 10DLC registration endpoints (Trust Hub v1, Messaging v1,
Addresses) live in :mod:`tests.twilio.fake_a2p`, as ``fake.a2p``; the loopback
client tells the server which ``*.twilio.com`` host a request was for. With
``strict`` on, like Twilio, a message from a number that is not in a
Messaging Service with a ``VERIFIED`` campaign is accepted (201) and then
reported ``undelivered`` with error 30034.

Failures can be injected per operation: an HTTP error (429 with
``Retry-After``, 500, any Twilio error code), before the operation or after
it took effect (``after=True``), or a slow answer (the operation takes
effect, the answer comes late: a client timeout).
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import re
import socket
import threading
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from tests.twilio.fake_a2p import FakeA2P, Refusal

Operation = Literal["search", "purchase", "release", "send", "find_messages", "owned_numbers"]

_API = "/2010-04-01/Accounts/(?P<account>[^/]+)"
_ROUTES: list[tuple[str, re.Pattern[str], Operation]] = [
    (
        "GET",
        re.compile(_API + r"/AvailablePhoneNumbers/(?P<country>[A-Z]{2})/Local\.json"),
        "search",
    ),
    ("POST", re.compile(_API + r"/IncomingPhoneNumbers\.json"), "purchase"),
    ("DELETE", re.compile(_API + r"/IncomingPhoneNumbers/(?P<sid>[^/]+)\.json"), "release"),
    ("POST", re.compile(_API + r"/Messages\.json"), "send"),
    ("GET", re.compile(_API + r"/Messages\.json"), "find_messages"),
    ("GET", re.compile(_API + r"/IncomingPhoneNumbers\.json"), "owned_numbers"),
]
#: The header :class:`LoopbackHttpClient` adds: which ``*.twilio.com`` host was meant.
HOST_HEADER = "X-Fake-Twilio-Host"
#: Twilio's asynchronous refusal of unregistered 10DLC traffic (status callback only).
UNREGISTERED_10DLC = 30034
#: Distinctive, so a test can search logs and messages for it.
FAKE_AUTH_TOKEN = "fake-auth-token-0d1e2a3d"
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_LOCALITIES = {"512": ("Austin", "TX"), "415": ("San Francisco", "CA"), "212": ("New York", "NY")}
_FIRST_LINE, _LAST_LINE = 123, 199


def _national(e164: str) -> str:
    return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"


@dataclass
class Injection:
    """One scripted misbehaviour of the next call of an operation."""

    status: int | None = None
    code: int | None = None
    retry_after: str | None = None
    #: Seconds to hold the answer back after the operation took effect.
    delay: float = 0.0
    #: Answer ``status`` only after the operation took effect (an ambiguous failure).
    after: bool = False
    #: Set once the (slow) operation has taken effect on the server.
    acted: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Recorded:
    """A request as the fake received it."""

    operation: str | None
    method: str
    path: str
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]
    headers: dict[str, str]
    authorized: bool

    def param(self, name: str) -> str | None:
        return next((v for k, v in [*self.query, *self.form] if k == name), None)


class _Answer(Exception):
    def __init__(self, status: int, payload: dict[str, Any] | None, headers: dict[str, str]):
        self.status, self.payload, self.headers = status, payload, headers


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> _Answer:
    payload = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return _Answer(status, payload, headers or {})


class FakeTwilio:
    """The fake Twilio account and its server. Use as a context manager."""

    def __init__(
        self,
        *,
        account_sid: str = "AC" + "0123456789abcdef" * 2,
        auth_token: str = FAKE_AUTH_TOKEN,
        available_caps_lowercase: bool = False,
        honour_sms_enabled: bool = True,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.available_caps_lowercase = available_caps_lowercase
        #: A server that ignored ``SmsEnabled`` would return voice-only numbers too.
        self.honour_sms_enabled = honour_sms_enabled
        #: The fake's clock (``date_created``, ``date_sent``); real time by default.
        self.now = now or (lambda: datetime.now(UTC))
        #: Messages stay queued (no ``date_sent``) instead of going out at once.
        self.hold_in_queue = False
        #: Per operation, the share of calls that misbehave at random (load runs):
        #: a 429, a 500 or a slow answer, drawn with ``random_faults_rng``.
        self.random_faults: dict[str, float] = {}
        self.random_faults_rng = random.Random(0)
        self.random_faults_slow = 1.0
        #: How many random misbehaviours were served, by "operation kind".
        self.random_injected: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.requests: list[Recorded] = []
        #: (operation, HTTP status) of every answer, in order.
        self.answers: list[tuple[str | None, int]] = []
        self.owned: dict[str, dict[str, Any]] = {}
        self.messages: list[dict[str, Any]] = []
        #: Numbers that can no longer be bought (21422).
        self.unavailable: set[str] = set()
        #: Recipients that texted STOP (21610).
        self.opted_out: set[str] = set()
        #: Recipients that are landlines (21614).
        self.landlines: set[str] = set()
        #: Numbers offered without the SMS capability.
        self.voice_only: set[str] = set()
        #: Posts one status callback (its URL, its form) for each of ``callback_statuses``
        #: once a send is accepted and before its answer leaves: the callback beats the answer.
        self.deliver_callback: Callable[[str, list[tuple[str, str]]], None] | None = None
        #: (MessageStatus, ErrorCode or None) of the callbacks ``deliver_callback`` posts.
        self.callback_statuses: list[tuple[str, int | None]] = [("sent", None)]
        #: Like Twilio: unregistered 10DLC traffic gets ``undelivered`` / 30034 callbacks.
        self.strict = False
        self._injections: dict[str, deque[Injection]] = {}
        self.a2p = FakeA2P(self)
        self._a2p_routes = self.a2p.routes()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------

    def start(self) -> FakeTwilio:
        fake = self

        class Handler(_Handler):
            twilio = fake

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(
            # A short poll keeps shutdown() quick: each test starts and stops a server.
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-twilio",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeTwilio:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def client(self, *, auth_token: str | None = None, timeout: float | None = None) -> Any:
        """A real ``twilio.rest.Client`` that talks to this server."""
        return Client(
            self.account_sid,
            self.auth_token if auth_token is None else auth_token,
            http_client=LoopbackHttpClient(self.base_url, timeout=timeout),
            environment={"NEARIQ_SMS_TEST": "no fallback to os.environ"},
        )

    # --- scripting -----------------------------------------------------------

    def inject(
        self,
        operation: str,
        *,
        status: int | None = None,
        code: int | None = None,
        retry_after: str | None = None,
        delay: float = 0.0,
        after: bool = False,
        times: int = 1,
    ) -> Injection:
        """Make the next ``times`` calls of ``operation`` misbehave; returns the injection.

        ``operation`` is one of :data:`Operation` or an A2P operation name
        (``"brands.create"``, ``"end_users.create"``: see :meth:`FakeA2P.routes`).
        """
        injection = Injection(
            status=status, code=code, retry_after=retry_after, delay=delay, after=after
        )
        with self.lock:
            self._injections.setdefault(operation, deque()).extend([injection] * times)
        return injection

    def requests_for(self, operation: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.operation == operation]

    def _next_injection(self, operation: str) -> Injection | None:
        with self.lock:
            queue = self._injections.get(operation)
            if queue:
                return queue.popleft()
            rng = self.random_faults_rng
            if rng.random() >= self.random_faults.get(operation, 0.0):
                return None
            kind = rng.choice(["429", "500", "slow"])
            self.random_injected[f"{operation} {kind}"] += 1
            if kind == "slow":
                return Injection(delay=self.random_faults_slow)
            return Injection(status=int(kind), retry_after="0" if kind == "429" else None)

    def _callbacks_before_answer(self, message: dict[str, Any]) -> None:
        url, deliver = message.get("status_callback"), self.deliver_callback
        if not url or deliver is None:
            return
        statuses = self.callback_statuses
        with self.lock:
            listed = next((m for m in self.messages if m["sid"] == message["sid"]), {})
        if listed.get("error_code") == UNREGISTERED_10DLC:
            statuses = [("undelivered", UNREGISTERED_10DLC)]
        for status, error_code in statuses:
            params = [
                ("AccountSid", self.account_sid),
                ("ApiVersion", "2010-04-01"),
                ("From", message["from"]),
                ("MessageSid", message["sid"]),
                ("MessageStatus", status),
                ("SmsSid", message["sid"]),
                ("SmsStatus", status),
                ("To", message["to"]),
            ]
            if error_code is not None:
                params.append(("ErrorCode", str(error_code)))
            deliver(url, params)

    def _hold(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    # --- the operations ------------------------------------------------------

    def _search(self, country: str, query: list[tuple[str, str]], path: str) -> dict[str, Any]:
        params = dict(query)
        area_code = params.get("AreaCode", "")
        if not re.fullmatch(r"\d{3}", area_code) or country != "US":
            raise _error(400, 21451, "Invalid area code")
        page_size = int(params.get("PageSize", "50"))
        sms_only = params.get("SmsEnabled") == "true" and self.honour_sms_enabled
        locality, region = _LOCALITIES.get(area_code, (None, None))
        owned = {n["phone_number"] for n in self.owned.values()}
        found = []
        for line in range(_FIRST_LINE, _LAST_LINE + 1):
            number = f"+1{area_code}5550{line:03d}"
            sms = number not in self.voice_only
            if number in owned or number in self.unavailable or (sms_only and not sms):
                continue
            caps = {"voice": True, "SMS": sms, "MMS": sms}
            if self.available_caps_lowercase:
                caps = {k.lower(): v for k, v in caps.items()}
            found.append(
                {
                    "friendly_name": _national(number),
                    "phone_number": number,
                    "lata": "672",
                    "locality": locality,
                    "rate_center": (locality or "").upper() or None,
                    "latitude": "30.267200",
                    "longitude": "-97.743100",
                    "region": region,
                    "postal_code": None,
                    "iso_country": "US",
                    "address_requirements": "none",
                    "beta": False,
                    "capabilities": caps,
                }
            )
            if len(found) >= page_size:
                break
        uri = f"{path}?{'&'.join(f'{k}={v}' for k, v in query)}"
        return {
            "available_phone_numbers": found,
            "uri": uri,
            "first_page_uri": uri,
            "next_page_uri": None,
            "previous_page_uri": None,
            "page": 0,
            "page_size": page_size,
            "start": 0,
            "end": max(len(found) - 1, 0),
        }

    def _purchase(self, form: dict[str, str]) -> dict[str, Any]:
        number = form.get("PhoneNumber", "")
        if not _E164.match(number):
            raise _error(400, 21421, "PhoneNumber is invalid")
        if number in self.unavailable:
            raise _error(400, 21422, "PhoneNumber is not available")
        for record in self.owned.values():
            if record["phone_number"] == number:
                # Reported behaviour (unverified): buying an owned number updates it.
                record.update(_webhook_fields(form, record))
                return record
        sid = "PN" + uuid.uuid4().hex
        now = format_datetime(self.now())
        record = {
            "sid": sid,
            "account_sid": self.account_sid,
            "phone_number": number,
            "friendly_name": _national(number),
            "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
            "status": "in-use",
            "origin": "twilio",
            "type": "local",
            "date_created": now,
            "date_updated": now,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/IncomingPhoneNumbers/{sid}.json",
        }
        record.update(_webhook_fields(form, {}))
        self.owned[sid] = record
        return record

    def _release(self, sid: str, path: str) -> None:
        if self.owned.pop(sid, None) is None:
            raise _error(404, 20404, f"The requested resource {path} was not found")
        self.a2p.released(sid)

    def _sender(self, form: dict[str, str]) -> tuple[str | None, str | None]:
        """(From, MessagingServiceSid): a service's pool supplies or vouches for the sender."""
        from_, service_sid = form.get("From"), form.get("MessagingServiceSid")
        if not service_sid:
            return from_, None
        pool = self.a2p.pools.get(service_sid)
        if pool is None:
            # The fake's choice of code: the sources name none for an unknown service.
            raise _error(400, 21705, "The Messaging Service Sid is invalid")
        numbers = [record["phone_number"] for record in pool.values()]
        if from_ is None:
            if not numbers:
                raise _error(400, 21704, "The Messaging Service contains no phone numbers")
            return numbers[0], service_sid
        if from_ not in numbers:
            raise _error(400, 21711, "The 'From' number is not in the Messaging Service")
        return from_, service_sid

    def _send(self, form: dict[str, str]) -> dict[str, Any]:
        to, body = form.get("To"), form.get("Body")
        if not to:
            raise _error(400, 21604, "A 'To' phone number is required.")
        from_, service_sid = self._sender(form)
        if not from_:
            raise _error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
        if not body:
            raise _error(400, 21602, "Message body is required.")
        if not _E164.match(to):
            raise _error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if to in self.landlines:
            raise _error(400, 21614, f"'To' number {to} is not a valid mobile number")
        if from_ not in {n["phone_number"] for n in self.owned.values()}:
            raise _error(
                400,
                21606,
                f"The 'From' phone number provided ({from_}) is not a valid message-capable"
                " Twilio phone number for this destination/account",
            )
        callback = form.get("StatusCallback")
        if callback is not None:
            host = urlsplit(callback).hostname or ""
            if not callback.startswith(("http://", "https://")) or not host or "_" in host:
                raise _error(400, 21609, "Invalid 'StatusCallback'")
        if to in self.opted_out:
            raise _error(400, 21610, "Attempt to send to unsubscribed recipient")
        sid = "SM" + uuid.uuid4().hex
        now = format_datetime(self.now())
        message = {
            "sid": sid,
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "from": from_,
            "to": to,
            # Initial status: accepted through a service, queued without (twilio.md §4).
            "status": "accepted" if service_sid else "queued",
            "direction": "outbound-api",
            "num_segments": "1",
            "num_media": "0",
            "messaging_service_sid": service_sid,
            "price": None,
            "price_unit": "USD",
            "error_code": None,
            "error_message": None,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            "status_callback": callback,
        }
        # The fake hands a message on at once: its list record has a date_sent,
        # while the answer to the create, like Twilio's, has none yet.
        listed = {**message, "date_sent": None if self.hold_in_queue else now}
        if self.strict and from_ not in self.a2p.verified_senders():
            # Carriers drop unregistered 10DLC traffic; the API still answered 201.
            listed.update(status="undelivered", error_code=UNREGISTERED_10DLC)
        self.messages.append(listed)
        return message

    def _list_messages(self, query: list[tuple[str, str]], path: str) -> dict[str, Any]:
        params = dict(query)
        page_size = int(params.get("PageSize", "50"))
        found = [
            m
            for m in reversed(self.messages)  # newest first
            if params.get("To", m["to"]) == m["to"]
            and params.get("From", m["from"]) == m["from"]
            and _date_sent_matches(m["date_sent"], params)
        ]
        return _page("messages", found[:page_size], path, query, page_size)

    def _list_numbers(self, query: list[tuple[str, str]], path: str) -> dict[str, Any]:
        params = dict(query)
        page_size = int(params.get("PageSize", "50"))
        found = [
            n
            for n in self.owned.values()
            if params.get("PhoneNumber", n["phone_number"]) == n["phone_number"]
        ]
        return _page("incoming_phone_numbers", found[:page_size], path, query, page_size)


def _day_or_time(raw: str) -> datetime:
    """A ``DateSent`` value: ``YYYY-MM-DD`` (midnight GMT) or ISO 8601 as the SDK sends it."""
    if len(raw) == 10:
        return datetime.fromisoformat(raw).replace(tzinfo=UTC)
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))


def _date_sent_matches(date_sent: str | None, params: dict[str, str]) -> bool:
    """``DateSent>`` is on or after, ``DateSent<`` on or before, ``DateSent`` that day.

    A message without a ``date_sent`` matches no date filter (unverified for
    Twilio, which documents nothing about it; the adapter copes either way).
    """
    filters = {k: v for k, v in params.items() if k.startswith("DateSent")}
    if not filters:
        return True
    if date_sent is None:
        return False
    sent = parsedate_to_datetime(date_sent)
    for name, raw in filters.items():
        bound = _day_or_time(raw)
        if name == "DateSent>" and sent < bound:
            return False
        if name == "DateSent<" and sent > bound:
            return False
        if name == "DateSent" and sent.date() != bound.date():
            return False
    return True


def _page(
    key: str, records: list[dict[str, Any]], path: str, query: list[tuple[str, str]], size: int
) -> dict[str, Any]:
    uri = f"{path}?{'&'.join(f'{k}={v}' for k, v in query)}"
    return {
        key: records,
        "uri": uri,
        "first_page_uri": uri,
        "next_page_uri": None,
        "previous_page_uri": None,
        "page": 0,
        "page_size": size,
        "start": 0,
        "end": max(len(records) - 1, 0),
    }


def _webhook_fields(form: dict[str, str], record: dict[str, Any]) -> dict[str, Any]:
    return {
        "sms_url": form.get("SmsUrl", record.get("sms_url")),
        "sms_method": form.get("SmsMethod", record.get("sms_method", "POST")),
        "status_callback": form.get("StatusCallback", record.get("status_callback")),
    }


class _Handler(BaseHTTPRequestHandler):
    twilio: FakeTwilio

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _route(self, path: str) -> tuple[str | None, re.Match[str] | None, Any]:
        host = self.headers.get(HOST_HEADER, "api")
        if host == "api":
            for method, pattern, name in _ROUTES:
                found = pattern.fullmatch(path)
                if found and method == self.command:
                    return name, found, None
        for route_host, method, pattern, name, handler in self.twilio._a2p_routes:
            found = pattern.fullmatch(path)
            if found and method == self.command and route_host == host:
                return name, found, handler
        return None, None, None

    def _serve(self) -> None:
        fake = self.twilio
        url = urlsplit(self.path)
        query = parse_qsl(url.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        form = parse_qsl(raw, keep_blank_values=True)
        operation, match, handler = self._route(url.path)
        self._operation = operation
        account = None if match is None else match.groupdict().get("account")
        authorized = self._authorized() and account in (None, fake.account_sid)
        with fake.lock:
            fake.requests.append(
                Recorded(
                    operation, self.command, url.path, query, form, dict(self.headers), authorized
                )
            )
        try:
            if not authorized:
                raise _error(401, 20003, "Authenticate")
            if operation is None or match is None:
                raise _error(404, 20404, f"The requested resource {url.path} was not found")
            injection = fake._next_injection(operation)
            if injection is not None and injection.status is not None and not injection.after:
                self._injected(injection)
            with fake.lock:
                if handler is not None:
                    status, payload = self._act_a2p(handler, match, query, form, url.path)
                else:
                    status, payload = self._act(operation, match, query, dict(form), url.path)  # type: ignore[arg-type]
            if injection is not None and injection.status is not None:
                injection.acted.set()
                self._injected(injection)
            if operation == "send" and payload is not None:
                fake._callbacks_before_answer(payload)
            if injection is not None:
                injection.acted.set()
                fake._hold(injection.delay)
            self._answer(status, payload, {})
        except _Answer as answer:
            self._answer(answer.status, answer.payload, answer.headers)

    def _injected(self, injection: Injection) -> None:
        self.twilio._hold(injection.delay)
        headers = {"Retry-After": injection.retry_after} if injection.retry_after else {}
        status = injection.status or 500
        default = 20429 if status == 429 else 20500
        raise _error(status, injection.code or default, "Injected failure", headers)

    def _act_a2p(
        self,
        handler: Any,
        match: re.Match[str],
        query: list[tuple[str, str]],
        form: list[tuple[str, str]],
        path: str,
    ) -> tuple[int, dict[str, Any] | None]:
        try:
            status, payload = handler(
                match=match,
                query=query,
                form=dict(form),
                raw_form=form,
                path=path,
                headers=dict(self.headers),
            )
        except Refusal as refusal:
            raise _error(refusal.status, refusal.code, refusal.message) from None
        return status, payload

    def _act(
        self,
        operation: Operation,
        match: re.Match[str],
        query: list[tuple[str, str]],
        form: dict[str, str],
        path: str,
    ) -> tuple[int, dict[str, Any] | None]:
        fake = self.twilio
        if operation == "search":
            return 200, fake._search(match.group("country"), query, path)
        if operation == "purchase":
            return 201, fake._purchase(form)
        if operation == "release":
            fake._release(match.group("sid"), path)
            return 204, None
        if operation == "find_messages":
            return 200, fake._list_messages(query, path)
        if operation == "owned_numbers":
            return 200, fake._list_numbers(query, path)
        return 201, fake._send(form)

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self.twilio.account_sid and password == self.twilio.auth_token

    def _answer(self, status: int, payload: dict[str, Any] | None, headers: dict[str, str]) -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        with self.twilio.lock:
            self.twilio.answers.append((getattr(self, "_operation", None), status))
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if payload is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (an injected slow answer)


class LoopbackHttpClient(TwilioHttpClient):
    """``TwilioHttpClient`` that sends ``*.twilio.com`` requests to a local server."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._base = urlsplit(base_url)
        assert self.session is not None
        # Proxy variables from the environment must never route loopback traffic.
        self.session.trust_env = False

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        if parts.hostname and parts.hostname.endswith("twilio.com"):
            url = urlunsplit((self._base.scheme, self._base.netloc, parts.path, parts.query, ""))
            # api.twilio.com, trusthub.twilio.com, messaging.twilio.com: one server, told apart.
            headers = dict(kwargs.get("headers") or {})
            headers[HOST_HEADER] = parts.hostname.split(".")[0]
            kwargs["headers"] = headers
        return super().request(method, url, *args, **kwargs)


def unused_port_url() -> str:
    """A loopback URL nothing listens on: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
