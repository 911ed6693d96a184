"""``neariq_sms.contrib.django`` in a tiny project, through Django's test client.

Django's CSRF middleware is on and the client enforces it, as a browser's
session would meet it; the SMS database is a fresh SQLite file per test,
migrated by ``manage.py neariq_sms_migrate``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

pytest.importorskip("django")

import django
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings
from django.urls import reverse
from twilio.request_validator import RequestValidator

from neariq_sms import usecases as uc
from neariq_sms.config import ENVIRONMENT_VARIABLES, SANDBOX_AUTH_TOKEN
from neariq_sms.contrib.django import conf
from neariq_sms.contrib.django.conf import check_settings
from tests.django_host import settings as project
from tests.django_host.sms import SESSION_KEY

CUSTOMER = "+15557654321"
NUMBER = "+15125550123"
SEND = {"action": "send_review_request", "to": CUSTOMER, "customerName": "Jane"}
INBOUND = "/api/sms/webhooks/twilio/inbound"
STATUS = "/api/sms/webhooks/twilio/status"
SESSION_ROUTES = [
    ("get", "/api/sms"),
    ("post", "/api/sms"),
    ("get", "/api/sms/consents"),
    ("post", "/api/sms/consents"),
    ("post", "/api/sms/consents/opt-out"),
    ("post", "/api/sms/consents/opt-in"),
]


def _configure() -> None:
    if not settings.configured:
        settings.configure(**{k: getattr(project, k) for k in dir(project) if k.isupper()})
        django.setup()
        call_command("migrate", verbosity=0)  # Django's own tables (sessions, auth)


_configure()


@pytest.fixture
def sms_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, unmigrated SMS database; the rest of the configuration from Django settings."""
    for name in ENVIRONMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'sms.db'}"
    with override_settings(
        NEARIQ_SMS_DATABASE_URL=url,
        NEARIQ_SMS_PUBLIC_URL="http://testserver",
        NEARIQ_SMS_QUIET_HOURS="off",
    ):
        yield url
    conf.forget_services()


@pytest.fixture
def business_id(sms_database: str) -> str:
    call_command("neariq_sms_migrate", stdout=io.StringIO())
    s = conf.get_services()
    business = uc.create_business("Aster Grove Fitness", "growth", uow=s.uow, clock=s.clock)
    uc.record_consent(business.id, CUSTOMER, "point_of_sale", uow=s.uow, clock=s.clock)
    return business.id


def signed_in(business_id: str) -> Client:
    """A browser-like client: CSRF enforced, the host's session naming the business."""
    client = Client(enforce_csrf_checks=True)
    session = client.session
    session[SESSION_KEY] = business_id
    session.save()
    return client


def post_json(client: Client, path: str, data: dict[str, Any], **extra: Any) -> Any:
    return client.post(path, data, content_type="application/json", **extra)


def twilio_post(client: Client, path: str, params: dict[str, str], token: str) -> Any:
    signature = RequestValidator(token).compute_signature(f"http://testserver{path}", params)
    return client.post(
        path,
        urlencode(params),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )


