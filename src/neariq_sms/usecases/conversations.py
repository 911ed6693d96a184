"""Conversations: the thread list, one thread, marking it read; one message by id."""

from __future__ import annotations

import attrs

from neariq_sms.domain.conversations import Conversation, ThreadMessage
from neariq_sms.domain.errors import MessageNotFound
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.usecases._common import active_business
from neariq_sms.usecases.paging import Cursor, Page, encode_cursor

DEFAULT_THREADS = 20
MAX_THREADS = 100
DEFAULT_THREAD_PAGE = 50
MAX_THREAD_PAGE = 200


@attrs.frozen
class ConversationSummary:
    """A thread as the conversation list shows it, with what consent allows now."""

    conversation: Conversation
    opted_out: bool
    can_reply: bool


def list_conversations(
    business_id: str,
    cursor: Cursor | None = None,
    limit: int = DEFAULT_THREADS,
    *,
    uow: UnitOfWork,
    clock: Clock,
) -> Page[ConversationSummary]:
    """The business's threads, most recent activity first, a page at a time.

    One read whatever the page: the threads with their phones' consent records.
    """
    now = clock.now()
    with uow.reading():
        business = active_business(uow, business_id)
        page = uow.conversations.summaries(business.id, before=cursor, limit=limit + 1)
    more = len(page) > limit
    items = []
    for row, record in page[:limit]:
        opted_out = record is not None and record.opted_out
        consented = record is not None and record.allows_sending
        can_reply = row.can_reply(consented=consented, opted_out=opted_out, now=now)
        items.append(ConversationSummary(row, opted_out, can_reply))
    last = items[-1].conversation if more and items else None
    next_cursor = encode_cursor(last.last_message_at, last.phone.e164) if last else None
    return Page(items, next_cursor)


def conversation_messages(
    business_id: str,
    phone: PhoneNumber,
    cursor: Cursor | None = None,
    limit: int = DEFAULT_THREAD_PAGE,
    *,
    uow: UnitOfWork,
) -> Page[ThreadMessage]:
    """Every message between the business and one phone, newest first, either
    direction, a page at a time (an unknown phone is an empty thread)."""
    with uow.reading():
        business = active_business(uow, business_id)
        rows = uow.conversations.thread(business.id, phone, before=cursor, limit=limit + 1)
    more = len(rows) > limit
    items = list(rows[:limit])
    next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if more else None
    return Page(items, next_cursor)


def mark_conversation_read(business_id: str, phone: PhoneNumber, *, uow: UnitOfWork) -> int:
    """Mark every inbound message of the thread read; answers the unread count (0)."""
    with uow:
        business = active_business(uow, business_id)
        uow.conversations.mark_read(business.id, phone)
        uow.commit()
    return 0


def get_message(business_id: str, message_id: str, *, uow: UnitOfWork) -> ThreadMessage:
    """One message of the business by its id, either direction.

    Raises:
        BusinessNotFound, MessageNotFound (also for another business's message).
    """
    with uow.reading():
        business = active_business(uow, business_id)
        outbound = uow.messages.get(message_id)
        if outbound is not None and outbound.business_id == business.id:
            return ThreadMessage.outbound(outbound)
        inbound = uow.inbound.get(message_id)
        if inbound is not None and inbound.business_id == business.id:
            return ThreadMessage.inbound(inbound)
    raise MessageNotFound()


__all__ = [
    "ConversationSummary",
    "conversation_messages",
    "get_message",
    "list_conversations",
    "mark_conversation_read",
]
