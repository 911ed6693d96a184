"""The sandbox is one provider for every process sharing the database.

Real ``neariq-sms serve --sandbox`` processes and CLI commands on one SQLite
file or one PostgreSQL schema: a number bought through one server sends
through another, sids never repeat across processes and restarts, and
``dispatch``, ``reconcile`` and ``business deactivate`` reach the same provider.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import ManualClock, SystemClock
from neariq_sms.adapters.memory import SimulatedTelephony
from neariq_sms.adapters.sql import SqlUnitOfWork, make_engine
from neariq_sms.domain import MessageStatus, NumberStatus, Policy, ProviderError
from tests.http.live import CUSTOMER, LiveServer, clean_env, consent, post_action, provision_first
from tests.sql.backends import postgres_url

SID = {"PN": re.compile(r"PN[0-9a-f]{32}"), "SM": re.compile(r"SM[0-9a-f]{32}")}
#: 22:00 in Austin, long ago: a send then is scheduled for a morning that is past.
QUIET_NIGHT = datetime(2026, 3, 11, 4, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database every process of a test opens by URL (migrated by ``serve``)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'shared.db'}"
        return
    base = postgres_url()
    schema = f"nq_sandbox_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}"
    admin = make_engine(base, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = sa.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@contextlib.contextmanager
def opened(database_url: str) -> Iterator[SqlUnitOfWork]:
    """The test's own view of the database, its connections closed afterwards."""
    uow = SqlUnitOfWork(make_engine(database_url, poolclass=NullPool))
    try:
        yield uow
    finally:
        uow.engine.dispose()


def serve(tmp_path: Path, name: str, database_url: str, *args: str) -> LiveServer:
    home = tmp_path / name
    home.mkdir(exist_ok=True)
    env = clean_env(database_url, NEARIQ_SMS_QUIET_HOURS="off")
    return LiveServer.start(home, "--sandbox", *args, env=env)


@pytest.fixture
def two_servers(tmp_path: Path, database_url: str) -> Iterator[tuple[LiveServer, LiveServer]]:
    first = serve(tmp_path, "a", database_url)
    try:
        second = serve(tmp_path, "b", database_url)
    except BaseException:
        first.stop()
        raise
    yield first, second
    first.stop()
    second.stop()


def send(server: LiveServer, token: str, to: str = CUSTOMER) -> dict[str, object]:
    with server.client(headers={"Cookie": f"neariq_session={token}"}) as client:
        answer = post_action(client, "send_review_request", to=to, customerName="Jane")
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_a_number_bought_through_one_server_sends_through_another(
    two_servers: tuple[LiveServer, LiveServer],
) -> None:
    """Provisioned via server A, sent via server B: queued, and B no longer offers the number."""
    a, b = two_servers
    tenant = a.tenant()
    with tenant.client() as client:
        number = provision_first(client)
        consent(client)
    body = send(b, tenant.token)
    assert body["status"] == "queued"
    assert SID["SM"].fullmatch(str(body["messageSid"]))
    with b.client(headers={"Cookie": tenant.cookie}) as client:
        offered = client.get("/api/sms", params={"action": "search", "areaCode": "512"}).json()
    assert number not in [n["number"] for n in offered["numbers"]]


def test_sids_never_repeat_across_servers_and_restarts(
    tmp_path: Path, two_servers: tuple[LiveServer, LiveServer], database_url: str
) -> None:
    """Two servers buy and send for two businesses, one restarts and sends again: every
    PN and SM sid is distinct and shaped like Twilio's."""
    a, b = two_servers
    first, second = a.tenant(name="First"), b.tenant(name="Second")
    with first.client() as client:
        provision_first(client, "512")
        consent(client)
    with b.client(headers={"Cookie": second.cookie}) as client:
        provision_first(client, "415")
        consent(client)
    with b.client(headers={"Cookie": first.cookie}) as client:
        consent(client, "+15557654323")
    sids = [send(a, first.token)["messageSid"], send(b, second.token)["messageSid"]]
    a.stop()
    restarted = serve(tmp_path, "a2", database_url)
    try:
        sids.append(send(restarted, first.token, "+15557654323")["messageSid"])
    finally:
        restarted.stop()
    with opened(database_url) as uow, uow:
        numbers = [uow.numbers.holding(t.id) for t in (first, second)]
        messages = [m for t in (first, second) for m in uow.messages.for_business(t.id)]
    pn_sids = [n.provider_sid for n in numbers if n is not None]
    assert len(set(pn_sids)) == 2
    assert all(SID["PN"].fullmatch(str(s)) for s in pn_sids)
    assert sorted(m.provider_sid or "" for m in messages) == sorted(str(s) for s in sids)
    assert len(set(sids)) == 3
    assert all(SID["SM"].fullmatch(str(s)) for s in sids)


