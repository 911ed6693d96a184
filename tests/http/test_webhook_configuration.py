"""A host app's webhooks without what verifying them needs: the 503 names the real cause."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from neariq_sms.adapters.http import handle
from neariq_sms.adapters.memory import InMemoryUnitOfWork
from neariq_sms.config import Settings, build_services

INBOUND = "/api/sms/webhooks/twilio/inbound"
FORM = urlencode({"To": "+15125550123", "From": "+15557654321", "Body": "STOP"}).encode()
HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded",
    "X-Twilio-Signature": "c2lnbmF0dXJl",
}


def _post_inbound(settings: Settings) -> tuple[int, dict[str, str]]:
    services = build_services(settings, uow=InMemoryUnitOfWork())
    status, _, body = handle("POST", INBOUND, "", HEADERS, FORM, None, services=services)
    answer: dict[str, str] = json.loads(body)
    return status, answer


def test_twilio_credentials_without_a_public_url_name_the_public_url() -> None:
    """Credentials are there; signatures cannot be checked without the URL Twilio signed."""
    settings = Settings(twilio_account_sid="AC" + "0" * 32, twilio_auth_token="secret")
    status, answer = _post_inbound(settings)
    assert (status, answer["code"]) == (503, "sms_not_configured")
    assert "NEARIQ_SMS_PUBLIC_URL" in answer["error"]
    assert "credentials" not in answer["error"]


def test_no_credentials_at_all_still_says_credentials() -> None:
    status, answer = _post_inbound(Settings(public_url="https://sms.example.com"))
    assert (status, answer["code"]) == (503, "sms_not_configured")
    assert "credentials" in answer["error"]
