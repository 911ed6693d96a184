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

import logging
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from datetime import datetime
from importlib import resources
from typing import Any, NamedTuple

from neariq_sms import usecases as uc
from neariq_sms.adapters.http import messaging, registration
from neariq_sms.adapters.http.errors import (
    ConsentNotFound,
    InternalError,
    InvalidSignature,
    MethodNotAllowed,
    PayloadTooLarge,
    RouteNotFound,
    Unauthenticated,
    UnknownAction,
)
from neariq_sms.adapters.http.request import (
    Request,
    Response,
    business_first,
    error_response,
    json_object,
    json_response,
    loggable,
    query_params,
    required,
    short,
)
from neariq_sms.adapters.http.serialise import (
    consent_body,
    consent_page_body,
    provision_body,
    search_body,
    send_body,
    status_body,
)
from neariq_sms.domain.errors import (
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

API_PATH = "/api/sms"
CONSENTS_PATH = "/api/sms/consents"
OPT_OUT_PATH = "/api/sms/consents/opt-out"
OPT_IN_PATH = "/api/sms/consents/opt-in"
OPENAPI_PATH = "/api/sms/openapi.json"
INBOUND_WEBHOOK_PATH = INBOUND_PATH
STATUS_WEBHOOK_PATH = STATUS_PATH

ACTIONS = (
    "provision", "send_review_request", "release", *messaging.ACTIONS, *registration.ACTIONS,
)  # fmt: skip
REGISTRATION_WEBHOOK_PATH = registration.REGISTRATION_WEBHOOK_PATH

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


# --- session endpoints -------------------------------------------------------


def _get_sms(req: Request, s: Services, business_id: str) -> Response:
    with business_first(s, business_id):
        params = query_params(req.query)
        action = params.get("action", "")
        if action not in ("", "search", "registration"):
            raise UnknownAction(short(action))
        if action == "search":
            area_code = parse_area_code(params.get("areaCode"))
            limit = parse_limit(
                params.get("limit") or None,
                default=DEFAULT_SEARCH_LIMIT,
                maximum=MAX_SEARCH_LIMIT,
            )
    if action == "registration":
        return registration.get_registration(s, business_id)
    if action == "":
        status = uc.get_status(
            business_id, uow=s.uow, telephony=s.telephony, clock=s.clock, policy=s.policy
        )
        return json_response(200, status_body(status))
    numbers = uc.search_numbers(business_id, area_code, limit, uow=s.uow, telephony=s.telephony)
    return json_response(200, search_body(s.telephony.configured, numbers))


def _post_sms(req: Request, s: Services, business_id: str) -> Response:
    region = s.policy.default_region
    with business_first(s, business_id):
        data = json_object(req)
        action = data.get("action")
        if action is not None and not isinstance(action, str):
            raise InvalidField("action", "must be a string")
        if action and action not in ACTIONS:
            raise UnknownAction(short(action))
        required(data, "action")
        if action == "provision":
            number = parse_phone(data.get("phoneNumber"), field="phoneNumber", region=region)
        elif action == "send_review_request":
            # The spec's order of shape errors: missing_field, invalid_field, invalid_phone.
            required(data, "to", "customerName")
            name = parse_customer_name(data.get("customerName"))
            key = parse_idempotency_key(req.headers.get("idempotency-key"))
            recipient = parse_phone(data.get("to"), field="to", region=region)
    if action in messaging.ACTIONS:
        return messaging.ACTIONS[action](data, req, s, business_id)
    if action in registration.ACTIONS:
        return registration.ACTIONS[action](data, req, s, business_id)
    deps: dict[str, Any] = {"uow": s.uow, "telephony": s.telephony, "clock": s.clock}
    if action == "provision":
        result = uc.provision_number(
            business_id, number, **deps, policy=s.policy, registry=s.registry
        )
        return json_response(200, provision_body(result))
    if action == "send_review_request":
        sent = uc.send_review_request(
            business_id, recipient, name, **deps, policy=s.policy, idempotency_key=key
        )
        return json_response(200, send_body(sent))
    uc.release_number(business_id, **deps, registry=s.registry)
    return json_response(200, {"ok": True})


def _get_consents(req: Request, s: Services, business_id: str) -> Response:
    with business_first(s, business_id):
        params = query_params(req.query)
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


def _consent_write(req: Request, s: Services, business_id: str) -> _ConsentWrite:
    """The body of a consent write or opt-in, in the spec's order of errors (404 first)."""
    with business_first(s, business_id):
        data = json_object(req)
        required(data, "phone")
        source = parse_source(data.get("source"))
        consented_at = parse_past_timestamp(data.get("consentedAt"), now=s.clock.now())
        phone = parse_phone(data.get("phone"), field="phone", region=s.policy.default_region)
    return _ConsentWrite(phone, source, consented_at)


def _post_consent(req: Request, s: Services, business_id: str) -> Response:
    phone, source, consented_at = _consent_write(req, s, business_id)
    record = uc.record_consent(
        business_id, phone, source, consented_at, uow=s.uow, clock=s.clock, policy=s.policy
    )
    return json_response(200, consent_body(record))


def _post_opt_out(req: Request, s: Services, business_id: str) -> Response:
    with business_first(s, business_id):
        data = json_object(req)
        required(data, "phone")
        raw_source = data.get("source")
        source = "api" if raw_source is None or raw_source == "" else parse_source(raw_source)
        phone = parse_phone(data.get("phone"), field="phone", region=s.policy.default_region)
    record = uc.opt_out(business_id, phone, source, uow=s.uow, clock=s.clock, policy=s.policy)
    return json_response(200, consent_body(record))


def _post_opt_in(req: Request, s: Services, business_id: str) -> Response:
    phone, source, consented_at = _consent_write(req, s, business_id)
    record = uc.opt_in(
        business_id, phone, source, consented_at, uow=s.uow, clock=s.clock, policy=s.policy
    )
    return json_response(200, consent_body(record))


# --- public endpoints: webhooks, the OpenAPI document ---------------------------


def _verified_form(req: Request, s: Services) -> tuple[ProviderWebhooks, list[tuple[str, str]]]:
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


def _inbound_webhook(req: Request, s: Services) -> Response:
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


def _status_webhook(req: Request, s: Services) -> Response:
    webhooks, params = _verified_form(req, s)
    # Our message id rides in the callback URL's query, which the signature covers.
    report = webhooks.status_report(params, req.query)
    uc.handle_status_callback(report, uow=s.uow, clock=s.clock)
    return json_response(200, {"ok": True})


def _registration_webhook(req: Request, s: Services) -> Response:
    _, params = _verified_form(req, s)
    return registration.on_registration_callback(params, s)


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


def _openapi(req: Request, s: Services) -> Response:
    return Response(200, [("Content-Type", "application/json")], openapi_document())


SessionHandler = Callable[[Request, Services, str], Response]
PublicHandler = Callable[[Request, Services], Response]

_SESSION_ROUTES: dict[str, dict[str, SessionHandler]] = {
    API_PATH: {"GET": _get_sms, "POST": _post_sms},
    CONSENTS_PATH: {"GET": _get_consents, "POST": _post_consent},
    OPT_OUT_PATH: {"POST": _post_opt_out},
    OPT_IN_PATH: {"POST": _post_opt_in},
    **messaging.ROUTES,
}
_PUBLIC_ROUTES: dict[str, dict[str, PublicHandler]] = {
    OPENAPI_PATH: {"GET": _openapi},
    INBOUND_WEBHOOK_PATH: {"POST": _inbound_webhook},
    STATUS_WEBHOOK_PATH: {"POST": _status_webhook},
    REGISTRATION_WEBHOOK_PATH: {"POST": _registration_webhook},
}

#: Paths that need a dashboard session (the host resolves it to a business id).
SESSION_PATHS = frozenset(_SESSION_ROUTES)
MESSAGES_PREFIX = messaging.MESSAGES_PREFIX


def _is_message_path(path: str) -> bool:
    rest = path.removeprefix(MESSAGES_PREFIX)
    return rest != path and rest != "" and "/" not in rest


#: Session endpoints whose answer only reads storage (no write, no provider call).
_READING_GETS = frozenset(
    {CONSENTS_PATH, *(path for path, methods in messaging.ROUTES.items() if "GET" in methods)}
)


def only_reads(method: str, path: str) -> bool:
    """Whether answering ``method path`` only reads storage: neither writes nor asks
    the provider. A host may then read its session and the answer in one reading
    block (``uow.reading()``): one connection and one transaction for the request."""
    return method.upper() == "GET" and (path in _READING_GETS or _is_message_path(path))


def needs_session(path: str) -> bool:
    """Whether the host should resolve its session for ``path`` (a dashboard endpoint:
    :data:`SESSION_PATHS` and ``/api/sms/messages/{id}``)."""
    return path in SESSION_PATHS or _is_message_path(path)


#: Every path the contract answers, with its methods (for hosts that route first).
ROUTES: dict[str, tuple[str, ...]] = {
    path: tuple(methods) for path, methods in (_SESSION_ROUTES | _PUBLIC_ROUTES).items()
}


def _headers(raw: Headers) -> dict[str, str]:
    items = raw.items() if isinstance(raw, Mapping) else raw
    return {str(k).lower(): str(v) for k, v in items}


def _dispatch(req: Request, services: Services) -> Response:
    methods = ROUTES.get(req.path) or (("GET",) if _is_message_path(req.path) else None)
    if methods is None:
        raise RouteNotFound()
    if req.method not in methods:
        return error_response(MethodNotAllowed(short(req.method)), [("Allow", ", ".join(methods))])
    if len(req.body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(MAX_BODY_BYTES)
    public = _PUBLIC_ROUTES.get(req.path)
    if public is not None:
        return public[req.method](req, services)
    if req.business_id is None:
        raise Unauthenticated()
    if _is_message_path(req.path):
        return messaging.get_message(req, services, req.business_id)
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
    req = Request(
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
    "MESSAGES_PREFIX",
    "OPENAPI_PATH",
    "OPT_IN_PATH",
    "OPT_OUT_PATH",
    "REGISTRATION_WEBHOOK_PATH",
    "ROUTES",
    "SESSION_PATHS",
    "STATUS_WEBHOOK_PATH",
    "Response",
    "error_response",
    "handle",
    "json_response",
    "needs_session",
    "only_reads",
    "openapi_document",
    "read_body_async",
]
