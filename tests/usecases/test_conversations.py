"""Conversations: one thread per (business, phone) of every message either way,
the thread list with unread counts and what consent allows, one message by id."""

from __future__ import annotations

from datetime import timedelta

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock, SimulatedTelephony
from neariq_sms.domain import BusinessNotFound, PhoneNumber
from neariq_sms.domain.conversations import Direction
from neariq_sms.domain.errors import MessageNotFound
from neariq_sms.ports import UnitOfWork
from neariq_sms.usecases.paging import parse_cursor
from tests.usecases.support import AUSTIN_NUMBER, CUSTOMER, OTHER_CUSTOMER, ready_business

STRANGER = "+15557650000"


def text_in(uow: UnitOfWork, clock: ManualClock, body: str, from_: str = CUSTOMER) -> None:
    uc.handle_inbound_message(AUSTIN_NUMBER, from_, body, uow=uow, clock=clock)
    clock.advance(timedelta(minutes=1))


def threads(uow: UnitOfWork, business_id: str, clock: ManualClock) -> list[uc.ConversationSummary]:
    return list(uc.list_conversations(business_id, uow=uow, clock=clock).items)


def test_every_message_either_way_lands_in_one_thread_newest_first(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    business = ready_business(uow, telephony, clock)
    text_in(uow, clock, "Do you open on Sundays?")
    sent = uc.send_review_request(
        business.id, CUSTOMER, "Jane", uow=uow, telephony=telephony, clock=clock
    )
    clock.advance(timedelta(minutes=1))
    text_in(uow, clock, "Thanks!")

    page = uc.conversation_messages(business.id, PhoneNumber(CUSTOMER), uow=uow)

    assert [(m.direction, m.kind, m.body[:7]) for m in page.items] == [
        (Direction.INBOUND, "inbound", "Thanks!"),
        (Direction.OUTBOUND, "review_request", "Hi Jane"),
        (Direction.INBOUND, "inbound", "Do you "),
    ]
    assert page.items[1].id == sent.message_id
    assert [m.status for m in page.items] == ["received", "queued", "received"]
    assert page.next_cursor is None


def test_a_thread_pages_without_gaps_or_repeats(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    business = ready_business(uow, telephony, clock)
    for i in range(5):
        text_in(uow, clock, f"message {i}")
    seen: list[str] = []
    cursor = None
    while True:
        page = uc.conversation_messages(
            business.id, PhoneNumber(CUSTOMER), parse_cursor(cursor), 2, uow=uow
        )
        seen += [m.body for m in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"message {i}" for i in reversed(range(5))]


def test_the_list_shows_the_latest_message_unread_count_and_consent(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Most recent activity first; keywords count as unread; STOP shows opted out."""
    business = ready_business(uow, telephony, clock, consent=[CUSTOMER, OTHER_CUSTOMER])
    text_in(uow, clock, "Hello", from_=OTHER_CUSTOMER)
    text_in(uow, clock, "Hi there")
    text_in(uow, clock, "STOP")

    first, second = threads(uow, business.id, clock)

    assert first.conversation.phone == PhoneNumber(CUSTOMER)
    # The last message is the automatic answer to STOP; the STOP counts as unread.
    assert first.conversation.last_body.endswith("Reply START to resubscribe.")
    assert first.conversation.last_direction is Direction.OUTBOUND
    assert first.conversation.unread == 2
    assert (first.opted_out, first.can_reply) == (True, False)
    assert second.conversation.phone == PhoneNumber(OTHER_CUSTOMER)
    assert (second.opted_out, second.can_reply, second.conversation.unread) == (False, True, 1)


def test_marking_a_thread_read_zeroes_its_unread_count_only(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    business = ready_business(uow, telephony, clock, consent=[CUSTOMER, OTHER_CUSTOMER])
    text_in(uow, clock, "one")
    text_in(uow, clock, "two", from_=OTHER_CUSTOMER)

    assert uc.mark_conversation_read(business.id, PhoneNumber(CUSTOMER), uow=uow) == 0

    unread = {
        t.conversation.phone.e164: t.conversation.unread for t in threads(uow, business.id, clock)
    }
    assert unread == {CUSTOMER: 0, OTHER_CUSTOMER: 1}
    text_in(uow, clock, "three")
    assert threads(uow, business.id, clock)[0].conversation.unread == 1


def test_a_stranger_can_be_answered_for_24_hours_after_texting_in(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """No consent record: canReply only inside the customer's window."""
    business = ready_business(uow, telephony, clock)
    text_in(uow, clock, "Is this the gym?", from_=STRANGER)
    assert threads(uow, business.id, clock)[0].can_reply
    clock.advance(timedelta(hours=24))
    assert not threads(uow, business.id, clock)[0].can_reply


def test_the_list_pages_most_recent_first(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    business = ready_business(uow, telephony, clock)
    phones = [f"+1555765{i:04d}" for i in range(5)]
    for phone in phones:
        text_in(uow, clock, "hi", from_=phone)
    seen: list[str] = []
    cursor = None
    while True:
        page = uc.list_conversations(business.id, parse_cursor(cursor), 2, uow=uow, clock=clock)
        seen += [t.conversation.phone.e164 for t in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == list(reversed(phones))


def test_a_message_is_found_by_id_only_by_its_own_business(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    business = ready_business(uow, telephony, clock)
    other = ready_business(uow, telephony, clock, name="Other", number="+15125550124")
    text_in(uow, clock, "hello")
    sent = uc.send_review_request(
        business.id, CUSTOMER, "Jane", uow=uow, telephony=telephony, clock=clock
    )
    inbound_id = uc.conversation_messages(business.id, PhoneNumber(CUSTOMER), uow=uow).items[1].id

    found = uc.get_message(business.id, sent.message_id, uow=uow)
    assert (found.direction, found.kind, found.from_.e164) == (
        Direction.OUTBOUND,
        "review_request",
        AUSTIN_NUMBER,
    )
    assert uc.get_message(business.id, inbound_id, uow=uow).status == "received"
    for message_id in (sent.message_id, inbound_id, "0" * 32):
        with pytest.raises(MessageNotFound):
            uc.get_message(other.id, message_id, uow=uow)
    assert uc.conversation_messages(other.id, PhoneNumber(CUSTOMER), uow=uow).items == []
    assert threads(uow, other.id, clock) == []


def test_an_unknown_business_has_no_threads(uow: UnitOfWork, clock: ManualClock) -> None:
    with pytest.raises(BusinessNotFound):
        uc.list_conversations("nope", uow=uow, clock=clock)
    with pytest.raises(BusinessNotFound):
        uc.mark_conversation_read("nope", PhoneNumber(CUSTOMER), uow=uow)
