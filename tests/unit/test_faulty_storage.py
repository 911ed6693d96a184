"""The fault-injecting unit of work fails exactly where it is told to, and nowhere else."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from neariq_sms.adapters.memory import InMemoryUnitOfWork
from neariq_sms.domain import Business, Plan
from neariq_sms.testing import FaultyUnitOfWork, StorageDown, Where

NOW = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)


def _add(uow: FaultyUnitOfWork, n: int) -> bool:
    """One transaction that adds business ``b<n>``; False when the storage failed."""
    try:
        with uow:
            uow.businesses.add(Business(f"b{n}", "Shop", Plan.GROWTH, NOW))
            uow.commit()
    except StorageDown:
        return False
    return True


def _stored(inner: InMemoryUnitOfWork) -> list[str]:
    with inner:
        return sorted(b.id for b in inner.businesses.list())


@pytest.mark.parametrize("where", ["enter", "commit"])
@pytest.mark.parametrize(("stays_down", "kept"), [(False, ["b1", "b3"]), (True, ["b1"])])
def test_the_nth_transaction_fails_once_or_from_then_on(
    where: Where, stays_down: bool, kept: list[str]
) -> None:
    """The second transaction fails (to open, or to commit); nothing of it is kept."""
    inner = InMemoryUnitOfWork()
    uow = FaultyUnitOfWork(inner, fail_at=2, where=where, stays_down=stays_down)
    results = [_add(uow, n) for n in (1, 2, 3)]
    assert results == [True, False, not stays_down]
    assert _stored(inner) == kept
    assert (uow.transactions, uow.failed) == (3, True)
    assert uow.commits == {"enter": 1 + (not stays_down), "commit": 3}[where]


def test_without_a_fault_it_only_counts() -> None:
    """A dry run tells how many transactions and commits an operation has."""
    inner = InMemoryUnitOfWork()
    uow = FaultyUnitOfWork(inner)
    assert all(_add(uow, n) for n in (1, 2))
    assert (uow.transactions, uow.commits, uow.failures) == (2, 2, 0)
    assert _stored(inner) == ["b1", "b2"]


def test_a_rate_fails_that_share_of_commits() -> None:
    """With a random source, commits fail at about the given rate."""
    uow = FaultyUnitOfWork(InMemoryUnitOfWork(), rate=0.25, rng=random.Random(7))
    failed = sum(not _add(uow, n) for n in range(400))
    assert failed == uow.failures
    assert 60 < failed < 140
