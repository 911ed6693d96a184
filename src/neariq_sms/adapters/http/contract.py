"""The ``/api/sms`` HTTP contract as one plain function, for any host framework.

:func:`handle` maps (method, path, query string, headers, body bytes, the
business id the host resolved from its own session or ``None``) to
(status, headers, body bytes). It imports no web framework; the WSGI binding
and the Flask and FastAPI examples are a few lines around it.

Errors answer ``{"ok": false, "error": "...", "code": "..."}`` with the status
of the error table in ``docs/http-contract.md``, checked in its order:
route and method, body size, 401, 404, the request's shape, 503, the plan,
then the action's own rules. 404 before a shape error is this layer's rule:
it parses the request into the typed values the use cases take (the JSON
body, the query string, the action; every field of the consent endpoints),
and reads the business first only when a parse fails.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from importlib import resources
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from neariq_sms import usecases as uc
from neariq_sms.adapters.http.errors import (
    ConsentNotFound,
    InternalError,
    InvalidJson,
    InvalidSignature,
    MethodNotAllowed,
    PayloadTooLarge,
    RouteNotFound,
    Unauthenticated,
    UnknownAction,
)
from neariq_sms.adapters.http.serialise import (
    Json,
    consent_body,
    consent_page_body,
    provision_body,
    search_body,
    send_body,
    sms_error_body,
    status_body,
)
from neariq_sms.domain.errors import (
    BusinessNotFound,
    Cooldown,
    InvalidField,
    SmsError,
    SmsNotConfigured,
)
from neariq_sms.domain.parsing import (
    parse_area_code,
    parse_customer_name,
    parse_idempotency_key,
    parse_limit,
    parse_past_timestamp,
    parse_phone,
    parse_present,
    parse_source,
)
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.ports.services import Services
from neariq_sms.ports.webhooks import INBOUND_PATH, STATUS_PATH, ProviderWebhooks
from neariq_sms.usecases.numbers import DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT
from neariq_sms.usecases.paging import DEFAULT_PAGE, MAX_PAGE, parse_cursor

log = logging.getLogger("neariq_sms.http")

#: Request bodies larger than this answer 413.
MAX_BODY_BYTES = 64 * 1024
MAX_QUERY_FIELDS = 20

API_PATH = "/api/sms"
CONSENTS_PATH = "/api/sms/consents"
OPT_OUT_PATH = "/api/sms/consents/opt-out"
OPT_IN_PATH = "/api/sms/consents/opt-in"
OPENAPI_PATH = "/api/sms/openapi.json"
INBOUND_WEBHOOK_PATH = INBOUND_PATH
STATUS_WEBHOOK_PATH = STATUS_PATH

ACTIONS = ("provision", "send_review_request", "release")

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


class Response(NamedTuple):
    """What :func:`handle` answers; unpacks as ``status, headers, body``."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Request(NamedTuple):
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    business_id: str | None


_JSON_HEADERS = [
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
]


def json_response(status: int, body: Json, extra: Iterable[tuple[str, str]] = ()) -> Response:
    """A JSON answer: ``body`` as compact UTF-8 JSON with the contract's headers.

    Args:
        status: the HTTP status.
        body: any JSON-serialisable value.
        extra: headers to send after ``Content-Type``, ``Cache-Control: no-store``
            and ``X-Content-Type-Options: nosniff``.
    """
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(status, [*_JSON_HEADERS, *extra], data)


def error_response(exc: SmsError, extra: Iterable[tuple[str, str]] = ()) -> Response:
    """The error answer for ``exc``: its status and ``{"ok": false, "error", "code"}``.

    A :class:`~neariq_sms.domain.errors.Cooldown` also carries ``Retry-After``
    (an HTTP date); ``extra`` headers (e.g. ``Allow`` on a 405) are added.
    """
    headers = list(extra)
    if isinstance(exc, Cooldown):
        headers.append(("Retry-After", exc.until.strftime("%a, %d %b %Y %H:%M:%S GMT")))
    return json_response(exc.status, sms_error_body(exc), headers)


# --- request parsing ----------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _is_json_media_type(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def _json_object(req: _Request) -> dict[str, Any]:
    """The body as a JSON object.

    ``Content-Type: application/json`` is required: a browser cannot send it
    cross-site without a CORS preflight, so a cookie session cannot be ridden
    by another site's form (CSRF).
    """
    if not _is_json_media_type(req.headers.get("content-type")):
        raise InvalidJson("The request body must be a JSON object sent as application/json.")
    body = req.body
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidJson() from None
    if not isinstance(data, dict):
        raise InvalidJson()
    return data


