"""Inbound messages: STOP / START / HELP, replies, unknown senders, conversations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock, SimulatedTelephony
from neariq_sms.domain import Keyword, PhoneNumber, RecipientOptedOut
from neariq_sms.ports import UnitOfWork
from tests.usecases.support import AUSTIN_NUMBER, CUSTOMER, ready_business, snapshot

STRANGER = "+15557650000"


def inbound(
    uow: UnitOfWork,
    clock: ManualClock,
    body: str,
    from_: str = CUSTOMER,
    sid: str | None = None,
    to: str = AUSTIN_NUMBER,
) -> uc.InboundResult:
    return uc.handle_inbound_message(to, from_, body, sid, uow=uow, clock=clock)


def test_stop_opts_out_and_gets_one_confirmation(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """ "Stop." records an opt-out (source ``keyword``) and answers the confirmation."""
    business = ready_business(uow, telephony, clock)
    result = inbound(uow, clock, "Stop.")
    assert (result.business_id, result.keyword) == (business.id, Keyword.OPT_OUT)
    assert result.reply is not None
    assert "unsubscribed" in result.reply
    record = uc.get_consent(business.id, CUSTOMER, uow=uow)
    assert record is not None
    assert (record.opted_out, record.opt_out_source) == (True, "keyword")
    with pytest.raises(RecipientOptedOut):
        uc.send_review_request(
            business.id, CUSTOMER, "Jane", uow=uow, telephony=telephony, clock=clock
        )
    assert telephony.calls["send"] == 0


def test_start_after_stop_resubscribes(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """The customer's own opt-in keyword lifts the opt-out."""
    business = ready_business(uow, telephony, clock)
    inbound(uow, clock, "STOP")
    clock.advance(timedelta(minutes=1))
    result = inbound(uow, clock, "unstop")
    assert result.keyword is Keyword.OPT_IN
    assert result.reply is not None
    sent = uc.send_review_request(
        business.id, CUSTOMER, "Jane", uow=uow, telephony=telephony, clock=clock
    )
    assert sent.message_sid is not None