def test_dispatch_sends_through_the_sandbox_a_server_bought_from(
    tmp_path: Path, database_url: str
) -> None:
    """A message scheduled in quiet hours, now due, is sent by ``neariq-sms dispatch --sandbox``
    from the number a ``serve --sandbox`` process bought."""
    server = serve(tmp_path, "a", database_url)
    try:
        tenant = server.tenant()
        with tenant.client() as client:
            provision_first(client)
        clock = ManualClock(QUIET_NIGHT)
        uow = server.uow
        uc.record_consent(tenant.id, CUSTOMER, "point_of_sale", uow=uow, clock=clock)
        scheduled = uc.send_review_request(
            tenant.id, CUSTOMER, "Jane", uow=uow, telephony=SimulatedTelephony(), clock=clock
        )
        assert scheduled.status is MessageStatus.SCHEDULED
        done = server.cli("dispatch", "--sandbox")
    finally:
        server.stop()
    assert (done.returncode, done.stdout.splitlines()[0]) == (0, "submitted 1"), done.stderr
    with opened(database_url) as uow, uow:
        [message] = uow.messages.for_business(tenant.id)
    assert message.status is MessageStatus.QUEUED
    assert SID["SM"].fullmatch(message.provider_sid or "")


def test_reconcile_asks_the_same_sandbox(tmp_path: Path, database_url: str) -> None:
    """A send the sandbox accepted but whose answer was lost stays ``submitting``;
    ``neariq-sms reconcile --sandbox`` finds it there and records its sid."""
    from neariq_sms.adapters.sql.sandbox import SqlSandboxState

    server = serve(tmp_path, "a", database_url)
    try:
        tenant = server.tenant()
        with tenant.client() as client:
            provision_first(client)
            consent(client)
        uow = server.uow
        assert isinstance(uow, SqlUnitOfWork)
        lossy = SimulatedTelephony(state=SqlSandboxState(uow.engine))
        lossy.fail_next("send", ProviderError(reason="timeout", ambiguous=True), after_effect=True)
        with pytest.raises(ProviderError):
            uc.send_review_request(
                tenant.id,
                CUSTOMER,
                "Jane",
                uow=uow,
                telephony=lossy,
                clock=SystemClock(),
                policy=Policy(quiet_hours=None),
            )
        done = server.cli("reconcile", "--sandbox", "--older-than", "0")
    finally:
        server.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    [sent] = lossy.sent
    with opened(database_url) as check, check:
        [message] = check.messages.for_business(tenant.id)
    assert (message.status, message.provider_sid) == (MessageStatus.QUEUED, sent.sid)


def test_business_deactivate_releases_the_number_in_the_sandbox(
    tmp_path: Path, database_url: str
) -> None:
    """Without a provider, deactivating a business that holds a number refuses and changes
    nothing; with ``--sandbox`` it releases the number, which the sandbox offers again."""
    from neariq_sms.adapters.sql.tables import sandbox_messages, sandbox_numbers

    server = serve(tmp_path, "a", database_url)
    try:
        tenant = server.tenant()
        with tenant.client() as client:
            number = provision_first(client)
        refused = server.cli("business", "deactivate", tenant.id)
        with server.uow as uow:
            business = uow.businesses.get(tenant.id)
            held = uow.numbers.holding(tenant.id)
        assert refused.returncode == 1
        assert "nothing changed" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        assert business is not None
        assert business.active
        assert held is not None
        assert held.status is NumberStatus.ACTIVE

        done = server.cli("business", "deactivate", tenant.id, "--sandbox")
        assert done.returncode == 0, done.stderr
        other = server.tenant(name="Next")
        with other.client() as client:
            offered = client.get("/api/sms", params={"action": "search", "areaCode": "512"})
        assert offered.json()["numbers"][0]["number"] == number
    finally:
        server.stop()
    with opened(database_url) as uow, uow:
        business = uow.businesses.get(tenant.id)
        history = list(uow.numbers.history(tenant.id))
    assert business is not None
    assert not business.active
    assert [n.status for n in history] == [NumberStatus.RELEASED]
    engine = make_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            held_numbers = connection.execute(sa.select(sandbox_numbers.c.number)).all()
            sent = connection.execute(sa.select(sa.func.count()).select_from(sandbox_messages))
            assert (held_numbers, sent.scalar_one()) == ([], 0)
    finally:
        engine.dispose()
