"""Conversations: the customer's reply window and what a business may write back."""

from __future__ import annotations

import enum
import unicodedata
from datetime import datetime, timedelta

import attrs

from neariq_sms.domain.errors import InvalidField, MissingField
from neariq_sms.domain.messages import InboundMessage, OutboundMessage
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.segments import segments_of

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


class Direction(enum.Enum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


#: The ``kind`` an inbound message shows in a thread (outbound ones show their MessageKind).
INBOUND_KIND = "inbound"


@attrs.frozen
class Conversation:
    """One (business, customer phone) thread as the conversation list shows it.

    Kept up to date as each message is stored, so that the list never scans the
    messages: ``last_*`` describe the latest message of either direction,
    ``unread`` counts inbound messages since the thread was last marked read.
    """

    business_id: str
    phone: PhoneNumber
    last_message_at: datetime
    last_direction: Direction
    last_body: str
    last_kind: str
    unread: int = 0
    last_inbound_at: datetime | None = None

    def can_reply(self, *, consented: bool, opted_out: bool, now: datetime) -> bool:
        """Would a reply pass the consent rules now: never after an opt-out, else
        with a consent record or inside the customer's 24-hour window."""
        return not opted_out and (consented or within_reply_window(self.last_inbound_at, now))


#: The status an inbound message shows in a thread.
RECEIVED = "received"


@attrs.frozen
class ThreadMessage:
    """A message of either direction as a thread and the message lookup show it."""

    id: str
    direction: Direction
    kind: str
    to: PhoneNumber
    from_: PhoneNumber
    body: str
    segments: int
    status: str
    created_at: datetime
    provider_sid: str | None = None
    error_code: int | None = None
    send_at: datetime | None = None
    updated_at: datetime | None = None
    #: A reminder's appointment (the reminder list shows them).
    reference: str | None = None
    appointment_at: datetime | None = None

    @property
    def at(self) -> datetime:
        return self.created_at

    @classmethod
    def outbound(cls, message: OutboundMessage) -> ThreadMessage:
        return cls(
            id=message.id,
            direction=Direction.OUTBOUND,
            kind=message.kind.value,
            to=message.to,
            from_=message.from_,
            body=message.body,
            segments=message.segments,
            status=message.status.value,
            created_at=message.created_at,
            provider_sid=message.provider_sid,
            error_code=message.error_code,
            send_at=message.send_at,
            updated_at=message.updated_at or message.created_at,
            reference=message.reference,
            appointment_at=message.appointment_at,
        )

    @classmethod
    def inbound(cls, message: InboundMessage) -> ThreadMessage:
        return cls(
            id=message.id,
            direction=Direction.INBOUND,
            kind=INBOUND_KIND,
            to=message.to,
            from_=message.from_,
            body=message.body,
            segments=segments_of(message.body),
            status=RECEIVED,
            created_at=message.received_at,
            provider_sid=message.provider_sid,
            updated_at=message.received_at,
        )


__all__ = [
    "INBOUND_KIND",
    "MAX_REPLY_BODY",
    "RECEIVED",
    "REPLY_WINDOW",
    "Conversation",
    "Direction",
    "ThreadMessage",
    "parse_reply_body",
    "within_reply_window",
]
