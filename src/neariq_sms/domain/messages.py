"""Outbound and inbound messages and the forward-only status order."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from neariq_sms.domain.allowance import period_of
from neariq_sms.domain.keywords import Keyword
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.segments import segments_of


class MessageStatus(enum.Enum):
    """Outbound status. ``scheduled`` and ``submitting`` are ours; the rest are Twilio's."""

    SCHEDULED = "scheduled"
    SUBMITTING = "submitting"
    ACCEPTED = "accepted"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def earlier(self) -> frozenset[MessageStatus]:
        """Every status a message may be in for it to move to this one: forward
        only, so a late ``sent`` never overwrites ``delivered``."""
        return frozenset(s for s in MessageStatus if s.rank < self.rank)

    @classmethod
    def from_provider(cls, raw: str) -> MessageStatus | None:
        """Map a provider status string; ``None`` for ones we do not track."""
        try:
            status = cls(raw.strip().lower())
        except ValueError:
            return None
        return None if status in (cls.SCHEDULED, cls.SUBMITTING) else status


_TERMINAL_RANK = 5
_RANK = {
    MessageStatus.SCHEDULED: 0,
    MessageStatus.SUBMITTING: 1,
    MessageStatus.ACCEPTED: 2,
    MessageStatus.QUEUED: 2,
    MessageStatus.SENDING: 3,
    MessageStatus.SENT: 4,
    MessageStatus.DELIVERED: _TERMINAL_RANK,
    MessageStatus.UNDELIVERED: _TERMINAL_RANK,
    MessageStatus.FAILED: _TERMINAL_RANK,
    MessageStatus.CANCELED: _TERMINAL_RANK,
}

#: Statuses that mean the customer never got the message: they do not count
#: for the review cooldown.
NEVER_SENT = frozenset({MessageStatus.FAILED, MessageStatus.CANCELED})


class MessageKind(enum.Enum):
    REVIEW_REQUEST = "review_request"
    REMINDER = "reminder"
    REPLY = "reply"


@attrs.frozen
class SendAnswer:
    """What the first request of a send answered, kept so that an idempotent
    repeat answers exactly the same.

    Either ``status`` (accepted: the provider's first status, or
    ``scheduled``), or ``error``: the code of the domain error it raised, with
    ``reason`` (a ``ProviderError``'s reason, an ``InvalidPhone``'s field),
    ``provider_code`` and ``ambiguous`` to raise it again.
    """

    status: MessageStatus | None = None
    error: str | None = None
    reason: str | None = None
    provider_code: int | None = None
    ambiguous: bool = False


@attrs.frozen
class OutboundMessage:
    """A message we send (or will send, or tried to send).

    ``units`` is what it holds of the allowance of ``period``: its segments
    while reserved or accepted, 0 once given back.
    """

    id: str
    business_id: str
    to: PhoneNumber
    from_: PhoneNumber
    body: str
    segments: int
    units: int
    period: str
    status: MessageStatus
    created_at: datetime
    kind: MessageKind = MessageKind.REVIEW_REQUEST
    idempotency_key: str | None = None
    send_at: datetime | None = None
    provider_sid: str | None = None
    error_code: int | None = None
    updated_at: datetime | None = None
    #: ``None`` while the first request has not answered (or never did: a crash).
    answer: SendAnswer | None = None
    #: A reminder's appointment: the host's id for it and when it begins.
    reference: str | None = None
    appointment_at: datetime | None = None
    #: The carrier-required answer to a keyword (STOP, HELP): no allowance, and
    #: the one message an opted-out phone still gets (its confirmation).
    automatic: bool = False

    @classmethod
    def reserved(
        cls,
        *,
        id: str,
        business_id: str,
        kind: MessageKind,
        to: PhoneNumber,
        from_: PhoneNumber,
        body: str,
        segments: int,
        period: str,
        now: datetime,
        send_at: datetime | None = None,
        idempotency_key: str | None = None,
        reference: str | None = None,
        appointment_at: datetime | None = None,
    ) -> OutboundMessage:
        """A message whose ``segments`` were just reserved of the allowance of
        ``period``: ``submitting``, or ``scheduled`` for ``send_at``, which is
        then already its answer (a repeat answers ``scheduled`` whatever became
        of it). A reminder keeps its ``send_at`` even when that is ``now``."""
        scheduled = send_at is not None and send_at > now
        return cls(
            id=id,
            business_id=business_id,
            to=to,
            from_=from_,
            body=body,
            segments=segments,
            units=segments,
            period=period,
            status=MessageStatus.SCHEDULED if scheduled else MessageStatus.SUBMITTING,
            created_at=now,
            updated_at=now,
            kind=kind,
            idempotency_key=idempotency_key,
            send_at=send_at,
            answer=SendAnswer(status=MessageStatus.SCHEDULED) if scheduled else None,
            reference=reference,
            appointment_at=appointment_at,
        )

    @classmethod
    def automatic_reply(cls, inbound: InboundMessage, body: str, *, id: str) -> OutboundMessage:
        """The carrier-required answer to a keyword (STOP, START, HELP), given in the
        webhook's response: a reply of the thread that uses no allowance."""
        # A microsecond after the message it answers: the thread's order is by time.
        at = inbound.received_at + timedelta(microseconds=1)
        return cls(
            id=id,
            business_id=inbound.business_id,
            to=inbound.from_,
            from_=inbound.to,
            body=body,
            segments=segments_of(body),
            units=0,
            period=period_of(at),
            status=MessageStatus.QUEUED,
            created_at=at,
            updated_at=at,
            kind=MessageKind.REPLY,
            automatic=True,
        )


@attrs.frozen
class InboundMessage:
    """A message a customer sent to a business number."""

    id: str
    business_id: str
    from_: PhoneNumber
    to: PhoneNumber
    body: str
    received_at: datetime
    provider_sid: str | None = None
    keyword: str | None = None


@attrs.frozen
class SentMessage:
    """The provider's answer to a send."""

    provider_sid: str
    status: MessageStatus


@attrs.frozen
class ProviderMessage:
    """A message the provider account sent, as a lookup of its records reports it.

    ``sent_at`` is when the provider took it (its send time, or its creation
    time while it has not left the provider's queue yet).
    """

    provider_sid: str
    from_: PhoneNumber
    to: PhoneNumber
    body: str
    status: MessageStatus
    sent_at: datetime


@attrs.frozen
class StatusReport:
    """A provider's delivery-status report on one message, in the domain's words.

    The provider's adapter makes it from a status callback, shapes checked:
    ``status`` is ``None`` for a status the library does not track;
    ``recipient_opted_out`` says the carrier refused the message because the
    recipient unsubscribed there; ``error_code`` is the provider's own code,
    kept on the message as it was given. ``message_id`` is our id, when the
    callback carries it (its URL does).
    """

    provider_sid: str
    status: MessageStatus | None
    error_code: int | None = None
    recipient_opted_out: bool = False
    message_id: str | None = None


@attrs.frozen
class InboundReport:
    """A message a customer sent, as the provider's webhook reports it, shapes checked.

    Numbers are E.164 text as the provider wrote them (the use case parses
    them). ``opt_out_type`` is the provider's own classification of the text
    (Twilio's ``OptOutType``), ``None`` without one.
    """

    to: str
    from_: str
    body: str
    message_sid: str
    opt_out_type: Keyword | None = None
