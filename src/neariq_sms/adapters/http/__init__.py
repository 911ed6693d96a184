"""The ``/api/sms`` HTTP surface: a framework-agnostic contract function and a WSGI binding.

Any host calls :func:`handle` with the request and the business id its own
session resolved to; the reference server uses :class:`SmsWsgiApp`, which
resolves the ``neariq_session`` cookie itself.
"""

from neariq_sms.adapters.http.contract import (
    MAX_BODY_BYTES,
    ROUTES,
    SESSION_PATHS,
    Response,
    handle,
    needs_session,
    openapi_document,
    read_body_async,
)
from neariq_sms.adapters.http.sessions import (
    COOKIE_NAME,
    create_session,
    end_session,
    resolve_session,
    revoke_sessions,
    token_from_cookie_header,
    tokens_from_cookie_header,
)
from neariq_sms.adapters.http.wsgi import SmsWsgiApp, make_wsgi_app

__all__ = [
    "COOKIE_NAME",
    "MAX_BODY_BYTES",
    "ROUTES",
    "SESSION_PATHS",
    "Response",
    "SmsWsgiApp",
    "create_session",
    "end_session",
    "handle",
    "make_wsgi_app",
    "needs_session",
    "openapi_document",
    "read_body_async",
    "resolve_session",
    "revoke_sessions",
    "token_from_cookie_header",
    "tokens_from_cookie_header",
]
