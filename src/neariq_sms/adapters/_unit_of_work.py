"""What every unit-of-work adapter shares: one open block per thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Protocol, Self

from neariq_sms.ports.storage import (
    AllowanceRepository,
    BusinessRepository,
    ConsentRepository,
    ConversationRepository,
    InboundRepository,
    MessageRepository,
    NumberRepository,
    RegistrationRepository,
    Repositories,
    SessionRepository,
)


class Block(Repositories, Protocol):
    """One thread's open transaction and its repositories."""

    def commit(self) -> None: ...

    def rollback(self) -> None: ...

    def close(self) -> None:
        """Roll back what was not committed and let go of the transaction."""
        ...


class ThreadLocalUnitOfWork:
    """``with uow:`` opens a block for the current thread; one instance serves many."""

    def __init__(self) -> None:
        self._local = threading.local()

    def _begin(self, *, read_only: bool) -> Block:
        raise NotImplementedError

    def _block(self) -> Block:
        block: Block | None = getattr(self._local, "block", None)
        if block is None:
            raise RuntimeError("repositories are reachable only inside 'with uow:'")
        return block

    def __enter__(self) -> Self:
        if getattr(self._local, "block", None) is not None:
            raise RuntimeError("this thread already has an open unit of work")
        read_only = getattr(self._local, "reading", False)
        self._local.reading = False
        self._local.block = self._begin(read_only=read_only)
        self._local.block_reads_only = read_only
        return self

    @contextlib.contextmanager
    def reading(self) -> Iterator[Self]:
        if getattr(self._local, "block", None) is not None and self._local.block_reads_only:
            # Inside another reading block: read in its transaction; it stays open.
            yield self
            return
        # Through __enter__, so that a subclass sees every block open.
        self._local.reading = True
        try:
            with self:
                yield self
        finally:
            self._local.reading = False

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        block = self._block()
        self._local.block = None
        block.close()

    def commit(self) -> None:
        self._block().commit()

    def rollback(self) -> None:
        self._block().rollback()

    @property
    def businesses(self) -> BusinessRepository:
        return self._block().businesses

    @property
    def numbers(self) -> NumberRepository:
        return self._block().numbers

    @property
    def consents(self) -> ConsentRepository:
        return self._block().consents

    @property
    def allowances(self) -> AllowanceRepository:
        return self._block().allowances

    @property
    def messages(self) -> MessageRepository:
        return self._block().messages

    @property
    def inbound(self) -> InboundRepository:
        return self._block().inbound

    @property
    def sessions(self) -> SessionRepository:
        return self._block().sessions

    @property
    def conversations(self) -> ConversationRepository:
        return self._block().conversations

    @property
    def registrations(self) -> RegistrationRepository:
        return self._block().registrations
