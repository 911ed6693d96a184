"""One exception type per rule.

Each carries a stable machine ``code`` and the HTTP ``status`` of the error
table in ``docs/http-contract.md``. Only the HTTP adapter turns them into
responses; every other layer just raises and catches them by type.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

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
    "InvalidJson",
    "InvalidPhone",
    "InvalidSignature",
    "MethodNotAllowed",
    "MissingField",
    "NoSmsNumber",
    "NumberAlreadyProvisioned",
    "NumberUnavailable",
    "OptOutLocked",
    "PlanRequired",
    "ProviderError",
    "RecipientOptedOut",
    "SmsError",
    "SmsNotConfigured",
    "Unauthenticated",
    "UnknownAction",
]


@attrs.define(auto_exc=True, eq=False)
class SmsError(Exception):
    """Base of every error the library raises on purpose."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 500

    @property
    def message(self) -> str:
        """One sentence for a person."""
        return "The SMS operation failed."

    def __str__(self) -> str:
        return self.message


# --- request shape (400) -----------------------------------------------------


@attrs.define(auto_exc=True, eq=False)
class InvalidJson(SmsError):
    code: ClassVar[str] = "invalid_json"
    status: ClassVar[int] = 400
    detail: str = "The request body must be a JSON object."

    @property
    def message(self) -> str:
        return self.detail


@attrs.define(auto_exc=True, eq=False)
class UnknownAction(SmsError):
    code: ClassVar[str] = "unknown_action"
    status: ClassVar[int] = 400
    action: str

    @property
    def message(self) -> str:
        return f"Unknown action {self.action!r}."


@attrs.define(auto_exc=True, eq=False)
class MissingField(SmsError):
    code: ClassVar[str] = "missing_field"
    status: ClassVar[int] = 400
    field: str

    @property
    def message(self) -> str:
        return f"The field {self.field!r} is required."


@attrs.define(auto_exc=True, eq=False)
class InvalidField(SmsError):
    code: ClassVar[str] = "invalid_field"
    status: ClassVar[int] = 400
    field: str
    reason: str

    @property
    def message(self) -> str:
        return f"The field {self.field!r} is invalid: {self.reason}."


@attrs.define(auto_exc=True, eq=False)
class InvalidPhone(SmsError):
    code: ClassVar[str] = "invalid_phone"
    status: ClassVar[int] = 400
    # The raw input is customer data: keep it out of the message, it may be logged.
    field: str = "phone"
    #: Why, in a few words about the number's shape (never the number itself).
    reason: str | None = None

    @property
    def message(self) -> str:
        why = f": {self.reason}" if self.reason else ""
        return f"The field {self.field!r} is not a valid SMS-capable phone number{why}."


# --- authentication and tenancy -----------------------------------------------


@attrs.define(auto_exc=True, eq=False)
class Unauthenticated(SmsError):
    code: ClassVar[str] = "unauthenticated"
    status: ClassVar[int] = 401

    @property
    def message(self) -> str:
        return "A valid dashboard session is required."


@attrs.define(auto_exc=True, eq=False)
class InvalidSignature(SmsError):
    code: ClassVar[str] = "invalid_signature"
    status: ClassVar[int] = 403

    @property
    def message(self) -> str:
        return "The webhook signature does not verify."


@attrs.define(auto_exc=True, eq=False)
class BusinessNotFound(SmsError):
    code: ClassVar[str] = "business_not_found"
    status: ClassVar[int] = 404
    business_id: str

    @property
    def message(self) -> str:
        return "No active business found."


@attrs.define(auto_exc=True, eq=False)
class MethodNotAllowed(SmsError):
    code: ClassVar[str] = "method_not_allowed"
    status: ClassVar[int] = 405
    method: str

    @property
    def message(self) -> str:
        return f"Method {self.method} is not allowed here."


# --- configuration and plan ----------------------------------------------------


@attrs.define(auto_exc=True, eq=False)
class SmsNotConfigured(SmsError):
    code: ClassVar[str] = "sms_not_configured"
    status: ClassVar[int] = 503
    #: What is missing; the credentials unless something else is.
    reason: str = "no telephony provider credentials"

    @property
    def message(self) -> str:
        return f"SMS is not configured: {self.reason}."


@attrs.define(auto_exc=True, eq=False)
class PlanRequired(SmsError):
    code: ClassVar[str] = "plan_required"
    status: ClassVar[int] = 403
    plan: str
    required: str = "growth"

    @property
    def message(self) -> str:
        return f"SMS needs the {self.required} plan or higher; this business is on {self.plan}."


@attrs.define(auto_exc=True, eq=False)
class AllowanceExhausted(SmsError):
    code: ClassVar[str] = "allowance_exhausted"
    status: ClassVar[int] = 403
    limit: int
    used: int
    requested: int = 1

    @property
    def message(self) -> str:
        return (
            f"This month's SMS allowance is used up ({self.used} of {self.limit} segments used,"
            f" {self.requested} needed)."
        )


