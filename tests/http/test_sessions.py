"""Dashboard sessions on every storage backend: revoking one, or all of a business."""

from __future__ import annotations

from neariq_sms import usecases as uc
from neariq_sms.adapters.http.sessions import (
    create_session,
    end_session,
    resolve_session,
    revoke_sessions,
)
from neariq_sms.adapters.memory import ManualClock
from neariq_sms.ports import UnitOfWork


def test_revoking_a_business_ends_its_sessions_only(uow: UnitOfWork, clock: ManualClock) -> None:
    """Every session of the business stops resolving; another business's keeps working;
    a second revocation finds nothing."""
    shop = uc.create_business("Shop", "growth", uow=uow, clock=clock)
    other = uc.create_business("Other", "growth", uow=uow, clock=clock)
    mine = [create_session(shop.id, uow=uow, clock=clock) for _ in range(3)]
    theirs = create_session(other.id, uow=uow, clock=clock)
    assert revoke_sessions(shop.id, uow=uow) == 3
    assert [resolve_session(t, uow=uow, clock=clock) for t in mine] == [None] * 3
    assert resolve_session(theirs, uow=uow, clock=clock) == other.id
    assert revoke_sessions(shop.id, uow=uow) == 0
    assert revoke_sessions("no-such-business", uow=uow) == 0


def test_ending_a_session_says_whether_there_was_one(uow: UnitOfWork, clock: ManualClock) -> None:
    shop = uc.create_business("Shop", "growth", uow=uow, clock=clock)
    token = create_session(shop.id, uow=uow, clock=clock)
    assert end_session(token, uow=uow) is True
    assert resolve_session(token, uow=uow, clock=clock) is None
    assert end_session(token, uow=uow) is False
    assert end_session("not a token!", uow=uow) is False


def test_a_reactivated_business_signs_in_again(uow: UnitOfWork, clock: ManualClock) -> None:
    """reactivate_business undoes deactivate_business, keeping the plan; idempotent."""
    shop = uc.create_business("Shop", "pro", uow=uow, clock=clock)
    uc.deactivate_business(shop.id, uow=uow, clock=clock)
    again = uc.reactivate_business(shop.id, uow=uow)
    assert (again.active, again.plan.value) == (True, "pro")
    assert uc.reactivate_business(shop.id, uow=uow).active
    assert resolve_session(create_session(shop.id, uow=uow, clock=clock), uow=uow, clock=clock)
