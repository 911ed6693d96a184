"""Errors only the HTTP surface can meet (a request's shape, authentication, routing),
declared like the domain's, and the error table of ``docs/http-contract.md``."""

from __future__ import annotations

from neariq_sms.domain import errors as domain
from neariq_sms.domain.errors import SmsError, error

# --- request shape (400) -------------------------------------------------------


@error("invalid_json", 400, "{detail}")
class InvalidJson(SmsError):
    detail: str = "The request body must be a JSON object."


@error("unknown_action", 400, "Unknown action {action!r}.")
class UnknownAction(SmsError):
    action: str


@error("payload_too_large", 413, "The request body is larger than {limit} bytes.")
class PayloadTooLarge(SmsError):
    limit: int


# --- authentication and routing ---------------------------------------------------


@error("unauthenticated", 401, "A valid dashboard session is required.")
class Unauthenticated(SmsError):
    """A session route without a business: no session, or one that does not resolve."""


@error("invalid_signature", 403, "The webhook signature does not verify.")
class InvalidSignature(SmsError):
    """A provider webhook whose signature is missing or wrong."""


@error("method_not_allowed", 405, "Method {method} is not allowed here.")
class MethodNotAllowed(SmsError):
    method: str


@error("not_found", 404, "There is no such endpoint.")
class RouteNotFound(SmsError):
    """No route matches the path."""


@error("consent_not_found", 404, "The business has no consent record for this phone.")
class ConsentNotFound(SmsError):
    """``GET /api/sms/consents?phone=...`` for a phone without a record."""


@error("internal_error", 500, "Something went wrong on our side.")
class InternalError(SmsError):
    """Never raised on purpose: the answer to a bug, without its details."""


#: Every error of the spec's table, in its order.
PUBLIC_ERRORS: tuple[type[SmsError], ...] = (
    InvalidJson,
    domain.MissingField,
    domain.InvalidField,
    UnknownAction,
    domain.InvalidPhone,
    domain.NoSmsNumber,
    domain.DuplicateNumber,
    domain.NumberUnavailable,
    domain.ConsentRequired,
    domain.RecipientOptedOut,
    Unauthenticated,
    domain.PlanRequired,
    domain.RegistrationRequired,
    domain.RegistrationPending,
    domain.AllowanceExhausted,
    InvalidSignature,
    domain.BusinessNotFound,
    MethodNotAllowed,
    domain.NumberAlreadyProvisioned,
    domain.RegistrationInProgress,
    domain.OptOutLocked,
    domain.MessageNotFound,
    domain.ReminderNotFound,
    domain.ReminderAlreadySent,
    domain.Cooldown,
    domain.ProviderError,
    domain.SmsNotConfigured,
)
#: Every error code the HTTP surface can answer with.
HTTP_ERRORS: tuple[type[SmsError], ...] = (
    *PUBLIC_ERRORS,
    PayloadTooLarge,
    RouteNotFound,
    ConsentNotFound,
    InternalError,
)

__all__ = [
    "HTTP_ERRORS",
    "PUBLIC_ERRORS",
    "ConsentNotFound",
    "InternalError",
    "InvalidJson",
    "InvalidSignature",
    "MethodNotAllowed",
    "PayloadTooLarge",
    "RouteNotFound",
    "Unauthenticated",
    "UnknownAction",
]
