"""Errors only the HTTP surface can meet, in the same shape as the domain's."""

from __future__ import annotations

from typing import ClassVar

import attrs

from neariq_sms.domain.errors import PUBLIC_ERRORS, SmsError


@attrs.define(auto_exc=True, eq=False)
class PayloadTooLarge(SmsError):
    code: ClassVar[str] = "payload_too_large"
    status: ClassVar[int] = 413
    limit: int

    @property
    def message(self) -> str:
        return f"The request body is larger than {self.limit} bytes."


@attrs.define(auto_exc=True, eq=False)
class RouteNotFound(SmsError):
    code: ClassVar[str] = "not_found"
    status: ClassVar[int] = 404

    @property
    def message(self) -> str:
        return "There is no such endpoint."


@attrs.define(auto_exc=True, eq=False)
class ConsentNotFound(SmsError):
    code: ClassVar[str] = "consent_not_found"
    status: ClassVar[int] = 404

    @property
    def message(self) -> str:
        return "The business has no consent record for this phone."


@attrs.define(auto_exc=True, eq=False)
class InternalError(SmsError):
    """Never raised on purpose: the answer to a bug, without its details."""

    code: ClassVar[str] = "internal_error"
    status: ClassVar[int] = 500

    @property
    def message(self) -> str:
        return "Something went wrong on our side."


#: Every error code the HTTP surface can answer with.
HTTP_ERRORS: tuple[type[SmsError], ...] = (
    *PUBLIC_ERRORS,
    PayloadTooLarge,
    RouteNotFound,
    ConsentNotFound,
    InternalError,
)

__all__ = ["HTTP_ERRORS", "ConsentNotFound", "InternalError", "PayloadTooLarge", "RouteNotFound"]
