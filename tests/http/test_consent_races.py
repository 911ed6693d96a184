"""STOPs racing dashboard consent writes over two live servers on one database.

Each round starts pairs of requests for fresh phones at one barrier: a signed
STOP webhook through one server and a consent write (consent, consent with a
time, dashboard opt-out) through the other, so both try to create the same
consent record. Every STOP must be answered 2xx and stored, and no later send
to a phone whose STOP was acknowledged may be accepted.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx
import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from neariq_sms.config import SANDBOX_AUTH_TOKEN
from tests.http.live import LiveServer, Tenant, clean_env, error_of, post_action, provision_first
from tests.sql.backends import postgres_engine, postgres_url

INBOUND = "/api/sms/webhooks/twilio/inbound"
RACES = 300
#: Pairs started together at each barrier: enough to overlap on 2 cores, few
#: enough that both servers' 8 threads take them at once.
PAIRS_PER_ROUND = 6


def _sqlite_url(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'shared.db'}"


def _postgres_url(tmp: Path) -> str:
    engine = postgres_engine()  # a new, migrated schema of the test server
    with engine.connect() as connection:
        schema = connection.execute(sa.text("SELECT current_schema()")).scalar_one()
    engine.dispose()
    return f"{postgres_url()}?options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(params=["sqlite", "postgres"])
def servers(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two ``neariq-sms serve --sandbox`` processes sharing one database."""
    make_url: Callable[[Path], str] = _sqlite_url if request.param == "sqlite" else _postgres_url
    env = clean_env(make_url(tmp_path), NEARIQ_SMS_QUIET_HOURS="off")
    started: list[LiveServer] = []
    try:
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            started.append(LiveServer.start(tmp_path / name, "--sandbox", env=env))
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()


def _stop(client: httpx.Client, server: LiveServer, number: str, phone: str) -> httpx.Response:
    params = {"To": number, "From": phone, "Body": "STOP", "MessageSid": "SM" + uuid.uuid4().hex}
    signature = RequestValidator(SANDBOX_AUTH_TOKEN).compute_signature(
        server.base_url + INBOUND, params
    )
    return client.post(
        server.base_url + INBOUND,
        content=urlencode(params).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": signature,
        },
    )


def _write(client: httpx.Client, server: LiveServer, i: int, phone: str) -> httpx.Response:
    """One of the dashboard's consent writes, each creating the record when first."""
    kind = i % 3
    if kind == 0:
        body = {"phone": phone, "source": "point_of_sale"}
        return client.post(server.base_url + "/api/sms/consents", json=body)
    if kind == 1:
        body = {"phone": phone, "source": "web_form", "consentedAt": "2026-01-02T03:04:05Z"}
        return client.post(server.base_url + "/api/sms/consents", json=body)
    return client.post(server.base_url + "/api/sms/consents/opt-out", json={"phone": phone})


def test_no_stop_is_lost_to_a_racing_consent_write(servers: tuple[LiveServer, LiveServer]) -> None:
    a, b = servers
    tenant: Tenant = a.tenant(name="Race Shop")
    with tenant.client() as client:
        number = provision_first(client, "415")
    phones = [f"+1415555{2000 + i:04d}" for i in range(RACES)]
    stops: dict[int, httpx.Response] = {}
    writes: dict[int, httpx.Response] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2 * PAIRS_PER_ROUND)

    def worker(slot: int, stop_side: bool) -> None:
        headers = {"Cookie": tenant.cookie}
        with httpx.Client(timeout=30, headers=headers) as http:
            for i in range(slot, RACES, PAIRS_PER_ROUND):
                # Alternate which server takes the STOP and which the write.
                stop_server, write_server = (a, b) if (i // PAIRS_PER_ROUND) % 2 else (b, a)
                try:
                    barrier.wait(timeout=60)
                    if stop_side:
                        stops[i] = _stop(http, stop_server, number, phones[i])
                    else:
                        writes[i] = _write(http, write_server, i, phones[i])
                except BaseException as exc:  # reported below; the barrier must not hang
                    errors.append(exc)
                    barrier.abort()
                    return

    threads = [
        threading.Thread(target=worker, args=(slot, side))
        for slot in range(PAIRS_PER_ROUND)
        for side in (True, False)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors

    bad_stops = {i: (r.status_code, r.text) for i, r in stops.items() if r.status_code != 200}
    assert not bad_stops, f"{len(bad_stops)} STOPs not acknowledged: {list(bad_stops.items())[:5]}"
    for i, answer in writes.items():
        # A consent write after the STOP is refused; anything else is a 200.
        assert answer.status_code in (200, 400), (i, answer.status_code, answer.text)
        if answer.status_code == 400:
            assert error_of(answer) == "recipient_opted_out", (i, answer.text)

    lost: list[str] = []
    accepted: list[str] = []
    with tenant.client() as client:
        for phone in phones:
            record = client.get("/api/sms/consents", params={"phone": phone})
            if record.status_code != 200 or record.json()["optedOut"] is not True:
                lost.append(phone)
            sent = post_action(client, "send_review_request", to=phone, customerName="Jane")
            if sent.status_code != 400 or error_of(sent) != "recipient_opted_out":
                accepted.append(phone)
    assert (lost, accepted) == ([], [])
