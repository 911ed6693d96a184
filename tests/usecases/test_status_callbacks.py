"""Provider status callbacks move a message forward only."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock, SimulatedTelephony
from neariq_sms.adapters.twilio import status_report
from neariq_sms.domain import MessageStatus, PhoneNumber
from neariq_sms.domain.messages import SentMessage
from neariq_sms.ports import UnitOfWork
from tests.backends import UowFactory
from tests.conftest import NOON_IN_AUSTIN
from tests.strategies import provider_statuses
from tests.usecases.support import CUSTOMER, ready_business, snapshot


def sent_message(uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock) -> str:
    business = ready_business(uow, telephony, clock)
    result = uc.send_review_request(
        business.id, "+15557654321", "Jane", uow=uow, telephony=telephony, clock=clock
    )
    assert result.message_sid is not None
    return result.message_sid


def status_of(uow: UnitOfWork, sid: str) -> MessageStatus:
    with uow:
        message = uow.messages.by_provider_sid(sid)
    assert message is not None
    return message.status


def test_a_late_sent_never_overwrites_delivered(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Out of order: delivered, then sent. The message stays delivered."""
    sid = sent_message(uow, telephony, clock)
    assert uc.handle_status_callback(status_report(sid, "delivered"), uow=uow, clock=clock)
    assert not uc.handle_status_callback(status_report(sid, "sent"), uow=uow, clock=clock)
    assert not uc.handle_status_callback(status_report(sid, "failed", 30003), uow=uow, clock=clock)
    assert status_of(uow, sid) is MessageStatus.DELIVERED


@pytest.mark.parametrize(("sid", "status"), [("SMunknown", "delivered"), (None, "bogus")])
def test_unknown_sids_and_statuses_are_ignored(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock, sid: str | None, status: str
) -> None:
    """Nothing moves and nothing is written."""
    real = sent_message(uow, telephony, clock)
    before = snapshot(uow)
    assert not uc.handle_status_callback(status_report(sid or real, status), uow=uow, clock=clock)
    assert snapshot(uow) == before


# Each example builds fresh storage (the fixture gives a factory); 50 orderings are plenty here
# and keep the SQL backends fast. The state machine covers callbacks at the CI profile's size.
@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(provider_statuses, max_size=8))
def test_the_status_only_ever_moves_forward(uow_factory: UowFactory, statuses: list[str]) -> None:
    """Whatever order callbacks arrive in, the rank never drops, and it ends at the highest."""
    uow, telephony, clock = uow_factory(), SimulatedTelephony(), ManualClock(NOON_IN_AUSTIN)
    sid = sent_message(uow, telephony, clock)
    rank = MessageStatus.QUEUED.rank
    for raw in statuses:
        moved = uc.handle_status_callback(status_report(sid, raw), uow=uow, clock=clock)
        new_rank = status_of(uow, sid).rank
        assert new_rank >= rank
        assert moved == (new_rank > rank)
        rank = new_rank
    assert rank == max([MessageStatus.QUEUED.rank, *(MessageStatus(s).rank for s in statuses)])


class CallbackFirst(SimulatedTelephony):
    """A provider whose status callback reaches us before its answer to the send does."""

    def __init__(self, uow: UnitOfWork, clock: ManualClock, status: str, code: int | None) -> None:
        super().__init__()
        self.uow, self.clock, self.status, self.code = uow, clock, status, code
        self.moved: list[bool] = []

    def send(
        self, *, from_: PhoneNumber, to: PhoneNumber, body: str, message_id: str | None = None
    ) -> SentMessage:
        sent = super().send(from_=from_, to=to, body=body, message_id=message_id)
        report = status_report(sent.provider_sid, self.status, self.code, message_id=message_id)
        moved = uc.handle_status_callback(report, uow=self.uow, clock=self.clock)
        self.moved.append(moved)
        return sent


@pytest.mark.parametrize(
    ("status", "code"), [("delivered", None), ("undelivered", 30003), ("failed", 21610)]
)
def test_a_callback_before_the_sid_is_stored_finds_its_message_by_id(
    uow: UnitOfWork, clock: ManualClock, status: str, code: int | None
) -> None:
    """The callback lands while the message is still submitting: it is applied and records
    the sid; step 3 then leaves the later status alone; 21610 records the opt-out."""
    telephony = CallbackFirst(uow, clock, status, code)
    business = ready_business(uow, telephony, clock)

    result = uc.send_review_request(
        business.id, CUSTOMER, "Jane", uow=uow, telephony=telephony, clock=clock
    )

    assert telephony.moved == [True]
    with uow:
        message = uow.messages.get(result.message_id)
        consent = uow.consents.get(business.id, PhoneNumber(CUSTOMER))
    assert message is not None
    assert (message.status, message.provider_sid, message.error_code) == (
        MessageStatus(status),
        result.message_sid,
        code,
    )
    assert consent is not None
    assert consent.opted_out is (code == 21610)
    assert status_of(uow, result.message_sid or "") is MessageStatus(status)


def test_a_callback_with_an_unknown_message_id_falls_back_to_the_sid(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """A callback URL from before ids were carried, or a stale id: the sid still finds it."""
    sid = sent_message(uow, telephony, clock)
    assert uc.handle_status_callback(
        status_report(sid, "sent", message_id="f" * 32), uow=uow, clock=clock
    )
    assert status_of(uow, sid) is MessageStatus.SENT
