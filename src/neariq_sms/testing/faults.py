"""A unit of work that fails some of its transactions, as a database that goes away does."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Literal, Self

import attrs

from neariq_sms.ports.storage import (
    AllowanceRepository,
    BusinessRepository,
    ConsentRepository,
    InboundRepository,
    MessageRepository,
    NumberRepository,
    RegistrationRepository,
    SessionRepository,
    UnitOfWork,
)

#: Where a transaction fails: it cannot open, or its commit fails.
Where = Literal["enter", "commit"]


class StorageDown(ConnectionError):
    """What :class:`FaultyUnitOfWork` raises: the database went away."""


@attrs.define
class FaultyUnitOfWork:
    """Wraps a unit of work and fails transactions on cue.

    ``fail_at=n, where="enter"``: the n-th transaction cannot open (nothing of
    its block runs). ``fail_at=n, where="commit"``: the n-th commit fails
    (nothing of that transaction is kept). With ``stays_down`` every later one
    fails the same way. With ``rng``, each commit also fails with probability
    ``rate``. It counts transactions and commits, so a run without faults
    tells how many an operation has. Everything else is the wrapped unit of
    work's.
    """

    inner: UnitOfWork
    fail_at: int | None = None
    where: Where = "commit"
    stays_down: bool = False
    rate: float = 0.0
    rng: random.Random | None = None
    #: Transactions opened (also those that failed to open) and commits tried.
    transactions: int = attrs.field(default=0, init=False)
    commits: int = attrs.field(default=0, init=False)
    #: Faults raised so far.
    failures: int = attrs.field(default=0, init=False)

    @property
    def failed(self) -> bool:
        return self.failures > 0

    def _fail(self, where: Where, count: int, message: str) -> None:
        on_cue = (
            self.fail_at is not None
            and where == self.where
            and (count >= self.fail_at if self.stays_down else count == self.fail_at)
        )
        at_random = where == "commit" and self.rng is not None and self.rng.random() < self.rate
        if on_cue or at_random:
            self.failures += 1
            raise StorageDown(message)

    def __enter__(self) -> Self:
        self.transactions += 1
        self._fail("enter", self.transactions, "the database is unreachable")
        self.inner.__enter__()
        return self

    @contextlib.contextmanager
    def reading(self) -> Iterator[Self]:
        self.transactions += 1
        self._fail("enter", self.transactions, "the database is unreachable")
        with self.inner.reading():
            yield self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.inner.__exit__(exc_type, exc, tb)

    def commit(self) -> None:
        self.commits += 1
        self._fail("commit", self.commits, "the commit failed")
        self.inner.commit()

    def rollback(self) -> None:
        self.inner.rollback()

    @property
    def businesses(self) -> BusinessRepository:
        return self.inner.businesses

    @property
    def numbers(self) -> NumberRepository:
        return self.inner.numbers

    @property
    def consents(self) -> ConsentRepository:
        return self.inner.consents

    @property
    def allowances(self) -> AllowanceRepository:
        return self.inner.allowances

    @property
    def messages(self) -> MessageRepository:
        return self.inner.messages

    @property
    def inbound(self) -> InboundRepository:
        return self.inner.inbound

    @property
    def sessions(self) -> SessionRepository:
        return self.inner.sessions

    @property
    def registrations(self) -> RegistrationRepository:
        return self.inner.registrations

    def __getattr__(self, name: str) -> Any:
        # What the wrapped adapter offers beyond the port (an engine, say).
        return getattr(self.inner, name)


def _conforms(uow: FaultyUnitOfWork) -> UnitOfWork:
    # mypy checks here that the wrapper still offers the whole port.
    return uow


__all__ = ["FaultyUnitOfWork", "StorageDown", "Where"]