def _query(text: str) -> dict[str, str]:
    try:
        pairs = parse_qsl(
            text, keep_blank_values=True, max_num_fields=MAX_QUERY_FIELDS, errors="replace"
        )
    except ValueError:
        raise InvalidField("query", f"has more than {MAX_QUERY_FIELDS} parameters") from None
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise InvalidField(key[:40], "must be given at most once")
        params[key] = value
    return params


def _required(data: Mapping[str, Any], *fields: str) -> None:
    """Presence first, for every field, so ``missing_field`` precedes ``invalid_field``."""
    for field in fields:
        parse_present(data.get(field), field)


#: Categories that could break or disguise a log line: controls (CR, LF, NUL),
#: format characters, surrogates, unassigned, and the line and paragraph separators.
_UNLOGGABLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_MAX_LOGGED = 300


def loggable(text: str) -> str:
    """Client-controlled text (a path, a method) as it may go into a log line: control
    and separator characters escaped (``\\n``, ``\\x00``, ``\\u2028``), backslashes
    doubled so that the escapes are unambiguous, bounded. A request can then never
    forge a line of the log."""
    out = []
    for ch in text[:_MAX_LOGGED]:
        if ch == "\\":
            out.append("\\\\")
        elif unicodedata.category(ch) in _UNLOGGABLE:
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out) + ("..." if len(text) > _MAX_LOGGED else "")


def _short(text: str) -> str:
    """User input echoed in an error: bounded, printable."""
    clean = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))
    return clean[:40]


# --- session endpoints -------------------------------------------------------


def _check_business(services: Services, business_id: str) -> None:
    with services.uow:
        business = services.uow.businesses.get(business_id)
    if business is None or not business.active:
        raise BusinessNotFound(business_id=business_id)


@contextmanager
def _business_first(services: Services, business_id: str) -> Iterator[None]:
    """Around checks that run before a use case has read the business: when one
    fails, an unknown or inactive business answers 404 instead (the spec's order).

    The business is read only on that failure path, never for a good request.
    """
    try:
        yield
    except BusinessNotFound:
        raise
    except SmsError:
        _check_business(services, business_id)
        raise


def _get_sms(req: _Request, s: Services, business_id: str) -> Response:
    with _business_first(s, business_id):
        params = _query(req.query)
        action = params.get("action", "")
        if action not in ("", "search"):
            raise UnknownAction(_short(action))
        if action == "search":
            area_code = parse_area_code(params.get("areaCode"))
            limit = parse_limit(
                params.get("limit") or None,
                default=DEFAULT_SEARCH_LIMIT,
                maximum=MAX_SEARCH_LIMIT,
            )
    if action == "":
        status = uc.get_status(
            business_id, uow=s.uow, telephony=s.telephony, clock=s.clock, policy=s.policy
        )
        return json_response(200, status_body(status))
    numbers = uc.search_numbers(business_id, area_code, limit, uow=s.uow, telephony=s.telephony)
    return json_response(200, search_body(s.telephony.configured, numbers))


def _post_sms(req: _Request, s: Services, business_id: str) -> Response:
    region = s.policy.default_region
    with _business_first(s, business_id):
        data = _json_object(req)
        action = data.get("action")
        if action is not None and not isinstance(action, str):
            raise InvalidField("action", "must be a string")
        if action and action not in ACTIONS:
            raise UnknownAction(_short(action))
        _required(data, "action")
        if action == "provision":
            number = parse_phone(data.get("phoneNumber"), field="phoneNumber", region=region)
        elif action == "send_review_request":
            # The spec's order of shape errors: missing_field, invalid_field, invalid_phone.
            _required(data, "to", "customerName")
            name = parse_customer_name(data.get("customerName"))
            key = parse_idempotency_key(req.headers.get("idempotency-key"))
            recipient = parse_phone(data.get("to"), field="to", region=region)
    deps: dict[str, Any] = {"uow": s.uow, "telephony": s.telephony, "clock": s.clock}
    if action == "provision":
        result = uc.provision_number(business_id, number, **deps, policy=s.policy)
        return json_response(200, provision_body(result))
    if action == "send_review_request":
        sent = uc.send_review_request(
            business_id, recipient, name, **deps, policy=s.policy, idempotency_key=key
        )
        return json_response(200, send_body(sent))
    uc.release_number(business_id, **deps)
    return json_response(200, {"ok": True})


