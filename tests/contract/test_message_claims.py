"""``MessageRepository.claim_due`` and ``record_sent``: the contract the dispatcher
relies on, on every storage backend; on PostgreSQL, claims that never wait."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock
from neariq_sms.domain.messages import MessageKind, MessageStatus, OutboundMessage, SentMessage
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.ports import UnitOfWork
from tests.sql.backends import postgres_uow

NOW = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
SENDER = PhoneNumber("+15125550123")


def _scheduled(uow: UnitOfWork, business_id: str, send_at: datetime) -> OutboundMessage:
    message = OutboundMessage.reserved(
        id=uuid.uuid4().hex,
        business_id=business_id,
        kind=MessageKind.REVIEW_REQUEST,
        to=PhoneNumber(f"+1512200{uuid.uuid4().int % 10_000:04d}"),
        from_=SENDER,
        body="Hi",
        segments=1,
        period="2026-03",
        now=NOW - timedelta(hours=12),
        send_at=send_at,
    )
    with uow:
        uow.messages.add(message)
        uow.commit()
    return message


def _due(uow: UnitOfWork, count: int, *, late: int = 0) -> list[OutboundMessage]:
    """``count`` scheduled messages due by NOW (oldest first), and ``late`` not yet due."""
    business = uc.create_business("Shop", "growth", uow=uow, clock=ManualClock(NOW)).id
    due = [_scheduled(uow, business, NOW - timedelta(minutes=count - i)) for i in range(count)]
    for _ in range(late):
        _scheduled(uow, business, NOW + timedelta(minutes=1))
    return due


def test_claims_move_due_messages_to_submitting_oldest_first_each_once(uow: UnitOfWork) -> None:
    due = _due(uow, 5, late=2)

    with uow:
        first = uow.messages.claim_due(NOW, 3)
        uow.commit()
    with uow:
        second = uow.messages.claim_due(NOW, 3)
        uow.commit()
    with uow:
        third = uow.messages.claim_due(NOW, 3)
        stored = [uow.messages.get(m.id) for m in due]

    assert [m.id for m in first + second] == [m.id for m in due]
    assert third == []  # the not yet due stay scheduled
    assert {m.status for m in first + second} == {MessageStatus.SUBMITTING}
    assert [m.status for m in stored if m] == [MessageStatus.SUBMITTING] * 5


def test_a_claim_rolled_back_leaves_the_messages_due(uow: UnitOfWork) -> None:
    due = _due(uow, 2)
    with uow:
        assert len(uow.messages.claim_due(NOW, 10)) == 2  # not committed
    with uow:
        again = uow.messages.claim_due(NOW, 10)
        uow.commit()
    assert [m.id for m in again] == [m.id for m in due]


def test_record_sent_moves_only_messages_still_submitting(uow: UnitOfWork) -> None:
    due = _due(uow, 2)
    with uow:
        uow.messages.claim_due(NOW, 10)
        # A status callback came first for one of them.
        uow.messages.transition(
            due[1].id,
            allowed_from={MessageStatus.SUBMITTING},
            to=MessageStatus.DELIVERED,
            now=NOW,
            provider_sid="SMcallback",
        )
        uow.messages.record_sent(
            [
                (due[0].id, SentMessage("SMfirst", MessageStatus.QUEUED)),
                (due[1].id, SentMessage("SMsecond", MessageStatus.QUEUED)),
            ],
            now=NOW,
        )
        uow.commit()
    with uow:
        first, second = (uow.messages.get(m.id) for m in due)
    assert first is not None
    assert second is not None
    assert (first.status, first.provider_sid) == (MessageStatus.QUEUED, "SMfirst")
    assert (second.status, second.provider_sid) == (MessageStatus.DELIVERED, "SMcallback")


def test_postgres_claims_of_open_transactions_are_disjoint_and_never_wait() -> None:
    """A claim whose transaction is still open holds its rows: a second dispatcher's
    claim skips them at once (``SKIP LOCKED``) instead of waiting for that commit."""
    uow = postgres_uow()
    due = _due(uow, 6)
    claimed_first = threading.Event()
    second_done = threading.Event()
    first: list[str] = []
    waited: list[bool] = []

    def first_dispatcher() -> None:
        with uow:
            first.extend(m.id for m in uow.messages.claim_due(NOW, 4))
            claimed_first.set()
            # Held open until the second claim answered (or long enough to tell it waited).
            waited.append(not second_done.wait(timeout=20))
            uow.commit()

    worker = threading.Thread(target=first_dispatcher)
    worker.start()
    assert claimed_first.wait(timeout=20)
    with uow:
        second = [m.id for m in uow.messages.claim_due(NOW, 4)]
        second_done.set()
        uow.commit()
    worker.join(timeout=30)

    assert waited == [False]
    assert first == [m.id for m in due[:4]]
    assert second == [m.id for m in due[4:]]