def test_every_route_answers_the_contract(business_id: str) -> None:
    """Status, search, provision, send, the consent endpoints, OpenAPI, 404, 405, release."""
    client = signed_in(business_id)
    status = client.get("/api/sms").json()
    assert (status["business"]["id"], status["configured"]) == (business_id, True)
    found = client.get("/api/sms", {"action": "search", "areaCode": "512"}).json()
    assert found["numbers"][0]["number"] == NUMBER
    provision = post_json(client, "/api/sms", {"action": "provision", "phoneNumber": NUMBER})
    assert (provision.status_code, provision.json()["number"]) == (200, NUMBER)
    sent = post_json(client, "/api/sms", SEND, headers={"Idempotency-Key": "visit-1"})
    assert sent.json()["status"] == "queued"
    again = post_json(client, "/api/sms", SEND, headers={"Idempotency-Key": "visit-1"})
    assert again.json() == sent.json()

    recorded = post_json(
        client, "/api/sms/consents", {"phone": "+15125550199", "source": "web_form"}
    )
    assert recorded.json()["phone"] == "+15125550199"
    page = client.get("/api/sms/consents").json()
    assert {r["phone"] for r in page["consents"]} == {CUSTOMER, "+15125550199"}
    out = post_json(client, "/api/sms/consents/opt-out", {"phone": CUSTOMER, "source": "manual"})
    assert out.json()["optedOut"] is True
    # Lifting a dashboard opt-out needs a consent given after it (the opt-out rule).
    renewed_at = datetime.now(UTC).isoformat()
    back = post_json(
        client,
        "/api/sms/consents/opt-in",
        {"phone": CUSTOMER, "source": "manual", "consentedAt": renewed_at},
    )
    assert back.json()["optedOut"] is False
    one = client.get("/api/sms/consents", {"phone": CUSTOMER})
    assert one.json()["phone"] == CUSTOMER

    openapi = client.get("/api/sms/openapi.json")
    assert openapi.json()["openapi"].startswith("3.1")
    unknown = client.get("/api/sms/nowhere")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    refused = client.put("/api/sms")
    assert (refused.status_code, refused.headers["Allow"]) == (405, "GET, POST")
    too_big = client.post("/api/sms", b"x" * (65 * 1024), content_type="application/json")
    assert (too_big.status_code, too_big.json()["code"]) == (413, "payload_too_large")
    assert post_json(client, "/api/sms", {"action": "release"}).json() == {"ok": True}
    assert client.get("/api/sms").json()["business"]["smsNumber"] is None


@pytest.mark.parametrize(("method", "path"), SESSION_ROUTES)
def test_without_a_session_every_session_route_answers_401(
    business_id: str, method: str, path: str
) -> None:
    response = getattr(Client(enforce_csrf_checks=True), method)(
        path, {} if method == "get" else b"{}", content_type="application/json"
    )
    assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")


def test_a_cross_site_form_cannot_ride_the_session(business_id: str) -> None:
    """CSRF: a body not sent as JSON (what a foreign form can send) changes nothing.

    The views are csrf_exempt because the contract requires ``application/json``,
    which another site cannot send without a CORS preflight; the dashboard's own
    JSON calls need no CSRF token.
    """
    client = signed_in(business_id)
    assert (
        post_json(client, "/api/sms", {"action": "provision", "phoneNumber": NUMBER}).status_code
        == 200
    )
    for content_type in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data"):
        forged = client.post("/api/sms", b"action=release", content_type=content_type)
        assert (forged.status_code, forged.json()["code"]) == (400, "invalid_json"), content_type
        forged = client.post(
            "/api/sms/consents/opt-out", b'{"phone": "+15557654321"}', content_type=content_type
        )
        assert forged.json()["code"] == "invalid_json"
    status = client.get("/api/sms").json()
    assert status["business"]["smsNumber"] == NUMBER
    consent = client.get("/api/sms/consents", {"phone": CUSTOMER}).json()
    assert consent["optedOut"] is False


def test_webhooks_are_verified_by_signature_not_csrf(business_id: str) -> None:
    """No session, no CSRF token: a signed STOP opts out; a bad signature changes nothing."""
    client = signed_in(business_id)
    assert (
        post_json(client, "/api/sms", {"action": "provision", "phoneNumber": NUMBER}).status_code
        == 200
    )
    sid = post_json(client, "/api/sms", SEND).json()["messageSid"]
    stop = {"To": NUMBER, "From": CUSTOMER, "Body": "STOP", "MessageSid": "SM" + "1" * 32}
    browser = Client(enforce_csrf_checks=True)

    forged = twilio_post(browser, INBOUND, stop, "not-the-token")
    assert (forged.status_code, forged.json()["code"]) == (403, "invalid_signature")
    unsigned = browser.post(INBOUND, urlencode(stop), "application/x-www-form-urlencoded")
    assert unsigned.status_code == 403
    assert client.get("/api/sms/consents", {"phone": CUSTOMER}).json()["optedOut"] is False

    signed = twilio_post(browser, INBOUND, stop, SANDBOX_AUTH_TOKEN)
    assert signed.status_code == 200
    assert signed.headers["Content-Type"] == "application/xml"
    assert b"<Response>" in signed.content
    assert client.get("/api/sms/consents", {"phone": CUSTOMER}).json()["optedOut"] is True

    delivered = {"MessageSid": sid, "MessageStatus": "delivered"}
    assert twilio_post(browser, STATUS, delivered, "wrong").status_code == 403
    answered = twilio_post(browser, STATUS, delivered, SANDBOX_AUTH_TOKEN)
    assert (answered.status_code, answered.json()) == (200, {"ok": True})


