"""The ``neariq-sms`` command, run in-process through its ``main`` on a temporary SQLite file."""

from __future__ import annotations

import argparse
import csv
import io
import os
import pty
import subprocess
from pathlib import Path

import pytest

from neariq_sms.adapters.clock import SystemClock
from neariq_sms.adapters.http import resolve_session
from neariq_sms.cli import build_parser, main, safe_url
from neariq_sms.config import make_uow
from tests.http.live import clean_env, neariq_sms_command


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in list(os.environ):
        if name.startswith(("NEARIQ_SMS_", "TWILIO_")):
            monkeypatch.delenv(name)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("NEARIQ_SMS_DATABASE_URL", url)
    assert main(["db", "upgrade"]) == 0
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


def create_business(capsys: pytest.CaptureFixture[str], plan: str = "growth") -> str:
    status, lines, _ = run(capsys, "business", "create", "--name", "Aster Grove", "--plan", plan)
    assert status == 0
    return lines[-1]


def all_commands(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    found = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += all_commands(sub, (*prefix, name))
    return found


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    """--help works on the program and on every command of the spec's table."""
    commands = all_commands(build_parser())
    assert {" ".join(c) for c in commands} >= {
        "serve",
        "db upgrade",
        "business create",
        "business list",
        "business set-plan",
        "business deactivate",
        "business reactivate",
        "session create",
        "session revoke",
        "consent import",
        "consent export",
        "dispatch",
    }
    for command in commands:
        with pytest.raises(SystemExit) as exited:
            main([*command, "--help"])
        assert exited.value.code == 0
        assert "usage: neariq-sms" in capsys.readouterr().out


def test_businesses_are_created_listed_changed_and_deactivated(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """create prints the id alone on its last line; list, set-plan and deactivate use it."""
    business_id = create_business(capsys)
    assert len(business_id) == 36
    status, lines, _ = run(capsys, "business", "list")
    assert status == 0
    assert any(business_id in line and "growth" in line and "yes" in line for line in lines)
    assert run(capsys, "business", "set-plan", business_id, "pro")[0] == 0
    assert run(capsys, "business", "deactivate", business_id)[0] == 0
    _, lines, _ = run(capsys, "business", "list")
    assert any(business_id in line and "pro" in line and " no " in line for line in lines)


def test_cli_errors_are_one_line_and_exit_1(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unknown ids, bad plans and missing files are reported in one line with status 1."""
    for argv in [
        ("business", "set-plan", "no-such-id", "pro"),
        ("business", "create", "--name", "X", "--plan", "platinum"),
        ("session", "create", "--business", "no-such-id"),
        ("consent", "import", "/no/such/file.csv", "--business", "x"),
        ("consent", "export", "--business", "no-such-id"),
        ("dispatch",),
    ]:
        status, _, err = run(capsys, *argv)
        assert status == 1, argv
        assert err.startswith("neariq-sms: ")
        assert len(err.strip().splitlines()) == 1


def test_a_session_is_printed_once_and_stored_hashed(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """session create prints neariq_session=<token> last; the token resolves to the business."""
    business_id = create_business(capsys)
    status, lines, _ = run(capsys, "session", "create", "--business", business_id)
    assert status == 0
    token = lines[-1].removeprefix("neariq_session=")
    uow = make_uow(database)
    assert resolve_session(token, uow=uow, clock=SystemClock()) == business_id
    assert token.encode() not in Path(database.removeprefix("sqlite:///")).read_bytes()


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    import neariq_sms

    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"neariq-sms {neariq_sms.__version__}\n"


def test_a_deactivated_business_is_reactivated_on_its_plan(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """reactivate undoes deactivate: sessions can be created for it again."""
    business_id = create_business(capsys, plan="pro")
    assert run(capsys, "business", "deactivate", business_id)[0] == 0
    assert run(capsys, "session", "create", "--business", business_id)[0] == 1
    status, lines, _ = run(capsys, "business", "reactivate", business_id)
    assert (status, lines) == (0, [f"{business_id} is active on pro"])
    assert run(capsys, "session", "create", "--business", business_id)[0] == 0
    status, _, err = run(capsys, "business", "reactivate", "no-such-id")
    assert status == 1
    assert "business_not_found" in err


def test_sessions_are_revoked_one_by_token_or_all_of_a_business(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """revoke TOKEN ends that session (the printed line is accepted as is);
    revoke --business ends every session of that business and no other's."""
    uow, clock = make_uow(database), SystemClock()
    shop, other = create_business(capsys), create_business(capsys)

    def session(business_id: str) -> str:
        lines = run(capsys, "session", "create", "--business", business_id)[1]
        return lines[-1]

    printed, second, third, others = session(shop), session(shop), session(shop), session(other)
    status, lines, _ = run(capsys, "session", "revoke", printed)
    assert (status, lines) == (0, ["revoked 1 session"])
    token = printed.removeprefix("neariq_session=")
    assert resolve_session(token, uow=uow, clock=clock) is None
    status, _, err = run(capsys, "session", "revoke", token)
    assert status == 1
    assert len(err.splitlines()) == 1
    assert "no session has that token" in err

    status, lines, _ = run(capsys, "session", "revoke", "--business", shop)
    assert (status, lines) == (0, [f"revoked 2 session(s) of business {shop}"])
    for line in (second, third):
        assert resolve_session(line.split("=", 1)[1], uow=uow, clock=clock) is None
    assert resolve_session(others.split("=", 1)[1], uow=uow, clock=clock) == other


def test_consent_import_accepts_common_headers_and_reports_rejects(
    database: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Mobile / Consent Date / Source headers; counts printed; rejects written beside the file."""
    business_id = create_business(capsys)
    source = tmp_path / "contacts.csv"
    source.write_text(
        "Name,Mobile,Consent Date,Source\n"
        "Jane,(555) 765-4321,2026-01-05,web_form\n"
        "Ana,+1 555 765 0001,,\n"
        "Bad,not a phone,2026-01-05,paper\n"
        "Late,+15557650002,2999-01-01,paper\n"
        "Jane again,555-765-4321,2025-12-01,paper\n"
        ",,,\n",
        encoding="utf-8",
    )
    status, lines, err = run(capsys, "consent", "import", str(source), "--business", business_id)
    assert status == 0
    assert err == ""  # not a terminal: no progress bar
    counts = dict(line.split(maxsplit=1) for line in lines[:4])
    assert counts == {"imported": "2", "updated": "0", "skipped": "1", "rejected": "2"}
    rejected = list(csv.reader((tmp_path / "contacts.rejected.csv").open()))
    assert rejected[0] == ["Name", "Mobile", "Consent Date", "Source", "line", "reason"]
    assert [row[0] for row in rejected[1:]] == ["Bad", "Late"]
    assert rejected[1][-1].startswith("invalid_phone")
    assert rejected[2][-1].startswith("invalid_field")

    status, lines, _ = run(capsys, "consent", "export", "--business", business_id)
    exported = list(csv.DictReader(io.StringIO("\n".join(lines))))
    assert [(r["phone"], r["source"], r["opted_out"]) for r in exported] == [
        ("+15557650001", "import", "false"),
        ("+15557654321", "web_form", "false"),
    ]
    assert exported[1]["consented_at"] == "2026-01-05T00:00:00Z"


def test_consent_import_without_a_phone_column_fails_clearly(
    database: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A file without any known phone header is refused before anything is written."""
    business_id = create_business(capsys)
    source = tmp_path / "x.csv"
    source.write_text("name,email\nJane,j@example.com\n")
    status, _, err = run(capsys, "consent", "import", str(source), "--business", business_id)
    assert status == 1
    assert "phone column" in err


def test_a_large_import_streams_with_a_progress_bar_on_a_terminal(
    database: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Thousands of rows through the real command: a progress bar on a TTY, exact counts."""
    business_id = create_business(capsys)
    source = tmp_path / "big.csv"
    with source.open("w") as handle:
        handle.write("phone_number,consented_at\n")
        for i in range(5000):
            handle.write(f"+1555{2_000_000 + i:07d},2026-01-0{1 + i % 9}\n")
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [*neariq_sms_command(), "consent", "import", str(source), "--business", business_id],
            env=clean_env(database),
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=120,
            check=False,
        )
        os.close(follower)
        follower = -1
        progress = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            progress += chunk
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    assert done.returncode == 0, done.stdout
    assert "imported 5000" in done.stdout
    assert b"importing [" in progress
    assert b"100%" in progress


# --- serve: the sandbox's public webhook token stays on loopback ------------------------


#: Binds every IPv4 interface: what the sandbox must refuse without a token of its own.
ANY_ADDRESS = "0.0.0.0"  # noqa: S104


class _Served(Exception):
    """Raised instead of starting waitress: serve got past its checks."""


@pytest.fixture
def no_waitress(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the host serve would bind instead of serving forever."""
    import waitress

    bound: list[str] = []

    def create_server(app: object, *, host: str, port: int, threads: int) -> object:
        bound.append(host)
        raise _Served()

    monkeypatch.setattr(waitress, "create_server", create_server)
    return bound


@pytest.mark.parametrize("host", [ANY_ADDRESS, "::", "192.168.1.20", "example.com", ""])
def test_the_sandbox_refuses_a_public_address_without_an_auth_token(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    no_waitress: list[str],
    host: str,
) -> None:
    """Its webhooks would verify with a token anyone can read: exit 2, TWILIO_AUTH_TOKEN named,
    nothing bound and no database created."""
    for name in list(os.environ):
        if name.startswith(("NEARIQ_SMS_", "TWILIO_")):
            monkeypatch.delenv(name)
    database = tmp_path / "never.db"
    monkeypatch.setenv("NEARIQ_SMS_DATABASE_URL", f"sqlite:///{database}")
    status, _, err = run(capsys, "serve", "--sandbox", "--host", host, "--port", "0")
    assert status == 2
    assert err.startswith("neariq-sms: ")
    assert "TWILIO_AUTH_TOKEN" in err
    assert len(err.strip().splitlines()) == 1
    assert no_waitress == []
    assert not database.exists()


@pytest.mark.parametrize(
    ("host", "token"),
    [
        ("127.0.0.1", None),
        ("127.8.9.10", None),
        ("::1", None),
        ("localhost", None),
        (ANY_ADDRESS, "a-secret-of-my-own"),
    ],
)
def test_the_sandbox_serves_on_loopback_or_with_an_auth_token(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_waitress: list[str],
    host: str,
    token: str | None,
) -> None:
    """Loopback hosts need no token; any host may serve once TWILIO_AUTH_TOKEN is set."""
    for name in list(os.environ):
        if name.startswith(("NEARIQ_SMS_", "TWILIO_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NEARIQ_SMS_DATABASE_URL", f"sqlite:///{tmp_path / 'sandbox.db'}")
    if token:
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", token)
    with pytest.raises(_Served):
        main(["serve", "--sandbox", "--host", host, "--port", "0"])
    assert no_waitress == [host]


def test_without_the_sandbox_any_host_may_be_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_waitress: list[str]
) -> None:
    """Only the sandbox has a public token: an unconfigured server verifies no webhooks."""
    for name in list(os.environ):
        if name.startswith(("NEARIQ_SMS_", "TWILIO_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("NEARIQ_SMS_DATABASE_URL", f"sqlite:///{tmp_path / 'plain.db'}")
    with pytest.raises(_Served):
        main(["serve", "--host", ANY_ADDRESS, "--port", "0"])
    assert no_waitress == [ANY_ADDRESS]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("memory://", "memory://"),
        ("sqlite:///var/lib/sms.db", "sqlite:///var/lib/sms.db"),
        (
            "postgresql+psycopg://sms:s3cr%40t@db:5432/sms?sslmode=require",
            "postgresql+psycopg://sms:***@db:5432/sms?sslmode=require",
        ),
        ("postgresql+psycopg://sms@db/sms", "postgresql+psycopg://sms@db/sms"),
        ("postgresql://u:p@ss:w@db/x", "postgresql://***"),
    ],
)
def test_database_urls_are_printed_without_their_password(url: str, shown: str) -> None:
    """SQLAlchemy renders the URL with the password masked; what it cannot parse shows its
    scheme only."""
    assert safe_url(url) == shown


def test_the_sandbox_demo_resubscribes_its_customer_after_a_stop_by_text() -> None:
    """A STOP by text is locked against the dashboard; the sandbox demo's reset is the
    simulated customer's START, so ``serve --sandbox --demo`` still starts."""
    from neariq_sms import usecases as uc
    from neariq_sms.adapters.memory import InMemoryUnitOfWork, ManualClock, SimulatedTelephony
    from neariq_sms.cli.serve import DEMO_BUSINESS_ID, DEMO_CUSTOMER, prepare_demo
    from neariq_sms.config import Services
    from neariq_sms.domain import Policy
    from tests.conftest import NOON_IN_AUSTIN

    services = Services(
        uow=InMemoryUnitOfWork(),
        telephony=SimulatedTelephony(),
        clock=ManualClock(NOON_IN_AUSTIN),
        policy=Policy(),
    )
    prepare_demo(services, sandbox=True)
    deps = {"uow": services.uow, "telephony": services.telephony, "clock": services.clock}
    uc.provision_number(DEMO_BUSINESS_ID, "+15125550123", **deps)
    uc.handle_inbound_message(
        "+15125550123", DEMO_CUSTOMER, "STOP", uow=services.uow, clock=services.clock
    )
    prepare_demo(services, sandbox=True)
    record = uc.get_consent(DEMO_BUSINESS_ID, DEMO_CUSTOMER, uow=services.uow)
    assert record is not None
    assert record.allows_sending