def _get_consents(req: _Request, s: Services, business_id: str) -> Response:
    with _business_first(s, business_id):
        params = _query(req.query)
        phone = None
        if "phone" in params:
            phone = parse_phone(params["phone"], field="phone", region=s.policy.default_region)
        else:
            after = parse_cursor(params.get("cursor") or None)
            limit = parse_limit(params.get("limit") or None, default=DEFAULT_PAGE, maximum=MAX_PAGE)
    if phone is not None:
        return _get_consent(s, business_id, phone)
    page = uc.list_consents(business_id, after, limit, uow=s.uow)
    return json_response(200, consent_page_body(page))


def _get_consent(s: Services, business_id: str, phone: PhoneNumber) -> Response:
    record = uc.get_consent(business_id, phone, uow=s.uow, policy=s.policy)
    if record is None:
        raise ConsentNotFound()
    return json_response(200, consent_body(record))


class _ConsentWrite(NamedTuple):
    phone: PhoneNumber
    source: str
    consented_at: datetime | None


def _consent_write(req: _Request, s: Services, business_id: str) -> _ConsentWrite:
    """The body of a consent write or opt-in, in the spec's order of errors (404 first)."""
    with _business_first(s, business_id):
        data = _json_object(req)
        _required(data, "phone")
        source = parse_source(data.get("source"))
        consented_at = parse_past_timestamp(data.get("consentedAt"), now=s.clock.now())
        phone = parse_phone(data.get("phone"), field="phone", region=s.policy.default_region)
    return _ConsentWrite(phone, source, consented_at)


def _post_consent(req: _Request, s: Services, business_id: str) -> Response:
    phone, source, consented_at = _consent_write(req, s, business_id)
    record = uc.record_consent(
        business_id, phone, source, consented_at, uow=s.uow, clock=s.clock, policy=s.policy
    )
    return json_response(200, consent_body(record))


def _post_opt_out(req: _Request, s: Services, business_id: str) -> Response:
    with _business_first(s, business_id):
        data = _json_object(req)
        _required(data, "phone")
        raw_source = data.get("source")
        source = "api" if raw_source is None or raw_source == "" else parse_source(raw_source)
        phone = parse_phone(data.get("phone"), field="phone", region=s.policy.default_region)
    record = uc.opt_out(business_id, phone, source, uow=s.uow, clock=s.clock, policy=s.policy)
    return json_response(200, consent_body(record))


def _post_opt_in(req: _Request, s: Services, business_id: str) -> Response:
    phone, source, consented_at = _consent_write(req, s, business_id)
    record = uc.opt_in(
        business_id, phone, source, consented_at, uow=s.uow, clock=s.clock, policy=s.policy
    )
    return json_response(200, consent_body(record))


# --- public endpoints: webhooks, the OpenAPI document ---------------------------


def _verified_form(req: _Request, s: Services) -> tuple[ProviderWebhooks, list[tuple[str, str]]]:
    """The webhook's form parameters, once its signature verifies; else 403 (or 503)."""
    if s.webhooks is None:
        if s.telephony.configured:
            # A provider with no verifier: build_services had a token but no URL to check
            # signatures against (a host app runs no server that knows its own address).
            raise SmsNotConfigured(
                reason="webhook signatures cannot be checked without NEARIQ_SMS_PUBLIC_URL,"
                " the public base URL Twilio calls"
            )
        raise SmsNotConfigured()
    webhooks = s.webhooks
    signature = req.headers.get(webhooks.signature_header.lower(), "")
    try:
        params = webhooks.read_form(req.body)
    except (ValueError, UnicodeDecodeError, SmsError):
        raise InvalidSignature() from None
    if not signature or not webhooks.verify(req.path, params, signature, req.query):
        raise InvalidSignature()
    return webhooks, params


def _inbound_webhook(req: _Request, s: Services) -> Response:
    # Shapes are checked only once the signature verified: 403 before 400.
    webhooks, params = _verified_form(req, s)
    webhook = webhooks.inbound_report(params)
    result = uc.handle_inbound_message(
        webhook.to,
        webhook.from_,
        webhook.body,
        webhook.message_sid,
        uow=s.uow,
        clock=s.clock,
        policy=s.policy,
        provider_keyword=webhook.opt_out_type,
    )
    return Response(
        200,
        [("Content-Type", webhooks.reply_media_type), ("Cache-Control", "no-store")],
        webhooks.reply(result.reply).encode(),
    )


def _status_webhook(req: _Request, s: Services) -> Response:
    webhooks, params = _verified_form(req, s)
    # Our message id rides in the callback URL's query, which the signature covers.
    report = webhooks.status_report(params, req.query)
    uc.handle_status_callback(report, uow=s.uow, clock=s.clock)
    return json_response(200, {"ok": True})


