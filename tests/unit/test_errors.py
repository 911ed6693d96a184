"""Every public error carries the code and HTTP status of the spec's table."""

from __future__ import annotations

import pytest

from neariq_sms.adapters.http.errors import PUBLIC_ERRORS
from neariq_sms.domain import SmsError

#: The error tables of spec/reference-server.md §1 and messaging.md §5 (code -> status).
SPEC_TABLE = {
    "invalid_json": 400,
    "missing_field": 400,
    "invalid_field": 400,
    "unknown_action": 400,
    "invalid_phone": 400,
    "no_sms_number": 400,
    "duplicate_number": 400,
    "number_unavailable": 400,
    "consent_required": 400,
    "recipient_opted_out": 400,
    "unauthenticated": 401,
    "plan_required": 403,
    "allowance_exhausted": 403,
    "invalid_signature": 403,
    "business_not_found": 404,
    "method_not_allowed": 405,
    "number_already_provisioned": 409,
    "opt_out_locked": 409,
    "cooldown": 429,
    "provider_error": 502,
    "sms_not_configured": 503,
    # spec/messaging.md, section 5
    "message_not_found": 404,
    "reminder_not_found": 404,
    "reminder_already_sent": 409,
    # spec/registration.md, section 5
    "registration_required": 403,
    "registration_pending": 403,
    "registration_in_progress": 409,
}


def test_there_is_exactly_one_public_error_per_row_of_the_table() -> None:
    """PUBLIC_ERRORS and the spec's table list the same codes, each once."""
    codes = [error.code for error in PUBLIC_ERRORS]
    assert sorted(codes) == sorted(SPEC_TABLE)
    assert len(set(PUBLIC_ERRORS)) == len(PUBLIC_ERRORS)


@pytest.mark.parametrize("error", PUBLIC_ERRORS, ids=lambda e: e.__name__)
def test_each_error_has_the_status_of_its_code(error: type[SmsError]) -> None:
    """The HTTP status comes from the table, by code."""
    assert issubclass(error, SmsError)
    assert error.status == SPEC_TABLE[error.code]
