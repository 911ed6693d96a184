"""Provider status callbacks move a message forward only."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock, SimulatedTelephony
from neariq_sms.domain import MessageStatus
from neariq_sms.ports import UnitOfWork
from tests.backends import UowFactory
from tests.conftest import NOON_IN_AUSTIN
from tests.strategies import provider_statuses
from tests.usecases.support import ready_business, snapshot


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
    assert uc.handle_status_callback(sid, "delivered", uow=uow, clock=clock)
    assert not uc.handle_status_callback(sid, "sent", uow=uow, clock=clock)
    assert not uc.handle_status_callback(sid, "failed", 30003, uow=uow, clock=clock)
    assert status_of(uow, sid) is MessageStatus.DELIVERED


@pytest.mark.parametrize(("sid", "status"), [("SMunknown", "delivered"), (None, "bogus")])
def test_unknown_sids_and_statuses_are_ignored(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock, sid: str | None, status: str
) -> None:
    """Nothing moves and nothing is written."""
    real = sent_message(uow, telephony, clock)
    before = snapshot(uow)
    assert not uc.handle_status_callback(sid or real, status, uow=uow, clock=clock)
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
        moved = uc.handle_status_callback(sid, raw, uow=uow, clock=clock)
        new_rank = status_of(uow, sid).rank
        assert new_rank >= rank
        assert moved == (new_rank > rank)
        rank = new_rank
    assert rank == max([MessageStatus.QUEUED.rank, *(MessageStatus(s).rank for s in statuses)])
