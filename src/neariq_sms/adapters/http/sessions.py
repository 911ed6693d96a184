"""Dashboard sessions of the reference server: random tokens, stored only as hashes.

A host framework with its own sign-in resolves its own session to a business
id and never needs this module.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from datetime import timedelta

from neariq_sms.domain.business import DashboardSession
from neariq_sms.domain.errors import BusinessNotFound
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.storage import UnitOfWork

COOKIE_NAME = "neariq_session"
DEFAULT_SESSION_TTL = timedelta(days=30)
_TOKEN_BYTES = 32
_MAX_TOKEN_CHARS = 128
_TOKEN_ALPHABET = frozenset(string.ascii_letters + string.digits + "-_")
#: Session cookies of one request looked up at most (each costs a read).
_MAX_SESSION_COOKIES = 4


def hash_token(token: str) -> str:
    """What storage keeps of a token: its SHA-256 (tokens carry 256 random bits, no salt needed)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _plausible(token: str) -> bool:
    return 0 < len(token) <= _MAX_TOKEN_CHARS and set(token) <= _TOKEN_ALPHABET


def create_session(
    business_id: str,
    *,
    uow: UnitOfWork,
    clock: Clock,
    ttl: timedelta | None = DEFAULT_SESSION_TTL,
) -> str:
    """Sign in as an active business; returns the token, which is stored only hashed.

    Raises:
        BusinessNotFound: the business does not exist or is inactive.
    """
    now = clock.now()
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    with uow:
        business = uow.businesses.get(business_id)
        if business is None or not business.active:
            raise BusinessNotFound(business_id=business_id)
        uow.sessions.add(
            DashboardSession(
                token_hash=hash_token(token),
                business_id=business.id,
                created_at=now,
                expires_at=now + ttl if ttl is not None else None,
            )
        )
        uow.commit()
    return token


def resolve_session(token: str | None, *, uow: UnitOfWork, clock: Clock) -> str | None:
    """The business id of a live session, or ``None`` (unknown, expired or malformed)."""
    if token is None or not _plausible(token):
        return None
    with uow.reading():
        session = uow.sessions.get(hash_token(token))
    if session is None:
        return None
    if session.expires_at is not None and session.expires_at <= clock.now():
        return None
    return session.business_id


def end_session(token: str, *, uow: UnitOfWork) -> bool:
    """Sign out: the token stops working at once. Idempotent.

    Returns:
        Whether a session had that token (expired or not).
    """
    if not _plausible(token):
        return False
    token_hash = hash_token(token)
    with uow:
        existed = uow.sessions.get(token_hash) is not None
        uow.sessions.delete(token_hash)
        uow.commit()
    return existed


def revoke_sessions(business_id: str, *, uow: UnitOfWork) -> int:
    """Sign every session of a business out (a leaked cookie, staff leaving). Idempotent.

    Returns:
        How many sessions ended. An unknown business simply has none.
    """
    with uow:
        count = uow.sessions.delete_for_business(business_id)
        uow.commit()
    return count


def tokens_from_cookie_header(header: str | None) -> list[str]:
    """Every ``neariq_session`` value of a ``Cookie`` header, in order, at most a few.

    A client may send its cookies in several ``Cookie`` headers (HTTP/2 splits
    them), which WSGI servers join with ``,`` (waitress, gunicorn) rather than
    ``;``: both separate cookies here (a token never holds either). A browser
    sends one name twice when two paths or domains set it, most specific
    first. Garbage around the cookie is ignored; ``http.cookies`` is not used
    because it stops at the first malformed cookie and keeps one value per name.
    """
    if not header:
        return []
    tokens: list[str] = []
    for part in header.replace(",", ";").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name.strip() == COOKIE_NAME:
            tokens.append(value.strip().strip('"'))
            if len(tokens) == _MAX_SESSION_COOKIES:
                break
    return tokens


def token_from_cookie_header(header: str | None) -> str | None:
    """The first ``neariq_session`` value of a ``Cookie`` header (see
    :func:`tokens_from_cookie_header`)."""
    tokens = tokens_from_cookie_header(header)
    return tokens[0] if tokens else None


__all__ = [
    "COOKIE_NAME",
    "DEFAULT_SESSION_TTL",
    "create_session",
    "end_session",
    "hash_token",
    "resolve_session",
    "revoke_sessions",
    "token_from_cookie_header",
    "tokens_from_cookie_header",
]
