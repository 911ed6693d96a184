"""One exception type per rule.

Each carries a stable machine ``code``, the HTTP ``status`` of the error table
in ``docs/http-contract.md`` and a message ``template`` that its fields fill
in. Only the HTTP adapter turns them into responses (and adds the errors of
the request's shape and authentication); every other layer just raises and
catches them by type.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, TypeVar, dataclass_transform

import attrs

__all__ = [
    "PUBLIC_ERRORS",
    "AllowanceExhausted",
    "BusinessConflict",
    "BusinessNotFound",
    "ConsentRequired",
    "Cooldown",
    "DuplicateNumber",
    "IdempotencyConflict",
    "InvalidField",
    "InvalidPhone",
    "MessageNotFound",
    "MissingField",
    "NoSmsNumber",
    "NumberAlreadyProvisioned",
    "NumberUnavailable",
    "OptOutLocked",
    "PlanRequired",
    "ProviderError",
    "RecipientOptedOut",
    "RegistrationInProgress",
    "RegistrationPending",
    "RegistrationRequired",
    "ReminderAlreadySent",
    "ReminderConflict",
    "ReminderNotFound",
    "SmsError",
    "SmsNotConfigured",
    "error",
]

E = TypeVar("E", bound="SmsError")


@attrs.define(auto_exc=True, eq=False)
class SmsError(Exception):
    """Base of every error the library raises on purpose."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 500
    #: One sentence for a person, in ``str.format`` syntax over the error's fields.
    template: ClassVar[str] = "The SMS operation failed."

    @property
    def message(self) -> str:
        """One sentence for a person."""
        return self.template.format_map(self._template_values())

    def _template_values(self) -> dict[str, Any]:
        return attrs.asdict(self, recurse=False)

    def __str__(self) -> str:
        return self.message


@dataclass_transform(field_specifiers=(attrs.field,), eq_default=False)
def error(code: str, status: int, template: str) -> Callable[[type[E]], type[E]]:
    """Declare an :class:`SmsError` subclass: its code, HTTP status and message template.

    The class becomes an attrs exception class; its annotated attributes are
    its fields.
    """

    def declare(cls: type[E]) -> type[E]:
        cls.code, cls.status, cls.template = code, status, template
        return attrs.define(cls, auto_exc=True, eq=False)

    return declare


# --- request shape (400) -----------------------------------------------------


@error("missing_field", 400, "The field {field!r} is required.")
class MissingField(SmsError):
    field: str


@error("invalid_field", 400, "The field {field!r} is invalid: {reason}.")
class InvalidField(SmsError):
    field: str
    reason: str


@error("invalid_phone", 400, "The field {field!r} is not a valid SMS-capable phone number{why}.")
class InvalidPhone(SmsError):
    # The raw input is customer data: keep it out of the message, it may be logged.
    field: str = "phone"
    #: Why, in a few words about the number's shape (never the number itself).
    reason: str | None = None

    def _template_values(self) -> dict[str, Any]:
        return {"field": self.field, "why": f": {self.reason}" if self.reason else ""}


# --- tenancy, configuration and plan -----------------------------------------


@error("business_not_found", 404, "No active business found.")
class BusinessNotFound(SmsError):
    business_id: str


@error("sms_not_configured", 503, "SMS is not configured: {reason}.")
class SmsNotConfigured(SmsError):
    #: What is missing; the credentials unless something else is.
    reason: str = "no telephony provider credentials"


@error("plan_required", 403, "SMS needs the {required} plan or higher; this business is on {plan}.")
class PlanRequired(SmsError):
    """Raised by :meth:`~neariq_sms.domain.plans.Plan.require_sms`, which knows the rule."""

    plan: str
    required: str


@error(
    "allowance_exhausted",
    403,
    "This month's SMS allowance is used up ({used} of {limit} segments used, {requested} needed).",
)
class AllowanceExhausted(SmsError):
    limit: int
    used: int
    requested: int = 1


# --- sender registration ------------------------------------------------------


@error(
    "registration_required",
    403,
    "The business must register as a sender before it can text US customers"
    " (its registration is {state}).",
)
class RegistrationRequired(SmsError):
    #: ``none`` when the business never registered, else its registration's status.
    state: str = "none"


@error(
    "registration_pending",
    403,
    "The business's sender registration is {state}; it can text once the carriers approve it.",
)
class RegistrationPending(SmsError):
    state: str = "submitted"


