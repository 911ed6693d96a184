"""What every ``/api/sms`` handler shares: the request and response types, JSON
answers, reading the body and the query string, and the 404-before-shape guard."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from neariq_sms.adapters.http.errors import InvalidJson
from neariq_sms.adapters.http.serialise import Json, sms_error_body
from neariq_sms.domain.errors import BusinessNotFound, Cooldown, InvalidField, SmsError
from neariq_sms.domain.parsing import parse_present
from neariq_sms.ports.services import Services

MAX_QUERY_FIELDS = 20


class Response(NamedTuple):
    """What :func:`handle` answers; unpacks as ``status, headers, body``."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Request(NamedTuple):
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
    return Response(status, [*_JSON_HEADERS, *extra], dump_json(body))


def _fast_dumps() -> Callable[[Any], bytes] | None:
    try:
        from orjson import dumps
    except ModuleNotFoundError:  # the server and host extras install it
        return None
    return dumps


_FAST_DUMPS = _fast_dumps()


def dump_json(body: Json) -> bytes:
    """``body`` as compact UTF-8 JSON, characters unescaped but for JSON's own.

    Through orjson when it is installed (the ``server`` and host extras install
    it): a 50-message thread page in about 20 µs instead of 270 µs. The bytes are
    the standard library's either way; what orjson refuses (integers beyond 64
    bits, keys that are not strings) goes the standard library's way.
    """
    if _FAST_DUMPS is not None:
        try:
            return _FAST_DUMPS(body)
        except TypeError:  # orjson.JSONEncodeError
            pass
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


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


def json_object(req: Request) -> dict[str, Any]:
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


def query_params(text: str) -> dict[str, str]:
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


def required(data: Mapping[str, Any], *fields: str) -> None:
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
    # Every request logs its path, and most need no escaping: the only unloggable
    # ASCII characters are its controls, which isprintable() rejects.
    if len(text) <= _MAX_LOGGED and text.isascii() and text.isprintable() and "\\" not in text:
        return text
    out = []
    for ch in text[:_MAX_LOGGED]:
        if ch == "\\":
            out.append("\\\\")
        elif unicodedata.category(ch) in _UNLOGGABLE:
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out) + ("..." if len(text) > _MAX_LOGGED else "")


def short(text: str) -> str:
    """User input echoed in an error: bounded, printable."""
    clean = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))
    return clean[:40]


def _check_business(services: Services, business_id: str) -> None:
    with services.uow.reading():
        business = services.uow.businesses.get(business_id)
    if business is None or not business.active:
        raise BusinessNotFound(business_id=business_id)


@contextmanager
def business_first(services: Services, business_id: str) -> Iterator[None]:
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


__all__ = [
    "MAX_QUERY_FIELDS",
    "Request",
    "Response",
    "business_first",
    "error_response",
    "json_object",
    "json_response",
    "loggable",
    "query_params",
    "required",
    "short",
]
