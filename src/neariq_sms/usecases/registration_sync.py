"""Advancing every registration in flight: ``neariq-sms registration sync``.

Each run takes every registration in flight, one at a time under a lease
(``RegistrationRepository.claim``), and walks its chain in order: a step whose
object exists and is not final is polled; a step not made yet is made when its
prerequisite allows (the brand does not wait for the profiles' review; the
campaign waits for the brand's approval) and polled at once. Each provider
object is made at most once per registration:

- the step is stored ``attempting`` (committed) before the provider call, and
  its sid right after it, before any later step;
- a step found ``attempting`` (a crash, or an ambiguous error, left its outcome
  unknown) is made again with ``resume``: the registry looks each object up by
  name first;
- the lease keeps two syncs (other hosts, an overlapping cron) off one
  registration; a sync that died frees it when the lease runs out.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import attrs

from neariq_sms.domain.errors import ProviderError, SmsNotConfigured
from neariq_sms.domain.registration import (
    LEASE_SECONDS,
    RegistrationIssue,
    RegistrationStatus,
    SenderRegistration,
    StepName,
    StepState,
)
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.registry import SenderRegistry
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.usecases._common import log

#: The steps made in order (the number joins the service apart: ``attach_number``).
CHAIN = (
    StepName.CUSTOMER_PROFILE,
    StepName.TRUST_PRODUCT,
    StepName.BRAND,
    StepName.MESSAGING_SERVICE,
    StepName.CAMPAIGN,
)
_POLLED = frozenset(
    {StepState.SUBMITTED, StepState.IN_REVIEW, StepState.VERIFYING, StepState.SUSPENDED}
)


@attrs.frozen
class SyncReport:
    """What one run did: registrations looked at, and how they ended the run."""

    advanced: int = 0
    approved: int = 0
    rejected: int = 0
    #: Another sync holds them (or finished them since they were listed).
    busy: int = 0
    #: A provider call failed; the next run tries again.
    failed: int = 0
    #: Approved ones whose number joined the Messaging Service in this run (adding
    #: it had failed when the number was bought).
    attached: int = 0


class _LeaseLost(Exception):
    """Another sync took the registration over (this one's lease ran out)."""


@attrs.define
class _Run:
    """One registration's walk in one run: the registration as stored so far."""

    registration: SenderRegistration
    uow: UnitOfWork
    registry: SenderRegistry
    clock: Clock
    owner: str

    def store(self, registration: SenderRegistration) -> None:
        """Write the registration, renewing this run's lease (or ``_LeaseLost``)."""
        now = self.clock.now()
        until = now + timedelta(seconds=LEASE_SECONDS)
        with self.uow:
            held = self.uow.registrations.claim(
                registration.id, owner=self.owner, now=now, until=until
            )
            if held is None:
                raise _LeaseLost(registration.id)
            registration = attrs.evolve(registration, leased_until=until, lease_owner=self.owner)
            self.uow.registrations.update(registration)
            self.uow.commit()
        self.registration = registration


def sync_registrations(
    *,
    uow: UnitOfWork,
    registry: SenderRegistry,
    clock: Clock,
    limit: int = 100,
    owner: str | None = None,
) -> SyncReport:
    """Advance every registration in flight (at most ``limit``) by one run, then
    put into its Messaging Service the number of every approved one whose
    number is not there (at most ``limit``; adding it failed at provisioning).

    Safe to run from several hosts at once and again after a crash; the
    provider's status webhook only makes it come sooner. A provider failure
    stops that registration's run (counted in ``failed``) and the next run
    goes on from where it stopped.

    Raises:
        SmsNotConfigured: no registry configured.
    """
    if not registry.configured:
        raise SmsNotConfigured(reason="no sender registry configured")
    owner = owner or uuid.uuid4().hex
    with uow.reading():
        pending = [r.id for r in uow.registrations.in_flight(limit=limit)]
        unattached = [r.id for r in uow.registrations.awaiting_number(limit=limit)]
    counts = dict.fromkeys(attrs.fields_dict(SyncReport), 0)
    for registration_id in pending:
        counts[
            _sync_one(registration_id, uow=uow, registry=registry, clock=clock, owner=owner)
        ] += 1
    for registration_id in unattached:
        counts[
            _attach_one(registration_id, uow=uow, registry=registry, clock=clock, owner=owner)
        ] += 1
    return SyncReport(**counts)


def sync_registration(
    registration_id: str,
    *,
    uow: UnitOfWork,
    registry: SenderRegistry,
    clock: Clock,
    owner: str | None = None,
) -> str:
    """Advance one registration (the webhook's nudge); how it ended the run:
    ``advanced``, ``approved``, ``rejected``, ``busy`` or ``failed``."""
    owner = owner or uuid.uuid4().hex
    return _sync_one(registration_id, uow=uow, registry=registry, clock=clock, owner=owner)


def nudge_registration(
    sid: str, *, uow: UnitOfWork, registry: SenderRegistry, clock: Clock, limit: int = 1000
) -> str | None:
    """A provider's status callback named the object ``sid``: advance the registration
    in flight it belongs to now (see :func:`sync_registration`), instead of at the
    next cron run. ``None`` when no registration in flight has that object."""
    with uow.reading():
        candidates = uow.registrations.in_flight(limit=limit)
    for registration in candidates:
        if any(step.sid == sid for step in registration.steps):
            return sync_registration(registration.id, uow=uow, registry=registry, clock=clock)
    return None


def _claim(
    registration_id: str, *, uow: UnitOfWork, clock: Clock, owner: str
) -> SenderRegistration | None:
    """Take the registration's sync lease for ``owner``; ``None`` while another holds it."""
    now = clock.now()
    with uow:
        claimed = uow.registrations.claim(
            registration_id, owner=owner, now=now, until=now + timedelta(seconds=LEASE_SECONDS)
        )
        uow.commit()
    return claimed


def _sync_one(
    registration_id: str, *, uow: UnitOfWork, registry: SenderRegistry, clock: Clock, owner: str
) -> str:
    claimed = _claim(registration_id, uow=uow, clock=clock, owner=owner)
    if claimed is None:
        return "busy"
    if not claimed.in_flight:  # another sync finished it since it was listed
        _release(uow, registration_id, owner)
        return "busy"
    run = _Run(claimed, uow, registry, clock, owner)
    outcome = "advanced"
    try:
        _walk(run)
        _attach(run)
        outcome = _summarise(run)
    except ProviderError as exc:
        log.warning("registration sync stopped registration=%s: %s", registration_id, exc.reason)
        outcome = "failed"
    except _LeaseLost:
        return "busy"
    _release(uow, registration_id, owner)
    return outcome


def _attach_one(
    registration_id: str, *, uow: UnitOfWork, registry: SenderRegistry, clock: Clock, owner: str
) -> str:
    """An approved registration's number into its service, under the same lease as a
    walk: ``attached``, ``busy`` (held, or nothing to do any more) or ``failed``."""
    claimed = _claim(registration_id, uow=uow, clock=clock, owner=owner)
    if claimed is None:
        return "busy"
    run = _Run(claimed, uow, registry, clock, owner)
    outcome = "busy"
    try:
        if claimed.approved and _attach(run):
            outcome = "attached"
    except ProviderError as exc:
        log.warning("number not added to its service registration=%s: %s", registration_id,
                    exc.reason)  # fmt: skip
        outcome = "failed"
    except _LeaseLost:
        return "busy"
    _release(uow, registration_id, owner)
    return outcome


def _release(uow: UnitOfWork, registration_id: str, owner: str) -> None:
    with uow:
        uow.registrations.release(registration_id, owner=owner)
        uow.commit()


def _walk(run: _Run) -> None:
    """Every step of the chain in order, until one is rejected or must wait."""
    for name in CHAIN:
        step = run.registration.step(name)
        if step.state is StepState.SKIPPED or step.state is StepState.APPROVED:
            continue
        if step.state is StepState.ATTEMPTING or (
            step.state is StepState.PENDING and _ready(run.registration, name)
        ):
            _make(run, name)
        elif step.state in _POLLED:
            _poll(run, name)
        if run.registration.step(name).state is StepState.REJECTED:
            return


#: What must exist before a step's object is made (the campaign also needs the brand
#: approved: ``_ready``). The brand does not wait for the profiles' review.
_NEEDS = {
    StepName.CUSTOMER_PROFILE: (),
    StepName.TRUST_PRODUCT: (StepName.CUSTOMER_PROFILE,),
    StepName.BRAND: (StepName.CUSTOMER_PROFILE, StepName.TRUST_PRODUCT),
    StepName.MESSAGING_SERVICE: (StepName.BRAND,),
    StepName.CAMPAIGN: (StepName.MESSAGING_SERVICE,),
}


def _ready(registration: SenderRegistration, name: StepName) -> bool:
    """The prerequisites of making ``name`` hold."""
    there = {s.name for s in registration.steps if s.made or s.state is StepState.SKIPPED}
    if not all(needed in there for needed in _NEEDS[name]):
        return False
    if name is StepName.CAMPAIGN:
        return registration.step(StepName.BRAND).state in {StepState.APPROVED, StepState.SKIPPED}
    return True


def _make(run: _Run, name: StepName) -> None:
    """Make one step's object: ``attempting`` stored first, its sid right after."""
    step = run.registration.step(name)
    # Unknown outcome before, or a resubmission whose earlier objects may exist: look up.
    resume = step.state is StepState.ATTEMPTING or (
        step.sid is None and run.registration.revision > 1
    )
    now = run.clock.now()
    if step.state is not StepState.ATTEMPTING:
        run.store(run.registration.with_step(name, StepState.ATTEMPTING, now=now))
    try:
        sid = run.registry.create(name, run.registration, resume=resume)
    except ProviderError as exc:
        if exc.ambiguous or exc.transient:
            raise  # stays attempting: the next run resumes
        issue = RegistrationIssue(exc.provider_code, exc.reason, None)
        failed = run.registration.with_step(name, StepState.REJECTED, now=run.clock.now())
        run.store(failed.reject([issue], run.clock.now()))
        return
    made = run.registration.with_step(name, StepState.SUBMITTED, sid=sid, now=run.clock.now())
    if made.status is RegistrationStatus.SUBMITTED:
        made = made.start_review(run.clock.now())
    run.store(made)
    log.info("registration step made registration=%s step=%s", made.id, name.value)
    _poll(run, name)


def _poll(run: _Run, name: StepName) -> None:
    """Ask the provider where one object stands; record a rejection with its reasons."""
    answer = run.registry.status(name, run.registration)
    now = run.clock.now()
    registration = run.registration.with_step(
        name, answer.state, provider_status=answer.provider_status, now=now
    )
    if answer.state is StepState.REJECTED:
        registration = registration.reject(answer.issues, now)
        log.info("registration rejected registration=%s step=%s", registration.id, name.value)
    if registration != run.registration:
        run.store(registration)


def _attach(run: _Run) -> bool:
    """Put the business's active number into the Messaging Service once both exist;
    True when this call put it there."""
    registration = run.registration
    service = registration.messaging_service_sid
    if service is None or registration.status is RegistrationStatus.REJECTED:
        return False
    with run.uow.reading():
        number = run.uow.numbers.holding(registration.business_id)
    if number is None or not number.active or number.provider_sid is None:
        return False
    step = registration.step(StepName.NUMBER)
    if step.sid == number.provider_sid and step.state is StepState.APPROVED:
        return False
    run.registry.add_number(service, number.provider_sid)
    run.store(registration.with_number(number.provider_sid, now=run.clock.now()))
    return True


def _summarise(run: _Run) -> str:
    """The registration's own status from its steps, stored; the run's outcome."""
    registration = run.registration
    if registration.status is RegistrationStatus.REJECTED:
        return "rejected"
    if registration.step(StepName.CAMPAIGN).state is StepState.APPROVED:
        run.store(registration.approve(run.clock.now()))
        log.info("registration approved registration=%s", registration.id)
        return "approved"
    return "advanced"


__all__ = [
    "CHAIN",
    "SyncReport",
    "nudge_registration",
    "sync_registration",
    "sync_registrations",
]
