"""Conversations: the customer's reply window and what a business may write back."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timedelta

from neariq_sms.domain.errors import InvalidField, MissingField

#: A customer who texted in may be answered without a consent record this long after.
REPLY_WINDOW = timedelta(hours=24)
MAX_REPLY_BODY = 1_600


def within_reply_window(last_inbound_at: datetime | None, now: datetime) -> bool:
    """Did the customer text this business in the last 24 hours?"""
    return last_inbound_at is not None and now - last_inbound_at < REPLY_WINDOW


def parse_reply_body(raw: object, *, field: str = "body") -> str:
    """1-1,600 characters after trimming; no control characters except a line break."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise MissingField(field)
    if not isinstance(raw, str):
        raise InvalidField(field, "must be a string")
    body = raw.strip()
    if len(body) > MAX_REPLY_BODY:
        raise InvalidField(field, f"must be at most {MAX_REPLY_BODY} characters")
    # Format characters stay: emoji sequences are joined by U+200D.
    if any(ch != "\n" and unicodedata.category(ch) == "Cc" for ch in body):
        raise InvalidField(field, "must not contain control characters")
    return body


__all__ = ["MAX_REPLY_BODY", "REPLY_WINDOW", "parse_reply_body", "within_reply_window"]
