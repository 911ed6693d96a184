"""US sender registration through the HTTP contract, against a live ``serve --sandbox``
with registration required, advanced by ``neariq-sms registration sync`` processes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from neariq_sms.adapters.sql import make_engine
from neariq_sms.adapters.sql.sandbox import SqlSandboxState
from tests.http.live import (
    LiveServer,
    Tenant,
    consent,
    error_of,
    post_action,
    provision_first,
    snapshot,
)
from tests.http.test_webhooks import signed_post
from tests.registration_data import STANDARD, payload

REGISTRATION_WEBHOOK = "/api/sms/webhooks/twilio/registration"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer.start(
        tmp_path_factory.mktemp("registration"),
        "--sandbox",
        NEARIQ_SMS_QUIET_HOURS="off",
        NEARIQ_SMS_REGISTRATION="required",
    )
    yield live
    live.stop()


@pytest.fixture
def shop(server: LiveServer) -> Tenant:
    tenant = server.tenant(name="Acme Plumbing")
    with tenant.client() as client:
        provision_first(client, "303")
        consent(client)
    return tenant


def register(client: httpx.Client, data: dict[str, Any] = STANDARD) -> httpx.Response:
    return client.post("/api/sms", json=data)


def review(client: httpx.Client) -> httpx.Response:
    return post_action(client, "send_review_request", to="+15557654321", customerName="Dana")


def sync(server: LiveServer) -> str:
    done = server.cli("registration", "sync", "--sandbox")
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_register_sync_approve_then_send_through_the_service(
    server: LiveServer, shop: Tenant
) -> None:
    """Before: 403 registration_required, smsEnabled false. register: 202 submitted; a
    second one 409; sends 403 registration_pending. Two sync processes later: approved,
    smsEnabled true, and the send goes through the business's Messaging Service."""
    with shop.client() as client:
        status = client.get("/api/sms").json()["business"]
        assert (status["registration"], status["smsEnabled"]) == (None, False)
        before = snapshot(client)
        assert error_of(review(client)) == "registration_required"
        assert snapshot(client) == before

        answer = register(client)
        assert answer.status_code == 202, answer.text
        body = answer.json()
        assert body["ok"] is True
        assert body["registration"]["status"] == "submitted"
        assert error_of(register(client)) == "registration_in_progress"
        assert error_of(review(client)) == "registration_pending"
        reply = post_action(client, "send_reply", to="+15557654321", body="Hi!")
        assert error_of(reply) == "registration_pending"

        assert "approved  0" in sync(server)
        assert "approved  1" in sync(server)
        shown = client.get("/api/sms", params={"action": "registration"}).json()["registration"]
        assert shown["status"] == "approved"
        assert {s["name"]: s["status"] for s in shown["steps"]}["campaign"] == "approved"
        assert all(s["sid"] for s in shown["steps"])
        assert shown["errors"] == []
        status = client.get("/api/sms").json()["business"]
        assert status["registration"] == {"kind": "standard", "status": "approved"}
        assert status["smsEnabled"] is True

        sent = review(client)
        assert sent.status_code == 200, sent.text
    engine = make_engine(server.database_url)
    try:
        [message] = [
            m for m in SqlSandboxState(engine).sent() if m.sid == sent.json()["messageSid"]
        ]
    finally:
        engine.dispose()
    assert message.messaging_service_sid == shown["messagingServiceSid"]
    shown_cli = server.cli("registration", "show", "--business", shop.id)
    assert "standard registration" in shown_cli.stdout
    assert "approved" in shown_cli.stdout


def test_a_malformed_registration_names_its_field_and_stores_nothing(
    server: LiveServer, shop: Tenant
) -> None:
    with shop.client() as client:
        before = snapshot(client)
        missing = register(client, payload(**{"business.ein": ...}))
        assert error_of(missing) == "missing_field"
        assert "business.ein" in missing.json()["error"]
        bad = register(client, payload(**{"campaign.sampleMessages": ["short", "short too"]}))
        assert error_of(bad) == "invalid_field"
        assert error_of(register(client, payload(kind="corporate"))) == "invalid_field"
        assert snapshot(client) == before
        assert client.get("/api/sms", params={"action": "registration"}).json() == {
            "registration": None
        }


def test_a_rejected_registration_shows_the_reason_and_can_be_resubmitted(
    server: LiveServer, shop: Tenant
) -> None:
    with shop.client() as client:
        assert register(client, payload(**{"business.ein": "000000000"})).status_code == 202
        sync(server)
        sync(server)
        shown = client.get("/api/sms", params={"action": "registration"}).json()["registration"]
        assert shown["status"] == "rejected"
        assert [e["code"] for e in shown["errors"]] == [30795]
        assert error_of(review(client)) == "registration_required"
        again = register(client)
        assert again.status_code == 202, again.text
        assert again.json()["registration"]["status"] == "submitted"
        assert error_of(post_action(client, "resend_registration_otp")) == "invalid_field"


def test_the_registration_webhook_is_signed_and_shape_checked(server: LiveServer) -> None:
    """403 unsigned; 400 for a sid not of the provider's shape; 200 for a good one."""
    good = {"BundleSid": "BU" + "0" * 32, "Status": "twilio-approved"}
    unsigned = httpx.post(server.base_url + REGISTRATION_WEBHOOK, data=good)
    assert error_of(unsigned) == "invalid_signature"
    bad = signed_post(server, REGISTRATION_WEBHOOK, {**good, "BundleSid": "BU123"})
    assert error_of(bad) == "invalid_field"
    answer = signed_post(server, REGISTRATION_WEBHOOK, good)
    assert answer.status_code == 200
    assert answer.json() == {"ok": True}
