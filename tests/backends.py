"""Storage backends the storage-facing suites run against.

Each entry maps a backend name to a context manager factory: entering it
yields a ``make_uow()`` callable whose every call returns a unit of work over
fresh, empty storage. SQL backends register themselves here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

from neariq_sms.adapters.memory import InMemoryUnitOfWork
from neariq_sms.ports import UnitOfWork
from tests.sql.backends import postgres_backend, sqlite_backend

UowFactory = Callable[[], UnitOfWork]


@contextlib.contextmanager
def memory_backend() -> Iterator[UowFactory]:
    yield InMemoryUnitOfWork


BACKENDS: dict[str, Callable[[], AbstractContextManager[UowFactory]]] = {
    "memory": memory_backend,
    "sqlite": sqlite_backend,
    "postgres": postgres_backend,
}
