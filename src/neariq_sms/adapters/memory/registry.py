"""The sandbox sender registry: plays the A2P 10DLC chain deterministically.

What it does, sync by sync (``registration sync`` polls each object right
after making it, and in every later run until it is final):

- every object is made ``in_review`` (the Messaging Service, which has no
  review, ``approved``); the campaign is vetted at once: ``approved`` when made;
- the second poll of a profile, trust product or brand (the next sync's)
  approves it, except a brand whose EIN is ``000000000``: rejected with error
  30795, naming the EIN;
- a sole proprietor's brand is then first ``verifying`` (the registry "texted"
  the owner), and the next poll finds the owner's YES: ``approved``.

So a standard registration is approved after two syncs, a sole proprietor's
after three. Unlike a real provider's names, nothing here is unique: making an
object twice makes two (which the tests count), so only the caller's
bookkeeping keeps each object single.

What it holds lives in a :class:`RegistryState`: :class:`MemoryRegistryState`
by default, or ``adapters.sql.sandbox.SqlRegistryState`` so that every process
on one database (``serve --sandbox``, ``registration sync``) sees one registry.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from typing import Literal, Protocol

import attrs

from neariq_sms.adapters.memory.scripted import Failure, FailureScript
from neariq_sms.domain.errors import ProviderError, SmsError
from neariq_sms.domain.registration import (
    RegistrationIssue,
    RegistrationKind,
    SenderRegistration,
    StepName,
    StepState,
    StepStatus,
)
from neariq_sms.ports.registry import SenderRegistry

#: The EIN the simulated registry refuses (registration.md §4).
REJECTED_EIN = "000000000"
INVALID_EIN = RegistrationIssue(
    30795, "The EIN does not match the IRS records of the business's legal name.", "EIN"
)
#: Twilio's code for a number that already sits in another service's sender pool.
NUMBER_IN_ANOTHER_SERVICE = 21712

RegistryOperation = Literal["create", "status", "add_number", "remove_number", "resend_otp"]

_PREFIXES = {
    StepName.CUSTOMER_PROFILE: "BU",
    StepName.TRUST_PRODUCT: "BU",
    StepName.BRAND: "BN",
    StepName.MESSAGING_SERVICE: "MG",
    StepName.CAMPAIGN: "QE",
}
#: The objects each step makes besides its own (end users, the address and its
#: document), with their sid prefixes.
_PARTS = {
    StepName.CUSTOMER_PROFILE: (("end_user_business", "IT"), ("end_user_representative", "IT"),
                                ("address", "AD"), ("document_address", "RD")),
    StepName.TRUST_PRODUCT: (("end_user_messaging", "IT"),),
}  # fmt: skip


@attrs.frozen
class RegistryObject:
    """One object the simulated registry holds."""

    sid: str
    #: The friendly name it was made under (several objects may share one).
    name: str
    #: What it is: a step name, a part (``address``), or ``pool`` (a number in a service).
    kind: str
    state: StepState
    polls: int = 0
    #: A number's service (``pool``), or the registration the object belongs to.
    parent: str | None = None


class RegistryState(Protocol):
    """The objects a simulated registry holds. Each method is atomic on its own."""

    def add(self, obj: RegistryObject) -> None:
        """Store a new object (names are not unique: a second make is a second object)."""
        ...

    def named(self, name: str) -> list[RegistryObject]:
        """The objects made under ``name``, oldest first."""
        ...

    def get(self, sid: str) -> RegistryObject | None: ...

    def poll(self, sid: str) -> RegistryObject | None:
        """Count one more poll of the object; return it as it is now."""
        ...

    def set_state(self, sid: str, state: StepState) -> None: ...

    def remove(self, sid: str) -> None:
        """Drop the object; nothing when there is none."""
        ...

    def objects(self) -> list[RegistryObject]:
        """Every object, oldest first."""
        ...


class MemoryRegistryState:
    """A :class:`RegistryState` in this process's memory. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._objects: dict[str, RegistryObject] = {}

    def add(self, obj: RegistryObject) -> None:
        with self._lock:
            self._objects[obj.sid] = obj

    def named(self, name: str) -> list[RegistryObject]:
        with self._lock:
            return [o for o in self._objects.values() if o.name == name]

    def get(self, sid: str) -> RegistryObject | None:
        with self._lock:
            return self._objects.get(sid)

    def poll(self, sid: str) -> RegistryObject | None:
        with self._lock:
            obj = self._objects.get(sid)
            if obj is not None:
                obj = self._objects[sid] = attrs.evolve(obj, polls=obj.polls + 1)
            return obj

    def set_state(self, sid: str, state: StepState) -> None:
        with self._lock:
            if sid in self._objects:
                self._objects[sid] = attrs.evolve(self._objects[sid], state=state)

    def remove(self, sid: str) -> None:
        with self._lock:
            self._objects.pop(sid, None)

    def objects(self) -> list[RegistryObject]:
        with self._lock:
            return list(self._objects.values())


