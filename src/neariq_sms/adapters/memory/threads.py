"""The in-memory adapter's conversation threads: the thread list and a thread page,
in the orders the SQL statements read them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from neariq_sms.domain.consent import ConsentRecord
from neariq_sms.domain.conversations import Conversation, ThreadMessage
from neariq_sms.domain.messages import InboundMessage, OutboundMessage
from neariq_sms.domain.phone import PhoneNumber

if TYPE_CHECKING:
    from neariq_sms.adapters.memory.storage import _Tx

#: A page's cursor key: (time, tie-breaking id or phone).
Key = tuple[datetime, str]


class MemoryConversations:
    def __init__(self, tx: _Tx) -> None:
        self._tx, self._s = tx, tx.store

    def get(self, business_id: str, phone: PhoneNumber) -> Conversation | None:
        return self._s.conversations.get((business_id, phone))

    def page(self, business_id: str, *, before: Key | None, limit: int) -> Sequence[Conversation]:
        rows = sorted(
            (c for c in self._s.conversations.values() if c.business_id == business_id),
            key=lambda c: (c.last_message_at, c.phone.e164),
            reverse=True,
        )
        if before is not None:
            rows = [c for c in rows if (c.last_message_at, c.phone.e164) < before]
        return rows[:limit]

    def summaries(
        self, business_id: str, *, before: Key | None, limit: int
    ) -> Sequence[tuple[Conversation, ConsentRecord | None]]:
        consents = self._s.consents
        page = self.page(business_id, before=before, limit=limit)
        return [(c, consents.get((business_id, c.phone))) for c in page]

    def thread(
        self, business_id: str, phone: PhoneNumber, *, before: Key | None, limit: int
    ) -> Sequence[ThreadMessage]:
        key = (business_id, phone)
        keyed: list[tuple[Key, OutboundMessage | InboundMessage]] = []
        for m in self._s.messages.values():
            if (m.business_id, m.to) == key:
                keyed.append(((m.created_at, m.id), m))
        for i in self._s.inbound.values():
            if (i.business_id, i.from_) == key:
                keyed.append(((i.received_at, i.id), i))
        keyed.sort(key=lambda item: item[0], reverse=True)
        page = [m for at, m in keyed if before is None or at < before][:limit]
        return [
            ThreadMessage.outbound(m)
            if isinstance(m, OutboundMessage)
            else ThreadMessage.inbound(m)
            for m in page
        ]

    def mark_read(self, business_id: str, phone: PhoneNumber) -> None:
        current = self._s.conversations.get((business_id, phone))
        if current is not None and current.unread:
            self._tx.put(
                self._s.conversations, (business_id, phone), attrs.evolve(current, unread=0)
            )


__all__ = ["MemoryConversations"]
