"""Reading blocks inside reading blocks, and the reference server's one block per
read-only request: one connection and one transaction for the session and the page."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from neariq_sms import usecases as uc
from neariq_sms.adapters.http import make_wsgi_app
from neariq_sms.adapters.http.contract import only_reads
from neariq_sms.adapters.http.sessions import create_session
from neariq_sms.adapters.memory import ManualClock, SimulatedTelephony
from neariq_sms.adapters.sql import SqlUnitOfWork
from neariq_sms.domain.plans import Policy
from neariq_sms.ports.services import Services
from tests.conftest import NOON_IN_AUSTIN
from tests.usecases.support import AUSTIN_NUMBER, CUSTOMER, ready_business


@pytest.fixture
def checkouts(engine: sa.Engine) -> Iterator[list[object]]:
    """Every connection the engine's pool hands out while the test runs."""
    taken: list[object] = []

    def note(dbapi_connection: Any, *_: Any) -> None:
        taken.append(dbapi_connection)

    event.listen(engine, "checkout", note)
    yield taken
    event.remove(engine, "checkout", note)


def test_a_reading_block_inside_another_joins_the_outer_one(
    engine: sa.Engine, checkouts: list[object]
) -> None:
    uow = SqlUnitOfWork(engine)
    business = uc.create_business("Aster", "growth", uow=uow, clock=ManualClock(NOON_IN_AUSTIN))
    checkouts.clear()
    with uow.reading():
        before = uow.businesses.get(business.id)
        uc.change_plan(business.id, "pro", uow=SqlUnitOfWork(engine))  # committed meanwhile
        with uow.reading():
            inside = uow.businesses.get(business.id)
        after_inner = uow.businesses.get(business.id)  # the outer block is still open
    assert before is not None
    assert before.plan.value == "growth"
    assert len(checkouts) == 2  # the outer block and the plan change; none for the inner one
    if engine.dialect.name == "sqlite":  # a snapshot per transaction (PostgreSQL: per statement)
        assert inside == before == after_inner
    with uow.reading():
        now = uow.businesses.get(business.id)
    assert now is not None
    assert now.plan.value == "pro"


def test_a_writing_block_inside_a_reading_block_is_refused(engine: sa.Engine) -> None:
    uow = SqlUnitOfWork(engine)
    refused = pytest.raises(RuntimeError, match="already has an open unit of work")
    with uow.reading(), refused, uow:
        pass
    with uow:  # the outer block closed all the same
        assert uow.businesses.list() == []


def _get(app: Any, path: str, query: str, token: str) -> tuple[str, bytes]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "HTTP_COOKIE": f"neariq_session={token}",
        "wsgi.input": io.BytesIO(b""),
        "CONTENT_LENGTH": "0",
    }
    status: list[str] = []
    body = b"".join(app(environ, lambda s, _h, _e=None: status.append(s)))
    return status[0], body


def test_a_read_only_request_is_one_connection_for_its_session_and_its_page(
    engine: sa.Engine, checkouts: list[object]
) -> None:
    uow = SqlUnitOfWork(engine)
    clock = ManualClock(NOON_IN_AUSTIN)
    telephony = SimulatedTelephony()
    business = ready_business(uow, telephony, clock, consent=(CUSTOMER,))
    uc.handle_inbound_message(AUSTIN_NUMBER, CUSTOMER, "Hi there", "SM1", uow=uow, clock=clock)
    token = create_session(business.id, uow=uow, clock=clock)
    app = make_wsgi_app(Services(uow=uow, telephony=telephony, clock=clock, policy=Policy()))
    for path, query in (
        ("/api/sms/conversations", ""),
        ("/api/sms/conversations/messages", f"phone={quote(CUSTOMER)}"),
        ("/api/sms/consents", ""),
    ):
        assert only_reads("GET", path)
        checkouts.clear()
        status, body = _get(app, path, query, token)
        assert status.startswith("200"), body
        assert len(checkouts) == 1, path
    assert json.loads(_get(app, "/api/sms/conversations", "", token)[1])["conversations"]
    # Not a read-only endpoint: its session and its answer are two blocks, as before.
    assert not only_reads("GET", "/api/sms")
    checkouts.clear()
    status, _ = _get(app, "/api/sms", "", token)
    assert status.startswith("200")
    assert len(checkouts) == 2