class SimulatedRegistry:
    """A :class:`~neariq_sms.ports.SenderRegistry` that registers nothing. Thread-safe."""

    def __init__(self, *, configured: bool = True, state: RegistryState | None = None) -> None:
        self._configured = configured
        self._state: RegistryState = state if state is not None else MemoryRegistryState()
        self._lock = threading.Lock()
        self._script = FailureScript()
        #: How many times each operation was called (failed calls included).
        self.calls: Counter[str] = self._script.calls
        #: Confirmation texts sent again, by brand sid.
        self.otps_resent: Counter[str] = Counter()

    @property
    def configured(self) -> bool:
        return self._configured

    @property
    def state(self) -> RegistryState:
        return self._state

    def fail_next(
        self,
        operation: RegistryOperation,
        error: SmsError,
        *,
        times: int = 1,
        after_effect: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``operation`` raise ``error``; with
        ``after_effect`` the call acts first (a timeout after the provider made
        the object)."""
        self._script.add(operation, error, times=times, after_effect=after_effect)

    def _begin(self, operation: RegistryOperation) -> Failure | None:
        return self._script.begin(operation, configured=self._configured)

    # --- the port -----------------------------------------------------------------------

    def create(self, step: StepName, registration: SenderRegistration, *, resume: bool) -> str:
        failure = self._begin("create")
        sid = self._create(step, registration, resume=resume)
        if failure is not None:
            raise failure.error
        return sid

    def _create(self, step: StepName, registration: SenderRegistration, *, resume: bool) -> str:
        if step is StepName.NUMBER:
            raise ValueError("numbers join a service through add_number")
        existing = registration.step(step).sid
        if existing is not None:  # a corrected object goes back to review
            self._state.set_state(existing, _first_state(step))
            return existing
        if registration.kind is RegistrationKind.EXISTING:
            return self._adopted_campaign(step, registration)
        for part, prefix in _PARTS.get(step, ()):
            self._make(registration, part, prefix, StepState.APPROVED, resume=resume)
        return self._make(registration, step, _PREFIXES[step], _first_state(step), resume=resume)

    def _make(
        self,
        registration: SenderRegistration,
        kind: str,
        prefix: str,
        state: StepState,
        *,
        resume: bool,
    ) -> str:
        name = registration.provider_name(kind)
        if resume and (found := self._state.named(name)):
            return found[0].sid
        sid = f"{prefix}{uuid.uuid4().hex}"
        self._state.add(RegistryObject(sid, name, str(kind), state, parent=registration.id))
        return sid

    def _adopted_campaign(self, step: StepName, registration: SenderRegistration) -> str:
        service = registration.messaging_service_sid
        if step is not StepName.CAMPAIGN or service is None:
            raise ValueError(f"an existing registration makes no {step}")
        # The simulated account holds an approved campaign on any service it is asked about.
        sid = f"QE{uuid.uuid5(uuid.NAMESPACE_URL, service).hex}"
        if self._state.get(sid) is None:
            self._state.add(RegistryObject(sid, f"adopted {service}", "campaign",
                                           StepState.APPROVED, parent=service))  # fmt: skip
        return sid

    def status(self, step: StepName, registration: SenderRegistration) -> StepStatus:
        failure = self._begin("status")
        answer = self._status(step, registration)
        if failure is not None:
            raise failure.error
        return answer

    def _status(self, step: StepName, registration: SenderRegistration) -> StepStatus:
        sid = registration.step(step).sid
        if step is StepName.NUMBER:
            pooled = sid is not None and self.service_of(sid) == registration.messaging_service_sid
            return StepStatus(StepState.APPROVED if pooled else StepState.PENDING)
        obj = None if sid is None else self._state.poll(sid)
        if obj is None:
            raise ProviderError(reason=f"the registry has no {step} {sid}", provider_code=20404)
        state = obj.state
        if state is StepState.VERIFYING or (state is StepState.IN_REVIEW and obj.polls >= 2):
            state = _after_review(step, registration, obj)
            self._state.set_state(obj.sid, state)
        issues = (INVALID_EIN,) if state is StepState.REJECTED else ()
        return StepStatus(state=state, provider_status=f"simulated-{state}", issues=issues)

    def add_number(self, service_sid: str, number_sid: str) -> None:
        failure = self._begin("add_number")
        held = self._state.get(_pool_sid(number_sid))
        if held is not None and held.parent != service_sid:
            raise ProviderError(
                reason="the number is in another Messaging Service",
                provider_code=NUMBER_IN_ANOTHER_SERVICE,
            )
        if held is None:
            self._state.add(RegistryObject(_pool_sid(number_sid), f"pool {number_sid}", "pool",
                                           StepState.APPROVED, parent=service_sid))  # fmt: skip
        if failure is not None:
            raise failure.error

    def remove_number(self, service_sid: str, number_sid: str) -> None:
        failure = self._begin("remove_number")
        held = self._state.get(_pool_sid(number_sid))
        if held is not None and held.parent == service_sid:
            self._state.remove(held.sid)
        if failure is not None:
            raise failure.error

    def resend_otp(self, brand_sid: str) -> None:
        failure = self._begin("resend_otp")
        if self._state.get(brand_sid) is None:
            raise ProviderError(reason="the registry has no such brand", provider_code=20404)
        with self._lock:
            self.otps_resent[brand_sid] += 1
        if failure is not None:
            raise failure.error

    # --- for tests and operators ----------------------------------------------------------

    def service_of(self, number_sid: str) -> str | None:
        """The Messaging Service whose sender pool holds the number, if any."""
        held = self._state.get(_pool_sid(number_sid))
        return None if held is None else held.parent

    def made(self, registration_id: str) -> Counter[str]:
        """How many objects of each kind the registry made for one registration."""
        return Counter(o.kind for o in self._state.objects() if o.parent == registration_id)


def _pool_sid(number_sid: str) -> str:
    return f"pool:{number_sid}"


def _first_state(step: StepName) -> StepState:
    if step in {StepName.MESSAGING_SERVICE, StepName.CAMPAIGN}:
        return StepState.APPROVED
    return StepState.IN_REVIEW


def _after_review(
    step: StepName, registration: SenderRegistration, obj: RegistryObject
) -> StepState:
    if step is not StepName.BRAND:
        return StepState.APPROVED
    business = registration.details.business
    if business is not None and business.ein == REJECTED_EIN:
        return StepState.REJECTED
    if registration.kind is RegistrationKind.SOLE_PROPRIETOR and obj.state is StepState.IN_REVIEW:
        return StepState.VERIFYING  # approved by the registry; the owner's YES comes next
    return StepState.APPROVED


def _conforms(registry: SimulatedRegistry) -> SenderRegistry:
    return registry  # mypy proves the adapter satisfies the port


__all__ = [
    "INVALID_EIN",
    "REJECTED_EIN",
    "MemoryRegistryState",
    "RegistryObject",
    "RegistryState",
    "SimulatedRegistry",
]