async def read_body_async(chunks: AsyncIterable[bytes]) -> bytes:
    """Read a streamed request body (ASGI hosts) up to one byte past :data:`MAX_BODY_BYTES`:
    enough for :func:`handle` to answer 413 without holding a huge body in memory."""
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            break
    return bytes(body[: MAX_BODY_BYTES + 1])


def openapi_document() -> bytes:
    """The OpenAPI 3.1 document of this HTTP surface, as shipped in the package."""
    return resources.files("neariq_sms.adapters.http").joinpath("openapi.json").read_bytes()


def _openapi(req: _Request, s: Services) -> Response:
    return Response(200, [("Content-Type", "application/json")], openapi_document())


SessionHandler = Callable[[_Request, Services, str], Response]
PublicHandler = Callable[[_Request, Services], Response]

_SESSION_ROUTES: dict[str, dict[str, SessionHandler]] = {
    API_PATH: {"GET": _get_sms, "POST": _post_sms},
    CONSENTS_PATH: {"GET": _get_consents, "POST": _post_consent},
    OPT_OUT_PATH: {"POST": _post_opt_out},
    OPT_IN_PATH: {"POST": _post_opt_in},
}
_PUBLIC_ROUTES: dict[str, dict[str, PublicHandler]] = {
    OPENAPI_PATH: {"GET": _openapi},
    INBOUND_WEBHOOK_PATH: {"POST": _inbound_webhook},
    STATUS_WEBHOOK_PATH: {"POST": _status_webhook},
}

#: Paths that need a dashboard session (the host resolves it to a business id).
SESSION_PATHS = frozenset(_SESSION_ROUTES)

#: Every path the contract answers, with its methods (for hosts that route first).
ROUTES: dict[str, tuple[str, ...]] = {
    path: tuple(methods) for path, methods in (_SESSION_ROUTES | _PUBLIC_ROUTES).items()
}


def _headers(raw: Headers) -> dict[str, str]:
    items = raw.items() if isinstance(raw, Mapping) else raw
    return {str(k).lower(): str(v) for k, v in items}


def _dispatch(req: _Request, services: Services) -> Response:
    methods = ROUTES.get(req.path)
    if methods is None:
        raise RouteNotFound()
    if req.method not in methods:
        return error_response(MethodNotAllowed(_short(req.method)), [("Allow", ", ".join(methods))])
    if len(req.body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(MAX_BODY_BYTES)
    public = _PUBLIC_ROUTES.get(req.path)
    if public is not None:
        return public[req.method](req, services)
    if req.business_id is None:
        raise Unauthenticated()
    return _SESSION_ROUTES[req.path][req.method](req, services, req.business_id)


def handle(
    method: str,
    path: str,
    query: str,
    headers: Headers,
    body: bytes,
    business_id: str | None,
    *,
    services: Services,
) -> Response:
    """Answer one request to the ``/api/sms`` surface.

    Args:
        method: the HTTP method (any case).
        path: the request path, e.g. ``/api/sms`` (no query string).
        query: the raw query string without ``?``.
        headers: request headers (names in any case).
        body: the request body; a host should stop reading past
            :data:`MAX_BODY_BYTES` and pass what it read (413 follows).
        business_id: the business the host's session belongs to, ``None``
            when there is no signed-in session (401 on session endpoints).
        services: storage, provider, clock, policy and webhook verifier.

    Returns:
        ``(status, headers, body)``. Never raises for anything a client sends:
        a bug answers 500 ``internal_error`` and is logged.
    """
    req = _Request(
        method=method.upper(),
        path=path,
        query=query,
        headers=_headers(headers),
        body=body,
        business_id=business_id if business_id is None else str(business_id),
    )
    try:
        return _dispatch(req, services)
    except SmsError as exc:
        if exc.status >= 500 and not isinstance(exc, SmsNotConfigured):
            log.warning(
                "%s %s answered %s %s",
                loggable(req.method),
                loggable(req.path),
                exc.status,
                exc.code,
            )
        return error_response(exc)
    except Exception:
        log.exception("unhandled error on %s %s", loggable(req.method), loggable(req.path))
        return error_response(InternalError())


__all__ = [
    "API_PATH",
    "CONSENTS_PATH",
    "INBOUND_WEBHOOK_PATH",
    "MAX_BODY_BYTES",
    "OPENAPI_PATH",
    "OPT_IN_PATH",
    "OPT_OUT_PATH",
    "ROUTES",
    "SESSION_PATHS",
    "STATUS_WEBHOOK_PATH",
    "Response",
    "error_response",
    "handle",
    "json_response",
    "openapi_document",
    "read_body_async",
]
