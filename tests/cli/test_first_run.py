"""The CLI as a new user meets it: a real ``neariq-sms`` process in a fresh, empty directory.

Every failure a user can cause is one line on stderr saying what to do next, with
exit status 1 (2 for a usage error), and never a traceback.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
import sqlalchemy as sa

from neariq_sms.adapters.sql import SchemaState, make_engine, schema_state, upgrade
from neariq_sms.adapters.sql.migrate import alembic_config
from tests.http.live import neariq_sms_command

UNKNOWN_BUSINESS = "00000000-0000-4000-8000-000000000000"


def run(
    *argv: str, cwd: Path, database_url: str | None = None, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """``neariq-sms ARGV`` in ``cwd`` with no SMS or Twilio configuration but what is given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEARIQ_SMS_", "TWILIO_"))}
    if database_url is not None:
        env["NEARIQ_SMS_DATABASE_URL"] = database_url
    env.update(extra_env)
    return subprocess.run(
        [*neariq_sms_command(), *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_one_line_error(
    done: subprocess.CompletedProcess[str], *words: str, status: int = 1
) -> str:
    """Exit ``status``, nothing on stdout, one ``neariq-sms:`` line on stderr naming ``words``."""
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == status, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    [line] = lines
    if status == 1:
        assert line.startswith("neariq-sms: "), line
    for word in words:
        assert word in line, line
    return line


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    """An empty directory, as a new user's first working directory."""
    folder = tmp_path / "fresh"
    folder.mkdir()
    (folder / "contacts.csv").write_text("phone\n+15557654321\n", encoding="utf-8")
    return folder


# --- a new SQLite file is migrated by whichever command comes first ------------------


@pytest.mark.parametrize(
    ("argv", "status", "words"),
    [
        (("business", "create", "--name", "Aster Grove", "--plan", "growth"), 0, ()),
        (("business", "list"), 0, ()),
        (
            ("session", "create", "--business", UNKNOWN_BUSINESS),
            1,
            ("business_not_found", "business list"),
        ),
        (
            ("consent", "import", "contacts.csv", "--business", UNKNOWN_BUSINESS),
            1,
            ("business_not_found",),
        ),
        (("consent", "export", "--business", UNKNOWN_BUSINESS), 1, ("business_not_found",)),
        (("dispatch",), 1, ("sms_not_configured", "TWILIO_ACCOUNT_SID")),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else None,
)
def test_every_command_runs_in_a_fresh_directory(
    fresh: Path, argv: tuple[str, ...], status: int, words: tuple[str, ...]
) -> None:
    """Before ``db upgrade`` ever ran: the default ./neariq_sms.db is created and migrated;
    the command answers as on a migrated database (a one-line error for an unknown id)."""
    done = run(*argv, cwd=fresh)
    if status == 0:
        assert (done.returncode, done.stderr) == (0, "")
    else:
        assert_one_line_error(done, *words, status=status)
    engine = make_engine(f"sqlite:///{fresh / 'neariq_sms.db'}")
    try:
        assert schema_state(engine).state is SchemaState.CURRENT
    finally:
        engine.dispose()


def test_a_new_user_can_create_a_business_and_sign_in_without_db_upgrade(fresh: Path) -> None:
    """The README's operator path, in the order a user tries it."""
    created = run("business", "create", "--name", "Aster Grove", "--plan", "growth", cwd=fresh)
    assert created.returncode == 0, created.stderr
    business_id = created.stdout.splitlines()[-1]
    session = run("session", "create", "--business", business_id, cwd=fresh)
    assert session.returncode == 0, session.stderr
    assert session.stdout.splitlines()[-1].startswith("neariq_session=")


# --- configuration a user gets wrong ---------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def without_psycopg(tmp_path: Path) -> dict[str, str]:
    """An interpreter on which ``import psycopg`` fails, as without the postgres extra."""
    site = tmp_path / "no-psycopg"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\nsys.modules['psycopg'] = None\nsys.modules['psycopg2'] = None\n"
    )
    return {"PYTHONPATH": str(site)}


BAD_URLS = {
    "garbage": ("not a url at all", ("NEARIQ_SMS_DATABASE_URL", "sqlite:///")),
    "unsupported backend": ("mysql://sms@db.internal/sms", ("mysql", "SQLite or PostgreSQL")),
    "folder missing": ("sqlite:///no/such/folder/sms.db", ("no/such/folder", "does not exist")),
    "postgres unreachable": (
        "postgresql+psycopg://sms@127.0.0.1:{port}/sms",
        ("cannot open the database", "NEARIQ_SMS_DATABASE_URL"),
    ),
    "postgres without psycopg": (
        "postgresql+psycopg://sms@127.0.0.1:{port}/sms",
        ("psycopg", "postgres extra", "pip install -e '.[server,postgres]'"),
    ),
}


@pytest.mark.parametrize(
    ("case", "argv"),
    [
        *((case, ("business", "list")) for case in sorted(BAD_URLS)),
        *(
            (case, argv)
            for case in ("garbage", "folder missing", "postgres without psycopg")
            for argv in (("db", "upgrade"), ("serve", "--port", "0"))
        ),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, tuple) else v,
)
def test_a_bad_database_url_is_one_line_saying_what_to_fix(
    fresh: Path, without_psycopg: dict[str, str], case: str, argv: tuple[str, ...]
) -> None:
    """Garbage, a backend we do not run on, a missing folder, a server that is not there,
    the driver not installed: one line each, exit 1, nothing created."""
    url, words = BAD_URLS[case]
    extra = without_psycopg if case == "postgres without psycopg" else {}
    done = run(*argv, cwd=fresh, database_url=url.format(port=_closed_port()), **extra)
    assert_one_line_error(done, *words)
    assert sorted(p.name for p in fresh.iterdir()) == ["contacts.csv"]


@pytest.mark.parametrize(
    "argv",
    [
        ("session", "create", "--business", UNKNOWN_BUSINESS),
        ("consent", "import", "contacts.csv", "--business", UNKNOWN_BUSINESS),
        ("consent", "export", "--business", UNKNOWN_BUSINESS),
        ("dispatch",),
        ("reconcile",),
    ],
    ids=" ".join,
)
def test_every_storage_command_reports_a_bad_url_in_one_line(
    fresh: Path, argv: tuple[str, ...]
) -> None:
    done = run(*argv, cwd=fresh, database_url="not a url at all")
    assert_one_line_error(done, "NEARIQ_SMS_DATABASE_URL")


# --- databases at another schema: migrate only what is safe to migrate ---------------


def _sqlite(folder: Path, name: str = "sms.db") -> tuple[str, sa.Engine]:
    url = f"sqlite:///{folder / name}"
    return url, make_engine(url)


def test_a_database_of_a_newer_release_is_refused(fresh: Path) -> None:
    url, engine = _sqlite(fresh)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    for argv in (("business", "list"), ("db", "upgrade")):
        done = run(*argv, cwd=fresh, database_url=url)
        assert_one_line_error(done, "9999_future", "newer release")


def test_a_database_of_another_application_is_left_alone(fresh: Path) -> None:
    url, engine = _sqlite(fresh)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    for argv in (("business", "list"), ("db", "upgrade")):
        done = run(*argv, cwd=fresh, database_url=url)
        assert_one_line_error(done, "no neariq-sms schema")
    engine = make_engine(url)
    assert sa.inspect(engine).get_table_names() == ["invoices"]
    engine.dispose()


def test_a_database_at_an_older_revision_asks_for_db_upgrade(fresh: Path) -> None:
    """Only a new file is migrated as a side effect: an existing database waits for the
    operator's ``db upgrade``, which then brings it up."""
    from alembic.script import ScriptDirectory

    revisions = [r.revision for r in ScriptDirectory.from_config(alembic_config()).walk_revisions()]
    if len(revisions) < 2:
        pytest.skip("one migration only: no older revision to be at")
    url, engine = _sqlite(fresh)
    upgrade(engine, revisions[-1])  # the oldest
    engine.dispose()
    done = run("business", "list", cwd=fresh, database_url=url)
    assert_one_line_error(done, revisions[-1], "neariq-sms db upgrade")
    assert run("db", "upgrade", cwd=fresh, database_url=url).returncode == 0
    assert run("business", "list", cwd=fresh, database_url=url).returncode == 0


@pytest.fixture
def empty_postgres_schema() -> Iterator[str]:
    """A URL whose search path is a new, empty PostgreSQL schema."""
    from tests.sql.backends import POSTGRES_URL_VAR

    base = os.environ.get(POSTGRES_URL_VAR)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_URL_VAR} is not set")
        pytest.skip(f"{POSTGRES_URL_VAR} is not set")
    schema = f"cli_first_run_{os.getpid()}"
    engine = make_engine(base)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()


@pytest.mark.postgres
def test_postgres_is_never_migrated_as_a_side_effect(
    fresh: Path, empty_postgres_schema: str
) -> None:
    """A shared database is migrated by the operator: commands say to run db upgrade."""
    url = empty_postgres_schema
    done = run("business", "list", cwd=fresh, database_url=url)
    assert_one_line_error(done, "no neariq-sms tables", "neariq-sms db upgrade")
    upgraded = run("db", "upgrade", cwd=fresh, database_url=url)
    assert upgraded.returncode == 0, upgraded.stderr
    listed = run("business", "list", cwd=fresh, database_url=url)
    assert (listed.returncode, listed.stderr) == (0, "")


# --- serve ------------------------------------------------------------------------------


def test_serve_on_a_port_in_use_says_so(fresh: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run("serve", "--port", str(port), cwd=fresh)
    assert_one_line_error(done, f"127.0.0.1:{port}", "in use", "--port")
    assert not (fresh / "neariq_sms.db").exists()  # it stopped before touching storage


@pytest.mark.parametrize("port", ["99999", "-1", "eighty"])
def test_serve_refuses_a_port_that_is_not_one(fresh: Path, port: str) -> None:
    """argparse's usage error (exit 2), instead of waitress wrapping 99999 to 34463."""
    done = run("serve", "--port", port, cwd=fresh)
    assert "Traceback" not in done.stderr
    assert done.returncode == 2
    assert "--port" in done.stderr.splitlines()[-1]


def test_serve_on_a_host_that_is_not_this_machine_says_so(fresh: Path) -> None:
    done = run("serve", "--host", "no-such-host.invalid", "--port", "0", cwd=fresh)
    assert_one_line_error(done, "no-such-host.invalid", "--host")


def test_serve_on_ipv6_loopback_prints_urls_that_work(fresh: Path) -> None:
    """``--host ::1 --port 0``: the bound port, the address in brackets, in the first line
    and the curl lines alike; webhooks verify against that same bracketed URL."""
    from twilio.request_validator import RequestValidator

    from neariq_sms.config import SANDBOX_AUTH_TOKEN
    from tests.http.live import LiveServer
    from tests.http.test_demo import printed_commands, run_curl

    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEARIQ_SMS_", "TWILIO_"))}
    process = subprocess.Popen(
        [*neariq_sms_command(), "serve", "--host", "::1", "--port", "0", "--sandbox", "--demo"],
        cwd=fresh,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    server = LiveServer("", f"sqlite:///{fresh / 'neariq_sms.db'}", env, process)
    server._drainer = threading.Thread(target=server._drain, daemon=True)
    server._drainer.start()
    try:
        first = server.wait_output(lambda out: bool(out), timeout=60)[0]
        match = re.match(r"neariq-sms serving (http://\[::1\]:(\d+)) ", first)
        assert match, first
        base_url, port = match.group(1), int(match.group(2))
        assert port != 0
        server.base_url = base_url
        _, commands = printed_commands(server)
        assert all(f'"{base_url}/api/sms' in c for c in commands)
        status = run_curl(commands[0])
        assert status["configured"] is True

        path = "/api/sms/webhooks/twilio/inbound"
        params = {
            "To": "+15125550123",
            "From": "+15557654321",
            "Body": "HELP",
            "MessageSid": "SM" + "a" * 32,
        }
        signature = RequestValidator(SANDBOX_AUTH_TOKEN).compute_signature(base_url + path, params)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        signed = httpx.post(
            base_url + path,
            content=urlencode(params).encode(),
            headers={**form, "X-Twilio-Signature": signature},
        )
        assert signed.status_code == 200, signed.text
        forged = httpx.post(
            base_url + path,
            content=urlencode(params).encode(),
            headers={**form, "X-Twilio-Signature": "bad"},
        )
        assert forged.status_code == 403
    finally:
        server.stop()
