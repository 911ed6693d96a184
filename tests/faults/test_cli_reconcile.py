"""``neariq-sms reconcile``: its help, its refusals, and the lines it prints."""

from __future__ import annotations

import socket
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import InMemoryUnitOfWork, ManualClock, SimulatedTelephony
from neariq_sms.cli import main
from neariq_sms.domain import PhoneNumber, ProviderError
from tests.cli.test_cli import database
from tests.conftest import NOON_IN_AUSTIN
from tests.http.live import clean_env, neariq_sms_command
from tests.usecases.support import CUSTOMER, ready_business

__all__ = ["database"]  # the CLI tests' fixture, shared


def test_help_names_the_threshold_and_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["reconcile", "--help"])
    assert exited.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "--older-than SECONDS" in out
    assert "(default 900)" in out
    assert "--report-only" in out


def test_without_a_provider_it_says_so_in_one_line(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reconcile"]) == 1
    out, err = capsys.readouterr()
    assert (out, err.count("\n")) == ("", 1)
    assert "sms_not_configured" in err


def test_a_negative_threshold_is_refused(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reconcile", "--older-than", "-1"]) == 1
    assert "--older-than" in capsys.readouterr().err


def test_the_report_has_one_line_per_settled_thing_and_a_count_line() -> None:
    """What the command prints: each message or number with its outcome, then the counts."""
    clock = ManualClock(NOON_IN_AUSTIN)
    uow, telephony = InMemoryUnitOfWork(), SimulatedTelephony(clock=clock)
    shop = ready_business(uow, telephony, clock)
    telephony.fail_next("send", ProviderError(reason="timeout", ambiguous=True))
    with pytest.raises(ProviderError):
        uc.send_review_request(shop.id, CUSTOMER, "Jane", uow=uow, telephony=telephony, clock=clock)
    telephony.purchase(PhoneNumber("+15125550150"))
    clock.advance(timedelta(minutes=16))
    report = uc.reconcile(uow=uow, telephony=telephony, clock=clock)
    lines = [r.describe() for r in report.resolutions]
    with uow:
        [message] = uow.messages.for_business(shop.id)
    assert lines == [
        f"message {message.id} (business {shop.id}): submitting -> failed, not found at the"
        f" provider; {message.segments} unit(s) given back",
        f"number +15125550150: held by no business, released at the provider"
        f" (sid {report.resolutions[1].provider_sid})",
    ]
    assert report.summary() == (
        "reconciled 2: 0 sent, 1 failed, 0 activated, 0 dropped, 1 released, 0 orphaned,"
        " 0 unresolved"
    )


def test_twilio_out_of_reach_exits_1_with_the_reason(tmp_path: Path) -> None:
    """A real process whose every Twilio request fails to connect (an unreachable proxy):
    exit 1, an unresolved line and count, not "0 unresolved" and exit 0."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    env = clean_env(
        f"sqlite:///{tmp_path / 'sms.db'}",
        TWILIO_ACCOUNT_SID="AC" + "0" * 32,
        TWILIO_AUTH_TOKEN="not-a-real-token",
        HTTPS_PROXY=f"http://127.0.0.1:{closed}",
        NO_PROXY="",
    )
    env.pop("no_proxy", None)
    done = subprocess.run(
        [*neariq_sms_command(), "reconcile"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stdout
    lines = done.stdout.splitlines()
    assert lines[-1].endswith("1 unresolved"), lines
    assert "could not be listed" in lines[0]
