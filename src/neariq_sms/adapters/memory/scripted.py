"""Scripted failures of the simulated providers: the next calls of an operation fail.

What the fault-injection tests and the sandbox's tests need of both simulators
(telephony and sender registry), written once.
"""

from __future__ import annotations

import threading
from collections import Counter, deque

import attrs

from neariq_sms.domain.errors import SmsError, SmsNotConfigured


@attrs.frozen
class Failure:
    error: SmsError
    #: The operation takes effect before the error is raised (a timeout after success).
    after_effect: bool


class FailureScript:
    """Per-operation queues of scripted failures, and how often each operation was
    called (failed calls included). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: dict[str, deque[Failure]] = {}
        self.calls: Counter[str] = Counter()

    def add(self, operation: str, error: SmsError, *, times: int, after_effect: bool) -> None:
        with self._lock:
            queue = self._failures.setdefault(operation, deque())
            queue.extend(Failure(error, after_effect) for _ in range(times))

    def begin(self, operation: str, *, configured: bool) -> Failure | None:
        """Count a call of ``operation``; raise its failure now unless it is to take
        effect first (then the caller raises it afterwards). ``SmsNotConfigured``
        when not configured."""
        with self._lock:
            self.calls[operation] += 1
            if not configured:
                raise SmsNotConfigured()
            queue = self._failures.get(operation)
            failure = queue.popleft() if queue else None
        if failure is not None and not failure.after_effect:
            raise failure.error
        return failure


__all__ = ["Failure", "FailureScript"]
