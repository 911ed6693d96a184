"""A business's sender registration (US A2P 10DLC) and its state machine.

A business texts US customers from a local number only once the carriers
know who sends and why: the provider registers the business as a *brand*
with a *campaign*, and the number sends through the campaign's Messaging
Service. The registration is a chain of provider objects (:class:`StepName`),
each created once, with its own review; the registration's own
:class:`RegistrationStatus` summarises them for the business.

Every transition returns a new value; an impossible one raises
:class:`InvalidTransition` (a bug in the caller, never a client's mistake:
use cases check :attr:`SenderRegistration.in_flight` first).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

import attrs

from neariq_sms.domain.errors import RegistrationPending, RegistrationRequired
from neariq_sms.domain.registration_input import RegistrationDetails

#: How long one sync may work on a registration before another may take it over.
LEASE_SECONDS = 300
#: Delivery errors that status callbacks report when the carriers block a sender for
#: its registration's sake: unregistered number (30034), filtered (30007), campaign
#: suspended (30990, which suspends the registration).
BLOCKED_SEND_CODES = frozenset({30034, 30007, 30990})
CAMPAIGN_SUSPENDED = 30990


class RegistrationKind(enum.StrEnum):
    """How the business registers (see the README's registration section)."""

    #: A business with an EIN.
    STANDARD = "standard"
    #: An EIN and under ~6,000 segments a day: the same chain without secondary vetting.
    LOW_VOLUME = "low_volume"
    #: No EIN: the owner confirms by answering a text from the registry; one number only.
    SOLE_PROPRIETOR = "sole_proprietor"
    #: An approved campaign on a Messaging Service the platform's account already holds.
    EXISTING = "existing"

    @property
    def campaign_use_case(self) -> str:
        """The provider's campaign use case for this kind (one campaign covers
        review requests, reminders and replies)."""
        return _USE_CASES[self]


_USE_CASES = {
    RegistrationKind.STANDARD: "MIXED",
    RegistrationKind.LOW_VOLUME: "LOW_VOLUME",
    RegistrationKind.SOLE_PROPRIETOR: "SOLE_PROPRIETOR",
    RegistrationKind.EXISTING: "MIXED",
}


class RegistrationStatus(enum.StrEnum):
    """Where the registration stands, for the business.

    ``draft`` -> ``submitted`` (the business sent its information; nothing
    reached the provider yet) -> ``in_review`` (the provider has it) ->
    ``approved`` | ``rejected`` (with the provider's reasons; correct and
    resubmit) | ``suspended`` (an approved campaign the carriers stopped).
    """

    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


#: The statuses a sync still advances.
IN_FLIGHT = frozenset(
    {RegistrationStatus.DRAFT, RegistrationStatus.SUBMITTED, RegistrationStatus.IN_REVIEW}
)
#: The statuses from which ``register`` may start over with corrected information.
RESUBMITTABLE = frozenset({RegistrationStatus.REJECTED, RegistrationStatus.SUSPENDED})


class StepName(enum.StrEnum):
    """The provider objects of the chain, in the order they are made."""

    #: The business's (secondary, or starter for a sole proprietor) customer profile,
    #: with its end users, address and document, attached to the platform's primary one.
    CUSTOMER_PROFILE = "customer_profile"
    #: The A2P trust product (the messaging profile information + the customer profile).
    TRUST_PRODUCT = "trust_product"
    BRAND = "brand"
    MESSAGING_SERVICE = "messaging_service"
    CAMPAIGN = "campaign"
    #: The business's number in the Messaging Service's sender pool.
    NUMBER = "number"


class StepState(enum.StrEnum):
    """One provider object's state, normalised across object types."""

    #: To be made (or, with a sid, to be sent again after a correction).
    PENDING = "pending"
    #: A provider call to make it has started and its outcome is not stored:
    #: the next try first looks the object up (``resume``).
    ATTEMPTING = "attempting"
    #: Made (its sid is stored); the provider has not started reviewing it.
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    #: A sole proprietor's brand the registry approved; it waits for the owner's YES.
    VERIFYING = "verifying"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    #: Not part of this kind's chain (an adopted existing campaign has no brand to make).
    SKIPPED = "skipped"

    @property
    def final(self) -> bool:
        """True when polling cannot change it (only a resubmission can)."""
        return self in {StepState.APPROVED, StepState.REJECTED, StepState.SKIPPED}


@attrs.frozen
class RegistrationIssue:
    """One reason the provider gave (a rejection, an evaluation's failed check)."""

    #: The provider's error code (Twilio's 30795 "invalid EIN"), when it gave one.
    code: int | None
    description: str
    #: The field it concerns, in the provider's words, when it named one.
    field: str | None = None


@attrs.frozen
class RegistrationStep:
    """One provider object of the chain."""

    name: StepName
    state: StepState = StepState.PENDING
    sid: str | None = None
    #: The provider's own status text (``twilio-approved``, ``APPROVED``), for operators.
    provider_status: str | None = None

    @property
    def made(self) -> bool:
        """True once the object exists at the provider (its sid is stored).

        A ``pending`` step with a sid is a rejected object to send again
        with corrected information.
        """
        return self.sid is not None


@attrs.frozen
class StepStatus:
    """What the provider says about one object (:meth:`SenderRegistry.status`)."""

    state: StepState
    provider_status: str | None = None
    issues: tuple[RegistrationIssue, ...] = ()


class InvalidTransition(ValueError):
    """A transition the registration's status does not allow (a caller's bug)."""


def _steps_for(kind: RegistrationKind) -> tuple[RegistrationStep, ...]:
    skipped = (
        {StepName.CUSTOMER_PROFILE, StepName.TRUST_PRODUCT, StepName.BRAND}
        if kind is RegistrationKind.EXISTING
        else set()
    )
    return tuple(
        RegistrationStep(name, StepState.SKIPPED if name in skipped else StepState.PENDING)
        for name in StepName
    )


@attrs.frozen
class SenderRegistration:
    """A business's current sender registration.

    Make one with :meth:`draft`; change it through the transitions. The
    steps are always the six of :class:`StepName`, in order.
    """

    id: str
    business_id: str
    kind: RegistrationKind
    status: RegistrationStatus
    details: RegistrationDetails
    steps: tuple[RegistrationStep, ...]
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None = None
    #: The provider's reasons for the latest rejection or suspension.
    issues: tuple[RegistrationIssue, ...] = ()
    #: How many times the business submitted (1 at first; each resubmission adds one).
    revision: int = 0
    #: Sends the carriers blocked for the registration's sake (30034, 30007, 30990).
    blocked_sends: int = 0
    #: A sync works on the registration until then (see ``RegistrationRepository.claim``).
    leased_until: datetime | None = None
    lease_owner: str | None = None

    @classmethod
    def draft(
        cls,
        *,
        id: str,
        business_id: str,
        kind: RegistrationKind,
        details: RegistrationDetails,
        now: datetime,
        messaging_service_sid: str | None = None,
    ) -> SenderRegistration:
        """A new registration with nothing at the provider yet.

        ``messaging_service_sid`` is the adopted service of an ``existing``
        registration (and required for it); the other kinds make their own.
        """
        if (kind is RegistrationKind.EXISTING) != (messaging_service_sid is not None):
            raise ValueError("an existing registration, and only it, names its Messaging Service")
        registration = cls(
            id=id,
            business_id=business_id,
            kind=kind,
            status=RegistrationStatus.DRAFT,
            details=details,
            steps=_steps_for(kind),
            created_at=now,
            updated_at=now,
        )
        if messaging_service_sid is not None:
            registration = registration.with_step(
                StepName.MESSAGING_SERVICE, StepState.APPROVED, sid=messaging_service_sid, now=now
            )
        return registration

    # --- reading --------------------------------------------------------------------

    @property
    def in_flight(self) -> bool:
        """True while a sync still has something to do."""
        return self.status in IN_FLIGHT

    @property
    def approved(self) -> bool:
        return self.status is RegistrationStatus.APPROVED

    def step(self, name: StepName) -> RegistrationStep:
        return self.steps[_INDEX[name]]

    @property
    def messaging_service_sid(self) -> str | None:
        """The business's Messaging Service, once made (or adopted)."""
        return self.step(StepName.MESSAGING_SERVICE).sid

    def provider_name(self, obj: str) -> str:
        """The friendly name of one provider object of this registration
        (``obj``: ``brand``, ``end_user_representative``, ...).

        Unique per registration and object, so that a retry whose earlier
        outcome is unknown finds the object by name instead of making it twice.
        At most 64 characters (the provider's limit).
        """
        name = f"neariq {self.id} {obj}"
        if len(name) > 64:
            raise ValueError(f"provider object name over 64 characters: {obj!r}")
        return name

    # --- transitions ------------------------------------------------------------------

    def submit(self, now: datetime) -> SenderRegistration:
        """The business sent it: ``draft`` -> ``submitted``."""
        self._require({RegistrationStatus.DRAFT}, "submit")
        return attrs.evolve(
            self,
            status=RegistrationStatus.SUBMITTED,
            submitted_at=now,
            updated_at=now,
            revision=self.revision + 1,
        )

    def resubmit(self, details: RegistrationDetails, now: datetime) -> SenderRegistration:
        """Corrected information after ``rejected`` or ``suspended`` -> ``submitted``.

        Each rejected or suspended object goes back to ``pending`` and keeps
        its sid: the next sync sends it to the provider again with the
        corrections (the provider resubmits a failed object rather than
        making another, and charges for each new one). Objects approved or
        in review stay as they are; the reasons of the rejection are cleared.
        """
        self._require(RESUBMITTABLE, "resubmit")
        redo = {StepState.REJECTED, StepState.SUSPENDED}
        steps = tuple(
            attrs.evolve(s, state=StepState.PENDING) if s.state in redo else s for s in self.steps
        )
        return attrs.evolve(
            self,
            status=RegistrationStatus.SUBMITTED,
            details=details,
            steps=steps,
            issues=(),
            submitted_at=now,
            updated_at=now,
            revision=self.revision + 1,
        )

    def start_review(self, now: datetime) -> SenderRegistration:
        """The provider has it: ``submitted`` -> ``in_review`` (again: no change)."""
        self._require({RegistrationStatus.SUBMITTED, RegistrationStatus.IN_REVIEW}, "review")
        return attrs.evolve(self, status=RegistrationStatus.IN_REVIEW, updated_at=now)

    def approve(self, now: datetime) -> SenderRegistration:
        """The campaign is verified: ``submitted`` | ``in_review`` -> ``approved``."""
        self._require({RegistrationStatus.SUBMITTED, RegistrationStatus.IN_REVIEW}, "approve")
        return attrs.evolve(self, status=RegistrationStatus.APPROVED, issues=(), updated_at=now)

    def reject(self, issues: Iterable[RegistrationIssue], now: datetime) -> SenderRegistration:
        """An object was rejected: in flight -> ``rejected``, with the reasons."""
        self._require(IN_FLIGHT, "reject")
        return attrs.evolve(
            self, status=RegistrationStatus.REJECTED, issues=tuple(issues), updated_at=now
        )

    def suspend(self, issues: Iterable[RegistrationIssue], now: datetime) -> SenderRegistration:
        """The carriers stopped an approved campaign: ``approved`` -> ``suspended``."""
        self._require({RegistrationStatus.APPROVED}, "suspend")
        return attrs.evolve(
            self, status=RegistrationStatus.SUSPENDED, issues=tuple(issues), updated_at=now
        )

    def with_step(
        self,
        name: StepName,
        state: StepState,
        *,
        now: datetime,
        sid: str | None = None,
        provider_status: str | None = None,
    ) -> SenderRegistration:
        """The registration with one step's state (and sid, when given) replaced.

        A step's sid, once stored, never changes: the chain's later objects
        refer to it.
        """
        old = self.step(name)
        if sid is not None and old.sid is not None and sid != old.sid:
            raise InvalidTransition(f"the {name} step already has the sid {old.sid}")
        step = attrs.evolve(
            old,
            state=state,
            sid=sid or old.sid,
            provider_status=provider_status if provider_status is not None else old.provider_status,
        )
        steps = tuple(step if s.name is name else s for s in self.steps)
        return attrs.evolve(self, steps=steps, updated_at=now)

    def with_number(self, number_sid: str, *, now: datetime) -> SenderRegistration:
        """The business's number (its provider sid) is in the Messaging Service now."""
        return self._number(RegistrationStep(StepName.NUMBER, StepState.APPROVED, number_sid), now)

    def without_number(self, *, now: datetime) -> SenderRegistration:
        """No number in the Messaging Service (released, or never added)."""
        return self._number(RegistrationStep(StepName.NUMBER), now)

    def _number(self, step: RegistrationStep, now: datetime) -> SenderRegistration:
        steps = tuple(step if s.name is StepName.NUMBER else s for s in self.steps)
        return attrs.evolve(self, steps=steps, updated_at=now)

    def count_blocked_send(self, code: int, now: datetime) -> SenderRegistration:
        """One more send the carriers blocked with ``code`` (a status callback's):
        counted; a suspended campaign (30990) suspends an approved registration."""
        counted = attrs.evolve(self, blocked_sends=self.blocked_sends + 1, updated_at=now)
        if code != CAMPAIGN_SUSPENDED or not self.approved:
            return counted
        issue = RegistrationIssue(code, "The carriers suspended the campaign.", None)
        return counted.with_step(StepName.CAMPAIGN, StepState.SUSPENDED, now=now).suspend(
            [issue], now
        )

    def _require(self, allowed: Iterable[RegistrationStatus], what: str) -> None:
        if self.status not in set(allowed):
            raise InvalidTransition(f"cannot {what} a registration that is {self.status}")


_INDEX = {name: index for index, name in enumerate(StepName)}


def require_registered(registration: SenderRegistration | None) -> str | None:
    """The Messaging Service an approved registration sends through, or the rule a
    send breaks: ``RegistrationRequired`` (none, rejected, suspended) or
    ``RegistrationPending`` (in flight)."""
    if registration is None:
        raise RegistrationRequired()
    if registration.in_flight:
        raise RegistrationPending(state=registration.status.value)
    if not registration.approved:
        raise RegistrationRequired(state=registration.status.value)
    return registration.messaging_service_sid


__all__ = [
    "BLOCKED_SEND_CODES",
    "CAMPAIGN_SUSPENDED",
    "IN_FLIGHT",
    "LEASE_SECONDS",
    "RESUBMITTABLE",
    "InvalidTransition",
    "RegistrationIssue",
    "RegistrationKind",
    "RegistrationStatus",
    "RegistrationStep",
    "SenderRegistration",
    "StepName",
    "StepState",
    "StepStatus",
    "require_registered",
]
