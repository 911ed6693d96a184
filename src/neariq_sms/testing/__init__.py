"""Test doubles beside the in-memory adapters: storage that fails on cue.

For the library's own fault tests and load benchmark, and for hosts that test
how their code behaves when the database goes away mid-operation.
"""

from neariq_sms.testing.faults import FaultyUnitOfWork, StorageDown, Where

__all__ = ["FaultyUnitOfWork", "StorageDown", "Where"]
