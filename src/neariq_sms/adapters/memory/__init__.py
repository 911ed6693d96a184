"""In-memory adapters: first-class, faithful implementations of every port.

They power the sandbox server and the property-based tests, and users can
test their own code against them.
"""

from neariq_sms.adapters.clock import ManualClock, SystemClock
from neariq_sms.adapters.memory.storage import InMemoryUnitOfWork
from neariq_sms.adapters.memory.telephony import (
    MemoryState,
    SandboxState,
    SentSms,
    SimulatedTelephony,
)

__all__ = [
    "InMemoryUnitOfWork",
    "ManualClock",
    "MemoryState",
    "SandboxState",
    "SentSms",
    "SimulatedTelephony",
    "SystemClock",
]
