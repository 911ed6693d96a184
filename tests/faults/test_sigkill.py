"""A process killed with SIGKILL between the steps of a send or a provisioning.

The child (``tests/faults/killable.py``) runs the operation on a SQLite file or
a PostgreSQL schema against the loopback fake Twilio served by this process,
and stops on cue: before the provider request, while Twilio holds its answer
back (it has acted), or after the answer before storing it. The parent kills
it, runs reconcile, and checks every invariant against the fake's account.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import SystemClock
from neariq_sms.adapters.sql import SqlUnitOfWork, make_engine, upgrade
from neariq_sms.adapters.twilio import TwilioTelephony
from tests.faults.support import ProviderView, violations
from tests.sql.backends import postgres_url
from tests.twilio.fake_twilio import FakeTwilio

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_URL = "https://sms.example.com"
NUMBER = "+15125550123"
CUSTOMER = "+15557654321"
#: Generous: the child imports the SDK and SQLAlchemy before it gets anywhere.
READY_WITHIN = 60.0

EXPECTED = {
    ("send", "before"): "failed",
    ("send", "inside"): "sent",
    ("send", "after"): "sent",
    ("provision", "before"): "dropped",
    ("provision", "inside"): "activated",
    ("provision", "after"): "activated",
}


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """(URL, schema) of a migrated, empty database the child can open too."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sms.db'}"
        engine = make_engine(url, poolclass=NullPool)
        upgrade(engine)
        engine.dispose()
        yield url, None
        return
    url = postgres_url()
    schema = f"nq_kill_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}"
    admin = make_engine(url, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-c search_path={schema}"})
    upgrade(engine)
    engine.dispose()
    try:
        yield url, schema
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _wait_for_line(child: subprocess.Popen[str], expected: str) -> None:
    assert child.stdout is not None
    ready, _, _ = select.select([child.stdout], [], [], READY_WITHIN)
    assert ready, "the child never reached its stopping point"
    line = child.stdout.readline().strip()
    assert line == expected, (line, child.stderr.read() if child.stderr else "")


@pytest.mark.parametrize(("operation", "point"), sorted(EXPECTED))
def test_a_process_killed_between_the_steps_is_settled_by_reconcile(
    fake: FakeTwilio, database: tuple[str, str | None], operation: str, point: str
) -> None:
    """After SIGKILL and reconcile: nothing sent twice, no unit lost, no number orphaned."""
    url, schema = database
    connect_args = {"options": f"-c search_path={schema}"} if schema else {}
    uow = SqlUnitOfWork(make_engine(url, connect_args=connect_args))
    twilio = TwilioTelephony(fake.client(), public_url=PUBLIC_URL, timeout=5.0)
    clock = SystemClock()
    shop = uc.create_business(
        "Shop", "growth", uow=uow, clock=clock, review_url="https://r.example"
    )
    if operation == "send":
        uc.provision_number(shop.id, NUMBER, uow=uow, telephony=twilio, clock=clock)
        uc.record_consent(shop.id, CUSTOMER, "point_of_sale", uow=uow, clock=clock)
    injection = (
        fake.inject("send" if operation == "send" else "purchase", delay=READY_WITHIN)
        if point == "inside"
        else None
    )
    job = {
        "database_url": url,
        "schema": schema,
        "twilio_url": fake.base_url,
        "account_sid": fake.account_sid,
        "auth_token": fake.auth_token,
        "public_url": PUBLIC_URL,
        "business": shop.id,
        "customer": CUSTOMER,
        "number": NUMBER,
        "operation": operation,
        "point": point,
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.killable", json.dumps(job)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        if injection is not None:
            assert injection.acted.wait(READY_WITHIN), "Twilio never got the request"
        else:
            _wait_for_line(child, "ready")
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=READY_WITHIN) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for stream in (child.stdin, child.stdout, child.stderr):
            if stream is not None:
                stream.close()

    report = uc.reconcile(uow=uow, telephony=twilio, clock=clock, older_than=timedelta(0))
    assert [r.outcome for r in report.resolutions] == [EXPECTED[(operation, point)]]
    assert violations(uow, ProviderView.of_fake(fake)) == []
    again = uc.reconcile(uow=uow, telephony=twilio, clock=clock, older_than=timedelta(0))
    assert again.resolutions == ()
    uow.engine.dispose()
