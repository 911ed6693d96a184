"""The WSGI binding of the contract, with the reference server's session resolution."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from neariq_sms.adapters.http.contract import MAX_BODY_BYTES, handle, needs_session, only_reads
from neariq_sms.adapters.http.errors import InternalError
from neariq_sms.adapters.http.request import Response, error_response, loggable
from neariq_sms.adapters.http.sessions import resolve_session, tokens_from_cookie_header
from neariq_sms.ports.services import Services

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger("neariq_sms.http")

#: Resolves the business of a request from its headers (lower-case names); ``None``: no session.
BusinessResolver = Callable[[dict[str, str]], str | None]

_STATUS_TEXT = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def _request_headers(environ: WSGIEnvironment) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = str(value)
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers


def _read_body(environ: WSGIEnvironment) -> bytes:
    """At most one byte past the limit: enough to know that 413 answers."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    if raw.isdigit():
        wanted = min(int(raw), MAX_BODY_BYTES + 1)
    elif environ.get("wsgi.input_terminated"):
        wanted = MAX_BODY_BYTES + 1
    else:
        return b""
    chunks: list[bytes] = []
    size = 0
    while size < wanted:
        chunk = stream.read(wanted - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _path(environ: WSGIEnvironment) -> str:
    # PEP 3333 hands PATH_INFO over as latin-1-decoded bytes; paths here are ASCII.
    raw = str(environ.get("PATH_INFO") or "/")
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return raw


class SmsWsgiApp:
    """A WSGI application serving the contract.

    Args:
        services: what the use cases need.
        resolve_business: maps request headers to a business id; the default
            reads the reference server's ``neariq_session`` cookie.
    """

    def __init__(
        self, services: Services, *, resolve_business: BusinessResolver | None = None
    ) -> None:
        self.services = services
        self._resolve = resolve_business or self._session_business
        #: Sessions read from our own storage: they can share the answer's reading block.
        self._own_sessions = resolve_business is None

    def _session_business(self, headers: dict[str, str]) -> str | None:
        # The first live one: a stale cookie of another path must not hide it.
        for token in tokens_from_cookie_header(headers.get("cookie")):
            business_id = resolve_session(token, uow=self.services.uow, clock=self.services.clock)
            if business_id is not None:
                return business_id
        return None

    def respond(self, environ: WSGIEnvironment) -> Response:
        path = _path(environ)
        method = str(environ.get("REQUEST_METHOD") or "GET")
        headers = _request_headers(environ)
        body = _read_body(environ)  # all of it before storage: a slow client holds nothing
        query = str(environ.get("QUERY_STRING") or "")
        if self._own_sessions and only_reads(method, path):
            # The session and the answer in one reading block: one connection and
            # one transaction for the request instead of two.
            with self.services.uow.reading():
                return self._answer(method, path, query, headers, body)
        return self._answer(method, path, query, headers, body)

    def _answer(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> Response:
        business_id = self._resolve(headers) if needs_session(path) else None
        return handle(method, path, query, headers, body, business_id, services=self.services)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        try:
            response = self.respond(environ)
        except Exception:
            log.exception("unhandled error before the contract answered")
            response = error_response(InternalError())
        method = str(environ.get("REQUEST_METHOD"))
        log.info("%s %s %s", loggable(method), loggable(_path(environ)), response.status)
        reason = _STATUS_TEXT.get(response.status, "Unknown")
        headers = [*response.headers, ("Content-Length", str(len(response.body)))]
        start_response(f"{response.status} {reason}", headers)
        # A HEAD answer carries the headers of the full answer and no body (RFC 9110).
        return [] if method.upper() == "HEAD" else [response.body]


def make_wsgi_app(
    services: Services, *, resolve_business: BusinessResolver | None = None
) -> SmsWsgiApp:
    """The WSGI app for ``services`` (see :class:`SmsWsgiApp`)."""
    return SmsWsgiApp(services, resolve_business=resolve_business)


__all__ = ["BusinessResolver", "SmsWsgiApp", "make_wsgi_app"]