@error(
    "registration_in_progress",
    409,
    "The business's sender registration is {state}; it can be registered again only after"
    " a rejection or a suspension.",
)
class RegistrationInProgress(SmsError):
    """``register`` while a registration is in flight (or approved)."""

    state: str


# --- numbers -------------------------------------------------------------------


@error("no_sms_number", 400, "The business has no active SMS number.")
class NoSmsNumber(SmsError):
    """Sending needs the business's active number."""


@error("number_already_provisioned", 409, "The business already has an SMS number.")
class NumberAlreadyProvisioned(SmsError):
    number: str | None = None


@error("duplicate_number", 400, "The number {number} is already in use by another business.")
class DuplicateNumber(SmsError):
    number: str


@error("number_unavailable", 400, "The number {number} can no longer be bought.")
class NumberUnavailable(SmsError):
    number: str


# --- consent and sending -----------------------------------------------------


@error("consent_required", 400, "The recipient has no consent record with this business.")
class ConsentRequired(SmsError):
    """Sending any message needs a consent record."""


@error("recipient_opted_out", 400, "The recipient has opted out of messages from this business.")
class RecipientOptedOut(SmsError):
    """The recipient opted out: of this business (by us, by text), or at the
    carrier, when a provider refuses a send (``provider_code``: the provider's
    own code, stored on the failed message)."""

    provider_code: int | None = attrs.field(default=None, kw_only=True)


@error(
    "opt_out_locked",
    409,
    "The customer opted out by text or through the carrier: only the customer's"
    " own opt-in keyword (START) lifts it.",
)
class OptOutLocked(SmsError):
    """Lifting an opt-out the customer made by text or the carrier reported."""


@error("reminder_conflict", 409, "Another reminder with reference {reference} was just scheduled.")
class ReminderConflict(SmsError):
    """Internal: a concurrent request stored a pending reminder for the same reference
    first (the partial unique index); the use case tries again and sees it."""

    reference: str


@error("message_not_found", 404, "The business has no message with this id.")
class MessageNotFound(SmsError):
    """Another business's message answers the same: ids reveal nothing."""


@error("reminder_not_found", 404, "The business has no reminder with this reference.")
class ReminderNotFound(SmsError):
    pass


@error(
    "reminder_already_sent",
    409,
    "The reminder with this reference was already sent; it cannot be rescheduled.",
)
class ReminderAlreadySent(SmsError):
    pass


@error(
    "cooldown",
    429,
    "The recipient already got a review request from this business recently;"
    " the next one is allowed from {until}.",
)
class Cooldown(SmsError):
    until: datetime

    def _template_values(self) -> dict[str, Any]:
        return {"until": self.until.isoformat()}


@error("provider_error", 502, "The telephony provider failed: {reason}.")
class ProviderError(SmsError):
    """The telephony provider failed.

    ``ambiguous`` is true when the provider may have acted anyway (a timeout
    after the request left, a 5xx on a create): such a send stays
    ``submitting`` for reconciliation instead of being refunded.
    ``transient`` is true when the request provably never reached the
    provider and a later try may succeed (Twilio's 429, a refused
    connection): a repeat under the same idempotency key tries again.
    """

    reason: str = "the telephony provider failed"
    provider_code: int | None = None
    ambiguous: bool = False
    transient: bool = attrs.field(default=False, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.ambiguous and self.transient:
            raise ValueError("a provider error cannot be both ambiguous and transient")


# --- storage conflicts (raised by repositories, handled inside use cases) ----


@error("idempotency_conflict", 409, "A request with this idempotency key already exists.")
class IdempotencyConflict(SmsError):
    """A message with this idempotency key already exists for the business."""

    key: str


@error("business_conflict", 409, "A business with this id already exists.")
class BusinessConflict(SmsError):
    """A business with this id already exists."""

    business_id: str


#: Every domain error an HTTP client can see, in the order of the spec's table (the
#: HTTP adapter adds the errors of a request's shape and authentication).
PUBLIC_ERRORS: tuple[type[SmsError], ...] = (
    MissingField,
    InvalidField,
    InvalidPhone,
    NoSmsNumber,
    DuplicateNumber,
    NumberUnavailable,
    ConsentRequired,
    RecipientOptedOut,
    PlanRequired,
    RegistrationRequired,
    RegistrationPending,
    AllowanceExhausted,
    BusinessNotFound,
    NumberAlreadyProvisioned,
    RegistrationInProgress,
    OptOutLocked,
    MessageNotFound,
    ReminderNotFound,
    ReminderAlreadySent,
    Cooldown,
    ProviderError,
    SmsNotConfigured,
)
