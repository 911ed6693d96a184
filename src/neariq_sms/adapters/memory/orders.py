"""The in-memory adapter's orders and derived rows, as the SQL statements compute them:
a reference's reminder, the reminder list's order, a thread after a message."""

from __future__ import annotations

from datetime import datetime

import attrs

from neariq_sms.domain.conversations import Conversation, Direction
from neariq_sms.domain.messages import NEVER_SENT, MessageStatus, OutboundMessage
from neariq_sms.domain.phone import PhoneNumber


def noted(
    current: Conversation | None,
    business_id: str,
    phone: PhoneNumber,
    *,
    at: datetime,
    direction: Direction,
    body: str,
    kind: str,
) -> Conversation:
    """The thread once a message of it is stored (what the SQL upsert computes)."""
    if current is None:
        current = Conversation(business_id, phone, at, direction, body, kind)
    elif at >= current.last_message_at:
        current = attrs.evolve(
            current, last_message_at=at, last_direction=direction, last_body=body, last_kind=kind
        )
    if direction is Direction.INBOUND:
        latest = max(filter(None, (current.last_inbound_at, at)))
        current = attrs.evolve(current, unread=current.unread + 1, last_inbound_at=latest)
    return current


def reminder_order(message: OutboundMessage) -> tuple[int, float, str]:
    """The pending reminder first, then one that went out, then the newest (the SQL order)."""
    rank = (
        0 if message.status is MessageStatus.SCHEDULED else 2 if message.status in NEVER_SENT else 1
    )
    return (rank, -message.created_at.timestamp(), _reversed(message.id))


def _reversed(text: str) -> str:
    # Descending by id inside an ascending sort: ids are lowercase hex.
    return text.translate(_HEX_REVERSED)


_HEX_REVERSED = str.maketrans("0123456789abcdef", "fedcba9876543210")


def send_order(message: OutboundMessage) -> tuple[datetime, str]:
    return (message.send_at or message.created_at, message.id)


__all__ = ["noted", "reminder_order", "send_order"]