# --- numbers -------------------------------------------------------------------


@attrs.define(auto_exc=True, eq=False)
class NoSmsNumber(SmsError):
    code: ClassVar[str] = "no_sms_number"
    status: ClassVar[int] = 400

    @property
    def message(self) -> str:
        return "The business has no active SMS number."


@attrs.define(auto_exc=True, eq=False)
class NumberAlreadyProvisioned(SmsError):
    code: ClassVar[str] = "number_already_provisioned"
    status: ClassVar[int] = 409
    number: str | None = None

    @property
    def message(self) -> str:
        return "The business already has an SMS number."


@attrs.define(auto_exc=True, eq=False)
class DuplicateNumber(SmsError):
    code: ClassVar[str] = "duplicate_number"
    status: ClassVar[int] = 400
    number: str

    @property
    def message(self) -> str:
        return f"The number {self.number} is already in use by another business."


@attrs.define(auto_exc=True, eq=False)
class NumberUnavailable(SmsError):
    code: ClassVar[str] = "number_unavailable"
    status: ClassVar[int] = 400
    number: str

    @property
    def message(self) -> str:
        return f"The number {self.number} can no longer be bought."


# --- consent and sending -----------------------------------------------------


@attrs.define(auto_exc=True, eq=False)
class ConsentRequired(SmsError):
    code: ClassVar[str] = "consent_required"
    status: ClassVar[int] = 400

    @property
    def message(self) -> str:
        return "The recipient has no consent record with this business."


@attrs.define(auto_exc=True, eq=False)
class RecipientOptedOut(SmsError):
    code: ClassVar[str] = "recipient_opted_out"
    status: ClassVar[int] = 400

    @property
    def message(self) -> str:
        return "The recipient has opted out of messages from this business."


@attrs.define(auto_exc=True, eq=False)
class OptOutLocked(SmsError):
    """Lifting an opt-out the customer made by text or the carrier reported."""

    code: ClassVar[str] = "opt_out_locked"
    status: ClassVar[int] = 409

    @property
    def message(self) -> str:
        return (
            "The customer opted out by text or through the carrier: only the customer's"
            " own opt-in keyword (START) lifts it."
        )


@attrs.define(auto_exc=True, eq=False)
class Cooldown(SmsError):
    code: ClassVar[str] = "cooldown"
    status: ClassVar[int] = 429
    until: datetime

    @property
    def message(self) -> str:
        return (
            "The recipient already got a review request from this business recently;"
            f" the next one is allowed from {self.until.isoformat()}."
        )


@attrs.define(auto_exc=True, eq=False)
class ProviderError(SmsError):
    """The telephony provider failed.

    ``ambiguous`` is true when the provider may have acted anyway (a timeout
    after the request left, a 5xx on a create): such a send stays
    ``submitting`` for reconciliation instead of being refunded.
    ``transient`` is true when the request provably never reached the
    provider and a later try may succeed (Twilio's 429, a refused
    connection): a repeat under the same idempotency key tries again.
    """

    code: ClassVar[str] = "provider_error"
    status: ClassVar[int] = 502
    reason: str = "the telephony provider failed"
    provider_code: int | None = None
    ambiguous: bool = False
    transient: bool = attrs.field(default=False, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if self.ambiguous and self.transient:
            raise ValueError("a provider error cannot be both ambiguous and transient")

    @property
    def message(self) -> str:
        return f"The telephony provider failed: {self.reason}."


# --- storage conflicts (raised by repositories, handled inside use cases) ----


@attrs.define(auto_exc=True, eq=False)
class IdempotencyConflict(SmsError):
    """A message with this idempotency key already exists for the business."""

    code: ClassVar[str] = "idempotency_conflict"
    status: ClassVar[int] = 409
    key: str

    @property
    def message(self) -> str:
        return "A request with this idempotency key already exists."


@attrs.define(auto_exc=True, eq=False)
class BusinessConflict(SmsError):
    """A business with this id already exists."""

    code: ClassVar[str] = "business_conflict"
    status: ClassVar[int] = 409
    business_id: str

    @property
    def message(self) -> str:
        return "A business with this id already exists."


#: Every error an HTTP client can see, in the order of the spec's table.
PUBLIC_ERRORS: tuple[type[SmsError], ...] = (
    InvalidJson,
    MissingField,
    InvalidField,
    UnknownAction,
    InvalidPhone,
    NoSmsNumber,
    DuplicateNumber,
    NumberUnavailable,
    ConsentRequired,
    RecipientOptedOut,
    Unauthenticated,
    PlanRequired,
    AllowanceExhausted,
    InvalidSignature,
    BusinessNotFound,
    MethodNotAllowed,
    NumberAlreadyProvisioned,
    OptOutLocked,
    Cooldown,
    ProviderError,
    SmsNotConfigured,
)