def test_help_answers_the_help_text_and_changes_no_consent(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """HELP names the business and how to opt out; the consent record is untouched."""
    business = ready_business(uow, telephony, clock)
    before = uc.get_consent(business.id, CUSTOMER, uow=uow)
    result = inbound(uow, clock, "help")
    assert result.keyword is Keyword.HELP
    assert result.reply is not None
    assert "Aster Grove Fitness" in result.reply
    assert "STOP" in result.reply
    assert uc.get_consent(business.id, CUSTOMER, uow=uow) == before


def test_a_message_from_an_unknown_sender_is_stored_but_creates_no_consent(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """It shows in the conversation; no record appears and no reply is due."""
    business = ready_business(uow, telephony, clock)
    result = inbound(uow, clock, "Is the gym open on Sunday?", from_=STRANGER)
    assert (result.keyword, result.reply) == (None, None)
    assert uc.get_consent(business.id, STRANGER, uow=uow) is None
    page = uc.list_conversation(business.id, STRANGER, uow=uow)
    assert [(i.direction, i.body) for i in page.items] == [
        ("inbound", "Is the gym open on Sunday?")
    ]


def test_stop_from_an_unknown_phone_blocks_later_consent_writes_and_imports(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """A STOP before any consent still wins over every later plain consent."""
    business = ready_business(uow, telephony, clock)
    inbound(uow, clock, "STOP", from_=STRANGER)
    clock.advance(timedelta(hours=1))
    with pytest.raises(RecipientOptedOut):
        uc.record_consent(business.id, STRANGER, "paper", uow=uow, clock=clock)
    report = uc.import_consents(business.id, [{"phone": STRANGER}], uow=uow, clock=clock)
    assert (report.imported, report.updated, report.skipped) == (0, 0, 1)
    record = uc.get_consent(business.id, STRANGER, uow=uow)
    assert record is not None
    assert not record.allows_sending


def test_a_redelivered_webhook_changes_nothing(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """The same provider sid twice: the second is a duplicate and stores nothing."""
    ready_business(uow, telephony, clock)
    inbound(uow, clock, "Thanks!", sid="SM1")
    before = snapshot(uow)
    again = inbound(uow, clock, "Thanks!", sid="SM1")
    assert again.duplicate
    assert snapshot(uow) == before


def test_a_message_to_a_number_no_business_holds_is_ignored(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """No business, no keyword handling, nothing stored."""
    ready_business(uow, telephony, clock)
    before = snapshot(uow, phones=[CUSTOMER])
    result = inbound(uow, clock, "STOP", to="+15125550199")
    assert result == uc.InboundResult(None, None, None)
    assert snapshot(uow, phones=[CUSTOMER]) == before


def test_the_conversation_interleaves_both_directions_newest_first(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Review request, reply, reply: paged two at a time, newest first."""
    business = ready_business(uow, telephony, clock)
    uc.send_review_request(business.id, CUSTOMER, "Jane", uow=uow, telephony=telephony, clock=clock)
    clock.advance(timedelta(minutes=1))
    inbound(uow, clock, "Thanks, done!")
    clock.advance(timedelta(minutes=1))
    inbound(uow, clock, "5 stars")

    first = uc.list_conversation(business.id, CUSTOMER, None, 2, uow=uow)
    second = uc.list_conversation(business.id, CUSTOMER, first.next_cursor, 2, uow=uow)

    assert [i.body for i in first.items] == ["5 stars", "Thanks, done!"]
    assert [i.direction for i in second.items] == ["outbound"]
    assert second.next_cursor is None


def test_a_body_with_nul_characters_is_stored_without_them(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """NUL is no SMS character and PostgreSQL text refuses it: it is dropped, the rest kept."""
    business = ready_business(uow, telephony, clock)
    inbound(uow, clock, "see\x00 you", sid="SM" + "a" * 32)
    page = uc.list_conversation(business.id, CUSTOMER, uow=uow)
    assert [item.body for item in page.items if item.direction == "inbound"] == ["see you"]


@pytest.mark.parametrize(
    ("body", "stored", "keyword"),
    [
        ("ST\x00OP", "STOP", Keyword.OPT_OUT),
        (
            "\uff33\uff34\uff2f\uff30 \U0001f64f",
            "\uff33\uff34\uff2f\uff30 \U0001f64f",
            Keyword.OPT_OUT,
        ),
        ("\u200b" * 1600 + "STOP", "\u200b" * 1600, None),
        ("STOP" + " " * 2000, "STOP" + " " * 1596, Keyword.OPT_OUT),
    ],
)
def test_the_text_classified_is_the_text_stored(
    uow: UnitOfWork,
    telephony: SimulatedTelephony,
    clock: ManualClock,
    body: str,
    stored: str,
    keyword: Keyword | None,
) -> None:
    """NUL dropped and 1600 characters kept: the keyword is that text's, as the
    conversation view shows it (a STOP past the stored part is no STOP)."""
    business = ready_business(uow, telephony, clock)
    result = inbound(uow, clock, body, sid="SM" + "a" * 32)
    assert result.keyword is keyword
    with uow:
        [row] = uow.inbound.for_sender(business.id, PhoneNumber(CUSTOMER), before=None, limit=5)
    assert (row.body, row.keyword) == (stored, keyword.value if keyword else None)
    record = uc.get_consent(business.id, CUSTOMER, uow=uow)
    assert record is not None
    assert record.opted_out is (keyword is Keyword.OPT_OUT)


def provider_inbound(
    uow: UnitOfWork, clock: ManualClock, body: str, provider: Keyword, sid: str
) -> uc.InboundResult:
    return uc.handle_inbound_message(
        AUSTIN_NUMBER, CUSTOMER, body, sid, uow=uow, clock=clock, provider_keyword=provider
    )


def test_the_providers_classification_counts_for_localised_keywords(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Advanced Opt-Out classifies ARRET as STOP, COMMENCER as START, AIDE as HELP."""
    business = ready_business(uow, telephony, clock)
    stop = provider_inbound(uow, clock, "ARRET", Keyword.OPT_OUT, "SM" + "1" * 32)
    assert stop.keyword is Keyword.OPT_OUT
    assert stop.reply is not None
    assert "unsubscribed" in stop.reply
    record = uc.get_consent(business.id, CUSTOMER, uow=uow)
    assert record is not None
    assert (record.opted_out, record.opt_out_source) == (True, "keyword")
    clock.advance(timedelta(minutes=1))
    start = provider_inbound(uow, clock, "COMMENCER", Keyword.OPT_IN, "SM" + "2" * 32)
    assert start.keyword is Keyword.OPT_IN
    record = uc.get_consent(business.id, CUSTOMER, uow=uow)
    assert record is not None
    assert record.allows_sending
    clock.advance(timedelta(minutes=1))
    help_ = provider_inbound(uow, clock, "AIDE", Keyword.HELP, "SM" + "3" * 32)
    assert help_.keyword is Keyword.HELP
    assert help_.reply is not None
    assert "Aster Grove Fitness" in help_.reply
    with uow:
        rows = uow.inbound.for_sender(business.id, PhoneNumber(CUSTOMER), before=None, limit=5)
    assert [(r.body, r.keyword) for r in rows] == [
        ("AIDE", "help"),
        ("COMMENCER", "opt_in"),
        ("ARRET", "opt_out"),
    ]


def test_an_opt_out_from_either_side_is_an_opt_out(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Ours says STOP, the provider HELP (or the other way round): the safe reading wins."""
    business = ready_business(uow, telephony, clock)
    result = provider_inbound(uow, clock, "STOP", Keyword.HELP, "SM" + "4" * 32)
    assert result.keyword is Keyword.OPT_OUT
    record = uc.get_consent(business.id, CUSTOMER, uow=uow)
    assert record is not None
    assert record.opted_out


NEW_NUMBER = "+15125550124"


def test_a_stop_to_a_number_the_business_released_opts_out_of_the_business(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Consent is per business: release, provision another number, STOP to the old one,
    and the business can no longer text that customer from the new one."""
    business = ready_business(uow, telephony, clock)
    uc.release_number(business.id, uow=uow, telephony=telephony, clock=clock)
    uc.provision_number(business.id, NEW_NUMBER, uow=uow, telephony=telephony, clock=clock)
    result = inbound(uow, clock, "STOP", sid="SM" + "5" * 32, to=AUSTIN_NUMBER)
    assert (result.business_id, result.keyword) == (business.id, Keyword.OPT_OUT)
    assert result.reply is not None
    record = uc.get_consent(business.id, CUSTOMER, uow=uow)
    assert record is not None
    assert (record.opted_out, record.opt_out_source) == (True, "keyword")
    with pytest.raises(RecipientOptedOut):
        uc.send_review_request(
            business.id, CUSTOMER, "Jane", uow=uow, telephony=telephony, clock=clock
        )
    assert telephony.calls["send"] == 0
    again = inbound(uow, clock, "STOP", sid="SM" + "5" * 32, to=AUSTIN_NUMBER)
    assert (again.duplicate, again.reply) == (True, None)


def test_a_stop_to_a_reassigned_number_opts_out_of_its_holder_and_every_former_one(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """The customer may mean either business: both stop texting them. A START lifts only
    the current holder's opt-out; the former holder needs the customer's START to its own
    number."""
    former = ready_business(uow, telephony, clock, name="Former")
    uc.release_number(former.id, uow=uow, telephony=telephony, clock=clock)
    holder = ready_business(uow, telephony, clock, name="Holder")
    result = inbound(uow, clock, "STOP", sid="SM" + "6" * 32)
    assert result.business_id == holder.id
    assert result.reply is not None
    assert result.reply.startswith("Holder:")
    for business in (former, holder):
        record = uc.get_consent(business.id, CUSTOMER, uow=uow)
        assert record is not None
        assert record.opted_out, business.name
    assert uc.list_conversation(former.id, CUSTOMER, uow=uow).items == []
    # The STOP and its confirmation (an automatic reply), newest first.
    bodies = [i.body for i in uc.list_conversation(holder.id, CUSTOMER, uow=uow).items]
    assert bodies == [result.reply, "STOP"]
    clock.advance(timedelta(minutes=1))
    inbound(uow, clock, "START", sid="SM" + "7" * 32)
    holder_record = uc.get_consent(holder.id, CUSTOMER, uow=uow)
    former_record = uc.get_consent(former.id, CUSTOMER, uow=uow)
    assert holder_record is not None
    assert former_record is not None
    assert (holder_record.opted_out, former_record.opted_out) == (False, True)


@pytest.mark.parametrize("body", ["Is the gym open on Sunday?", "HELP", "START"])
def test_anything_but_a_stop_to_a_released_number_is_ignored(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock, body: str
) -> None:
    """No business holds the number: no conversation, no reply, no opt-in."""
    business = ready_business(uow, telephony, clock)
    uc.release_number(business.id, uow=uow, telephony=telephony, clock=clock)
    before = snapshot(uow, phones=[CUSTOMER])
    result = inbound(uow, clock, body, sid="SM" + "8" * 32)
    assert result == uc.InboundResult(None, None, None)
    assert snapshot(uow, phones=[CUSTOMER]) == before
