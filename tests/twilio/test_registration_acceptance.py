"""Issue 13's acceptance: a live server with the Twilio provider against the strict fake.

A new business registers through the HTTP API; ``neariq-sms registration
sync`` processes advance it while the fake Twilio's reviewers approve what is
submitted; it ends ``approved``; its sends go out through its Messaging
Service and are not 30034'd (before approval none reached Twilio at all);
every Trust Hub, brand, service and campaign object was made exactly once.
The server and the sync are real ``neariq-sms`` processes; only their SDK's
HTTP client is pointed at the loopback fake (``tests.twilio.against_fake``).
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.http.live import (
    CUSTOMER,
    LiveServer,
    clean_env,
    consent,
    error_of,
    free_port,
    post_action,
    provision_first,
)
from tests.registration_data import STANDARD
from tests.twilio.fake_twilio import FakeTwilio
from tests.twilio.test_webhooks import twilio_signature

ROOT = Path(__file__).resolve().parents[2]
#: Each made exactly once for the business (the sender-pool entry included).
OBJECTS = {
    "customer_profile": 1,
    "trust_product": 1,
    "end_user": 3,
    "address": 1,
    "supporting_document": 1,
    "entity_assignment": 6,
    "brand": 1,
    "service": 1,
    "campaign": 1,
    "service_number": 1,
}
MAX_SYNCS = 8


def against(fake: FakeTwilio, *args: str) -> list[str]:
    return [sys.executable, "-m", "tests.twilio.against_fake", fake.base_url, *args]


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        server.strict = True
        yield server


@pytest.fixture
def live(fake: FakeTwilio, tmp_path: Path) -> Iterator[LiveServer]:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = clean_env(
        f"sqlite:///{tmp_path / 'neariq_sms.db'}",
        TWILIO_ACCOUNT_SID=fake.account_sid,
        TWILIO_AUTH_TOKEN=fake.auth_token,
        NEARIQ_SMS_TWILIO_PRIMARY_PROFILE_SID=fake.a2p.primary_profile_sid,
        NEARIQ_SMS_PUBLIC_URL=base_url,
        # The sends must reach Twilio at once whatever the hour the suite runs: in the
        # default quiet hours (21:00-08:00 the business's time) they would be scheduled.
        NEARIQ_SMS_QUIET_HOURS="off",
        PYTHONPATH=str(ROOT),
        NO_PROXY="127.0.0.1,localhost",
    )
    log_path = tmp_path / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            against(fake, "serve", "--host", "127.0.0.1", "--port", str(port)),
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    server = LiveServer(base_url, env["NEARIQ_SMS_DATABASE_URL"], env, process, log_path=log_path)
    server._drainer = threading.Thread(target=server._drain, daemon=True)
    server._drainer.start()
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def sync(fake: FakeTwilio, live: LiveServer) -> None:
    done = subprocess.run(
        against(fake, "registration", "sync"),
        env=live.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def registration_of(client: httpx.Client) -> dict[str, Any]:
    answer = client.get("/api/sms", params={"action": "registration"})
    assert answer.status_code == 200, answer.text
    registration: dict[str, Any] = answer.json()["registration"]
    return registration


def send(client: httpx.Client) -> httpx.Response:
    return post_action(client, "send_review_request", to=CUSTOMER, customerName="Jane")


def deliver(fake: FakeTwilio, callbacks: list[tuple[str, list[tuple[str, str]]]]) -> list[str]:
    """Post the fake's status callbacks to the server, signed as Twilio signs them
    (the full URL it posts to, query included, and the form); the paths posted to."""
    posted = [urlsplit(url).path for url, _ in callbacks]
    for url, params in callbacks:
        signature = twilio_signature(fake.auth_token, url, params)
        answer = httpx.post(
            url, data=dict(params), headers={"X-Twilio-Signature": signature}, timeout=10
        )
        assert answer.status_code in (200, 204), answer.text
    callbacks.clear()
    return posted


def test_a_new_business_registers_over_http_and_sends_through_its_service(
    fake: FakeTwilio, live: LiveServer
) -> None:
    """register -> syncs -> approved; sends carry the service and pass the strict carrier."""
    callbacks: list[tuple[str, list[tuple[str, str]]]] = []
    fake.deliver_callback = lambda url, params: callbacks.append((url, list(params)))
    tenant = live.tenant("growth", name="Acme Plumbing")
    with tenant.client() as client:
        number = provision_first(client)
        consent(client)
        answer = send(client)
        assert (answer.status_code, error_of(answer)) == (403, "registration_required")

        body = {k: v for k, v in STANDARD.items() if k != "action"}
        answer = post_action(client, "register", **body)
        assert answer.status_code == 202, answer.text
        answer = send(client)
        assert (answer.status_code, error_of(answer)) == (403, "registration_pending")
        assert client.get("/api/sms").json()["business"]["smsEnabled"] is False

        webhooks: list[str] = []
        for _ in range(MAX_SYNCS):
            sync(fake, live)
            if registration_of(client)["status"] == "approved":
                break
            fake.a2p.approve_everything()
            webhooks += deliver(fake, callbacks)  # Trust Hub's bundle callbacks
        registration = registration_of(client)
        assert registration["status"] == "approved", registration
        assert "/api/sms/webhooks/twilio/registration" in webhooks
        service = registration["messagingServiceSid"]
        assert [p["phone_number"] for p in fake.a2p.pools[service].values()] == [number]
        assert not fake.messages, "nothing reached Twilio before the approval"
        assert client.get("/api/sms").json()["business"]["smsEnabled"] is True

        answer = send(client)
        assert answer.status_code == 200, answer.text
        deliver(fake, callbacks)
        sync(fake, live)  # once more: approved stays approved, nothing is made again

    [message] = fake.messages
    assert (message["messaging_service_sid"], message["from"]) == (service, number)
    assert (message["status"], message["error_code"]) != ("undelivered", 30034)
    [request] = fake.requests_for("send")
    assert request.param("MessagingServiceSid") == service
    assert {k: v for k, v in fake.a2p.created.items() if k != "evaluation"} == OBJECTS