def test_manage_py_migrate_never_opens_the_sms_database(sms_database: str) -> None:
    """Services are built by the first request, so Django's commands run before the SMS schema.

    The first request on an unmigrated database says to migrate; after
    ``manage.py neariq_sms_migrate`` it answers.
    """
    call_command("migrate", verbosity=0)
    call_command("check")
    assert not Path(sms_database.removeprefix("sqlite:///")).exists()
    with pytest.raises(ImproperlyConfigured, match=r"Run `manage\.py neariq_sms_migrate`"):
        Client().get("/api/sms/openapi.json")  # building the services checks the schema
    out = io.StringIO()
    call_command("neariq_sms_migrate", stdout=out)
    assert out.getvalue().strip() == "neariq_sms: the SMS database is up to date"
    call_command("neariq_sms_migrate", stdout=io.StringIO())  # idempotent
    s = conf.get_services()
    shop = uc.create_business("Shop", "growth", uow=s.uow, clock=s.clock)
    assert signed_in(shop.id).get("/api/sms").json()["business"]["id"] == shop.id


@pytest.mark.parametrize("sandbox", [True, False])
def test_a_request_before_the_sms_migration_says_to_run_it(
    sms_database: str, sandbox: bool
) -> None:
    """Sandbox or Twilio, the first request on an unmigrated database names the command."""
    twilio = {} if sandbox else {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t"}
    with (
        override_settings(NEARIQ_SMS_SANDBOX=sandbox, **twilio),
        pytest.raises(ImproperlyConfigured, match=r"Run `manage\.py neariq_sms_migrate`"),
    ):
        signed_in("any").get("/api/sms")


def test_the_migrate_command_fails_in_one_line(tmp_path: Path) -> None:
    missing_folder = f"sqlite:///{tmp_path / 'no' / 'such' / 'sms.db'}"
    with (
        override_settings(NEARIQ_SMS_DATABASE_URL=missing_folder),
        pytest.raises(CommandError, match="cannot migrate the SMS database") as raised,
    ):
        call_command("neariq_sms_migrate", stdout=io.StringIO())
    assert "\n" not in str(raised.value)


def test_included_under_a_prefix(business_id: str) -> None:
    """``path("dashboard/", include(...))``: the contract answers there, webhooks signed for it."""
    with override_settings(
        ROOT_URLCONF="tests.django_host.prefixed_urls",
        NEARIQ_SMS_PUBLIC_URL="http://testserver/dashboard",
    ):
        client = signed_in(business_id)
        assert client.get("/dashboard/api/sms").json()["business"]["id"] == business_id
        assert client.get("/api/sms").status_code == 404
        assert reverse("neariq_sms:twilio-inbound") == "/dashboard" + INBOUND
        params = {"To": NUMBER, "From": CUSTOMER, "Body": "HELP", "MessageSid": "SM" + "2" * 32}
        answered = twilio_post(Client(), "/dashboard" + INBOUND, params, SANDBOX_AUTH_TOKEN)
        assert answered.status_code == 200, answered.content


def test_the_checks_name_a_missing_or_broken_resolver() -> None:
    with override_settings(NEARIQ_SMS_BUSINESS_RESOLVER=None):
        assert [m.id for m in check_settings()] == ["neariq_sms.E001"]
    with override_settings(NEARIQ_SMS_BUSINESS_RESOLVER="tests.django_host.sms.nothing"):
        assert [m.id for m in check_settings()] == ["neariq_sms.E002"]
    assert check_settings() == []
