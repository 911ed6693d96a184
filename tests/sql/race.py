"""What the worker processes of the concurrency tests run (importable under spawn).

Each worker opens its own engine on the shared database, waits at a barrier
so that all start together, runs one use case and reports the outcome as a
string: ``ok:<id>`` or the domain error's code.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from threading import Barrier
from typing import Any

import sqlalchemy as sa

from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import ManualClock
from neariq_sms.adapters.http import handle
from neariq_sms.adapters.sql import SqlUnitOfWork, make_engine
from neariq_sms.config import Services
from neariq_sms.domain import AvailableNumber, Plan, Policy, PurchasedNumber, SmsError
from neariq_sms.domain.errors import RecipientOptedOut
from neariq_sms.domain.messages import MessageStatus, SentMessage
from neariq_sms.domain.phone import PhoneNumber

#: Tuesday noon in Austin: inside sending hours for every recipient used here.
NOON_IN_AUSTIN = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)

#: (URL, PostgreSQL schema or None): enough for another process to reach the database.
DbSpec = tuple[str, str | None]


def policy_with_limit(limit: int) -> Policy:
    return Policy(monthly_allowance={Plan.GROWTH: limit}, quiet_hours=None)


class FileTelephony:
    """A provider whose every call is a line appended to a file, so that calls
    made by many processes can be counted. A test-only fake of the port."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def _record(self, line: str) -> None:
        # One write of one short line with O_APPEND: lines never interleave.
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{line}\n".encode())
        finally:
            os.close(fd)

    @staticmethod
    def calls(log: Path, operation: str) -> int:
        if not log.exists():
            return 0
        return sum(1 for line in log.read_text().splitlines() if line.split()[0] == operation)

    @property
    def configured(self) -> bool:
        return True

    def search_available(self, area_code: str, limit: int) -> Sequence[AvailableNumber]:
        return []

    def purchase(self, number: PhoneNumber) -> PurchasedNumber:
        self._record(f"purchase {number.e164}")
        return PurchasedNumber(number, f"PN{uuid.uuid4().hex}")

    def release(self, provider_sid: str) -> None:
        self._record(f"release {provider_sid}")

    def send(
        self, *, from_: PhoneNumber, to: PhoneNumber, body: str, message_id: str | None = None
    ) -> SentMessage:
        self._record(f"send {to.e164}")
        return SentMessage(f"SM{uuid.uuid4().hex}", MessageStatus.QUEUED)


class OptedOutTelephony(FileTelephony):
    """A provider at which every recipient has texted STOP: each send is logged and
    refused with the domain's ``RecipientOptedOut`` (Twilio 21610)."""

    def send(
        self, *, from_: PhoneNumber, to: PhoneNumber, body: str, message_id: str | None = None
    ) -> SentMessage:
        self._record(f"send {to.e164}")
        raise RecipientOptedOut()


_uows: dict[DbSpec, SqlUnitOfWork] = {}


def open_uow(spec: DbSpec) -> SqlUnitOfWork:
    """This process's unit of work on the database (one engine per process)."""
    if spec not in _uows:
        url, schema = spec
        kwargs: dict[str, Any] = {}
        if schema is not None:
            kwargs["connect_args"] = {"options": f"-c search_path={schema}"}
        _uows[spec] = SqlUnitOfWork(make_engine(url, **kwargs))
    return _uows[spec]


def _outcome(work: Any) -> str:
    try:
        return f"ok:{work()}"
    except SmsError as exc:
        return exc.code


def send(
    spec: DbSpec,
    barrier: Barrier,
    log: Path,
    business_id: str,
    recipients: Sequence[str],
    limit: int,
    key: str | None = None,
) -> list[str]:
    """Send one review request to each recipient in turn, all workers starting at once."""
    uow, clock, telephony = open_uow(spec), ManualClock(NOON_IN_AUSTIN), FileTelephony(log)
    policy = policy_with_limit(limit)
    barrier.wait()
    return [
        _outcome(
            lambda to=to: (
                uc.send_review_request(
                    business_id,
                    to,
                    "Jane",
                    uow=uow,
                    telephony=telephony,
                    clock=clock,
                    policy=policy,
                    idempotency_key=key,
                ).message_id
            )
        )
        for to in recipients
    ]


def provision(spec: DbSpec, barrier: Barrier, log: Path, business_id: str, number: str) -> str:
    """Provision one number for one business, all workers starting at once."""
    uow, clock, telephony = open_uow(spec), ManualClock(NOON_IN_AUSTIN), FileTelephony(log)
    barrier.wait()
    return _outcome(
        lambda: (
            uc.provision_number(
                business_id, number, uow=uow, telephony=telephony, clock=clock
            ).number
        )
    )


def send_over_http_each_round(
    spec: DbSpec, barrier: Barrier, log: Path, business_id: str, recipients: Sequence[str]
) -> list[str]:
    """One review request per round through the HTTP contract, to that round's recipient,
    all workers starting each round at once; every answer as ``"<status>:<code>"``."""
    services = Services(
        uow=open_uow(spec),
        telephony=OptedOutTelephony(log),
        clock=ManualClock(NOON_IN_AUSTIN),
        policy=Policy(
            monthly_allowance={Plan.GROWTH: 10_000},
            review_cooldown=timedelta(0),
            quiet_hours=None,
        ),
    )
    outcomes = []
    for to in recipients:
        body = json.dumps({"action": "send_review_request", "to": to, "customerName": "Jane"})
        barrier.wait()
        answer = handle(
            "POST",
            "/api/sms",
            "",
            {"Content-Type": "application/json"},
            body.encode(),
            business_id,
            services=services,
        )
        outcomes.append(f"{answer.status}:{answer.json().get('code', 'ok')}")
    return outcomes


def cli_url(spec: DbSpec) -> str:
    """The database as a URL the CLI takes (PostgreSQL: the test's schema in it)."""
    url, schema = spec
    if schema is None:
        return url
    return str(
        sa.make_url(url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def dispatch_cli(spec: DbSpec, barrier: Barrier) -> str:
    """``neariq-sms dispatch --sandbox`` (the CLI's own entry point, in this process),
    all workers starting at once: ``"<exit status>:<what it printed>"``."""
    from neariq_sms.cli import main

    os.environ["NEARIQ_SMS_DATABASE_URL"] = cli_url(spec)
    printed = io.StringIO()
    barrier.wait()
    with contextlib.redirect_stdout(printed):
        status = main(["dispatch", "--sandbox"])
    return f"{status}:{' '.join(printed.getvalue().split())}"
