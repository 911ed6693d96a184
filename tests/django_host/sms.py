"""The host's side: which business the signed-in session belongs to."""

from __future__ import annotations

from django.http import HttpRequest

SESSION_KEY = "sms_business_id"


def business_for(request: HttpRequest) -> str | None:
    """A real project reads it from the signed-in user (a profile, a membership)."""
    business = request.session.get(SESSION_KEY)
    return business if isinstance(business, str) else None
