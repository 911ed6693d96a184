"""The ``neariq-sms`` command: the reference server and the operator's tools.

Commands (``neariq-sms COMMAND --help`` for each): ``serve``, ``db upgrade``,
``business create|list|set-plan|deactivate``, ``session create``,
``consent import|export``, ``dispatch`` and ``reconcile``. Configuration comes from the
environment (see :class:`neariq_sms.config.Settings`).
"""

from __future__ import annotations

import argparse
import csv
import io
import ipaddress
import logging
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any, TextIO

import attrs

from neariq_sms import usecases as uc
from neariq_sms.config import Services, Settings, build_services, upgrade_database
from neariq_sms.domain.errors import SmsError
from neariq_sms.usecases import ConsentRow, RejectedRow

log = logging.getLogger("neariq_sms.cli")

DEMO_BUSINESS_ID = "5d49faca-17f3-45f6-a0ef-60bd93754771"
DEMO_BUSINESS_NAME = "Aster Grove Fitness"
DEMO_REVIEW_URL = "https://example.com/r/aster-grove-fitness"
DEMO_CUSTOMER = "+15557654321"
DEMO_NUMBER = "+15125550123"

#: Header names ``consent import`` understands, after lower-casing and turning
#: spaces and dashes into underscores.
PHONE_HEADERS = (
    "phone",
    "phone_number",
    "mobile",
    "mobile_number",
    "mobile_phone",
    "cell",
    "number",
)
CONSENTED_AT_HEADERS = (
    "consented_at",
    "consent_date",
    "consented_on",
    "consent_time",
    "opted_in_at",
)
SOURCE_HEADERS = ("source", "consent_source")


class CliError(Exception):
    """A failure to report in one line, with exit status 1 unless given another."""

    def __init__(self, message: str, *, exit_status: int = 1) -> None:
        super().__init__(message)
        self.exit_status = exit_status


def _print(*lines: str, file: TextIO | None = None) -> None:
    out = file or sys.stdout
    for line in lines:
        print(line, file=out)
    out.flush()


def _safe_url(url: str) -> str:
    """A database URL fit to print: SQLAlchemy's rendering, the password masked.

    ``memory://`` prints as given; a URL SQLAlchemy cannot parse (or read at
    all, without the ``[sql]`` extra) prints its scheme only.
    """
    if url.startswith("memory:"):
        return url
    scheme_only = url.partition(":")[0] + "://***"
    try:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError
    except ImportError:
        return scheme_only
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return scheme_only


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and the loopback addresses (127.0.0.0/8, ``::1``)."""
    name = host.strip()
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


def _services(settings: Settings, **kwargs: Any) -> Services:
    try:
        return build_services(settings, **kwargs)
    except ModuleNotFoundError as exc:
        raise CliError(
            f"a dependency is missing ({exc.name}); install the server extra:"
            " pip install 'neariq-sms[server]'"
        ) from None


# --- serve ---------------------------------------------------------------------


def _demo_policy_settings(settings: Settings) -> tuple[Settings, list[str]]:
    """The sandbox demo answers ``queued`` at any hour and on every rerun.

    Quiet hours would answer ``scheduled`` at night and the cooldown ``429``
    from the second run on; both stay as configured when set explicitly.
    """
    notes = []
    if "NEARIQ_SMS_QUIET_HOURS" not in settings.explicit:
        settings = attrs.evolve(settings, quiet_hours=None)
        notes.append("quiet hours off")
    if "NEARIQ_SMS_REVIEW_COOLDOWN_DAYS" not in settings.explicit:
        settings = attrs.evolve(settings, review_cooldown_days=0)
        notes.append("review cooldown off")
    return settings, notes


def prepare_demo(services: Services, *, sandbox: bool) -> str:
    """Create (if absent) the demo business and its customer's consent; return a session token.

    In the sandbox the demo business is also reset to what the spec's curl
    lines expect: Growth plan, no number held, the customer subscribed.
    """
    from neariq_sms.adapters.http.sessions import create_session

    s = services
    deps: dict[str, Any] = {"uow": s.uow, "telephony": s.telephony, "clock": s.clock}
    with s.uow:
        business = s.uow.businesses.get(DEMO_BUSINESS_ID)
    if business is None:
        business = uc.create_business(
            DEMO_BUSINESS_NAME,
            "growth",
            uow=s.uow,
            clock=s.clock,
            review_url=DEMO_REVIEW_URL,
            timezone="America/Chicago",
            business_id=DEMO_BUSINESS_ID,
        )
    if not business.active:
        raise CliError("the demo business was deactivated in this database; use a fresh one")
    if not business.plan.includes_sms:
        uc.change_plan(business.id, "growth", uow=s.uow)
    if sandbox:
        status = uc.get_status(business.id, **deps, policy=s.policy)
        if status.number is not None:
            uc.release_number(business.id, **deps)
    record = uc.get_consent(business.id, DEMO_CUSTOMER, uow=s.uow, policy=s.policy)
    if record is None:
        uc.record_consent(
            business.id, DEMO_CUSTOMER, "point_of_sale", uow=s.uow, clock=s.clock, policy=s.policy
        )
    elif record.opted_out and sandbox:
        uc.opt_in(business.id, DEMO_CUSTOMER, "demo", uow=s.uow, clock=s.clock, policy=s.policy)
    return create_session(business.id, uow=s.uow, clock=s.clock)


def demo_curl_lines(base_url: str, token: str) -> list[str]:
    """The spec's curl lines, for the local URL and a real session cookie."""
    cookie = f'  -H "Cookie: neariq_session={token}"'
    post = ['curl -X POST "{url}/api/sms" \\', '  -H "Content-Type: application/json" \\']

    def post_lines(data: str) -> list[str]:
        return [
            post[0].format(url=base_url),
            post[1],
            cookie + " \\",
            f"  -d '{data}'",
        ]

    return [
        f'curl "{base_url}/api/sms" \\',
        cookie,
        "",
        f'curl "{base_url}/api/sms?action=search&areaCode=512" \\',
        cookie,
        "",
        *post_lines(f'{{ "action": "provision", "phoneNumber": "{DEMO_NUMBER}" }}'),
        "",
        *post_lines(
            '{ "action": "send_review_request", "to": "'
            + DEMO_CUSTOMER
            + '", "customerName": "Jane" }'
        ),
        "",
        *post_lines('{ "action": "release" }'),
    ]


def cmd_serve(args: argparse.Namespace) -> int:
    from waitress import create_server

    from neariq_sms.adapters.http import make_wsgi_app

    settings = Settings.from_env()
    if args.sandbox and settings.twilio_auth_token is None and not is_loopback_host(args.host):
        raise CliError(
            f"refusing to serve the sandbox on {args.host or 'every address'}: without"
            " TWILIO_AUTH_TOKEN it signs webhooks with a public token, so anyone who can reach"
            " the server could forge them. Set TWILIO_AUTH_TOKEN to a secret of your own,"
            " or bind a loopback address (--host 127.0.0.1).",
            exit_status=2,
        )
    notes: list[str] = []
    if args.demo and args.sandbox:
        settings, notes = _demo_policy_settings(settings)
    upgrade_database(settings.database_url)
    local_host = "127.0.0.1" if args.host in ("0.0.0.0", "::", "") else args.host  # noqa: S104
    base_url = f"http://{local_host}:{args.port}"
    services = _services(settings, sandbox=args.sandbox, public_url=base_url)
    provider = "sandbox" if args.sandbox else ("twilio" if settings.twilio_configured else "none")

    server = create_server(make_wsgi_app(services), host=args.host, port=args.port, threads=8)
    _print(
        f"neariq-sms serving {base_url} (provider: {provider},"
        f" database: {_safe_url(settings.database_url)})"
    )
    if not services.telephony.configured:
        _print(
            "# SMS is not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or --sandbox"
        )
    if args.demo:
        token = prepare_demo(services, sandbox=args.sandbox)
        if notes:
            _print(
                f"# sandbox demo: {' and '.join(notes)} so that every line answers as the spec"
                " shows (set NEARIQ_SMS_QUIET_HOURS / NEARIQ_SMS_REVIEW_COOLDOWN_DAYS to keep them)"
            )
        _print(f"Cookie: neariq_session={token}", "", *demo_curl_lines(base_url, token), "")
    stop = threading.Event()
    if args.sandbox:
        # The sandbox provider lives in this process, so `neariq-sms dispatch` cannot
        # reach it: the sandbox sends its own scheduled messages.
        threading.Thread(
            target=_dispatch_loop, args=(services, stop), name="sandbox-dispatch", daemon=True
        ).start()
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.close()
    return 0


SANDBOX_DISPATCH_SECONDS = 30.0


def _dispatch_loop(services: Services, stop: threading.Event) -> None:
    while not stop.wait(SANDBOX_DISPATCH_SECONDS):
        try:
            uc.dispatch_due(uow=services.uow, telephony=services.telephony, clock=services.clock)
        except Exception:
            log.exception("sandbox dispatch failed; retrying in %s s", SANDBOX_DISPATCH_SECONDS)


# --- db, business, session -----------------------------------------------------------


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    upgrade_database(settings.database_url)
    _print(f"database {_safe_url(settings.database_url)} is up to date")
    return 0


def _storage_services() -> Services:
    return _services(Settings.from_env())


def cmd_business_create(args: argparse.Namespace) -> int:
    s = _storage_services()
    business = uc.create_business(
        args.name,
        args.plan,
        uow=s.uow,
        clock=s.clock,
        review_url=args.review_url,
        timezone=args.timezone,
    )
    _print(f"created {business.name} ({business.plan.value})", business.id)
    return 0


def cmd_business_list(args: argparse.Namespace) -> int:
    s = _storage_services()
    rows = [("id", "plan", "active", "name")]
    for b in uc.list_businesses(uow=s.uow):
        rows.append((b.id, b.plan.value, "yes" if b.active else "no", b.name))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        _print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    return 0


def cmd_business_set_plan(args: argparse.Namespace) -> int:
    s = _storage_services()
    business = uc.change_plan(args.id, args.plan, uow=s.uow)
    _print(f"{business.id} is on {business.plan.value}")
    return 0


def cmd_business_deactivate(args: argparse.Namespace) -> int:
    s = _storage_services()
    business = uc.deactivate_business(args.id, uow=s.uow, clock=s.clock, telephony=s.telephony)
    _print(f"{business.id} is deactivated")
    return 0


def cmd_session_create(args: argparse.Namespace) -> int:
    from neariq_sms.adapters.http.sessions import create_session

    s = _storage_services()
    token = create_session(args.business, uow=s.uow, clock=s.clock)
    _print(f"neariq_session={token}")
    return 0


# --- consent import / export ---------------------------------------------------------


def _normalise_header(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _pick(headers: Sequence[str], candidates: Sequence[str]) -> int | None:
    normalised = [_normalise_header(h) for h in headers]
    for wanted in candidates:
        if wanted in normalised:
            return normalised.index(wanted)
    return None


class _CountingReader(io.RawIOBase):
    """Counts the bytes read from a binary file (for the progress bar)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


class _Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, total_bytes: int, counter: _CountingReader) -> None:
        self.enabled = sys.stderr.isatty()
        self.total = max(total_bytes, 1)
        self.counter = counter
        self._last = 0.0

    def update(self, rows: int, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.2:
            return
        self._last = now
        share = min(self.counter.count / self.total, 1.0)
        bar = "#" * int(share * 30)
        sys.stderr.write(f"\rimporting [{bar:<30}] {share:4.0%} {rows:,} rows")
        sys.stderr.flush()

    def done(self, rows: int) -> None:
        if self.enabled:
            self.update(rows, force=True)
            sys.stderr.write("\n")
            sys.stderr.flush()


def rejected_path(path: Path) -> Path:
    """Where ``consent import`` writes the rejected rows of ``path``."""
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return path.with_name(f"{stem}.rejected.csv")


def cmd_consent_import(args: argparse.Namespace) -> int:
    s = _storage_services()
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    reject_file = rejected_path(path)
    batch_size = 1000
    with path.open("rb") as raw:
        counter = _CountingReader(raw)
        text = io.TextIOWrapper(
            io.BufferedReader(counter), encoding="utf-8-sig", errors="replace", newline=""
        )
        reader = csv.reader(text)
        try:
            header = next(reader)
        except StopIteration:
            raise CliError(f"{path} is empty") from None
        except csv.Error as exc:
            raise CliError(f"{path} is not a readable CSV file: {exc}") from None
        phone_col = _pick(header, PHONE_HEADERS)
        if phone_col is None:
            raise CliError(f"{path} has no phone column; name one of: {', '.join(PHONE_HEADERS)}")
        at_col = _pick(header, CONSENTED_AT_HEADERS)
        source_col = _pick(header, SOURCE_HEADERS)
        progress = _Progress(path.stat().st_size, counter)
        # Rows read ahead of the current batch, kept to write a rejected row as it came.
        recent: OrderedDict[int, list[str]] = OrderedDict()
        writer_state: dict[str, Any] = {}
        rows_read = 0

        def column(row: list[str], index: int | None) -> str | None:
            return row[index] if index is not None and index < len(row) else None

        def rows() -> Iterator[ConsentRow]:
            nonlocal rows_read
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise CliError(f"{path}, line {reader.line_num}: {exc}") from None
                if not any(cell.strip() for cell in row):
                    continue
                rows_read += 1
                line = reader.line_num
                recent[line] = row
                while len(recent) > 2 * batch_size:
                    recent.popitem(last=False)
                progress.update(rows_read)
                yield ConsentRow(
                    line=line,
                    phone=column(row, phone_col),
                    consented_at=column(row, at_col),
                    source=column(row, source_col),
                )

        def on_reject(rejected: RejectedRow) -> None:
            if "writer" not in writer_state:
                handle = reject_file.open("w", newline="", encoding="utf-8")
                writer_state["file"] = handle
                writer_state["writer"] = csv.writer(handle)
                writer_state["writer"].writerow([*header, "line", "reason"])
            original = recent.pop(rejected.row.line, None) or [str(rejected.row.phone or "")]
            writer_state["writer"].writerow(
                [*original, rejected.row.line, f"{rejected.code}: {rejected.reason}"]
            )

        try:
            report = uc.import_consents(
                args.business,
                rows(),
                uow=s.uow,
                clock=s.clock,
                source=args.source,
                policy=s.policy,
                batch_size=batch_size,
                on_reject=on_reject,
            )
        finally:
            if "file" in writer_state:
                writer_state["file"].close()
            progress.done(rows_read)
    if report.rejected == 0 and reject_file.exists():
        reject_file.unlink()  # a stale report of an earlier run of this very file
    _print(
        f"imported {report.imported}",
        f"updated  {report.updated}",
        f"skipped  {report.skipped}",
        f"rejected {report.rejected}",
    )
    if report.rejected:
        _print(f"rejected rows and their reasons: {reject_file}")
    return 0


def cmd_consent_export(args: argparse.Namespace) -> int:
    from neariq_sms.adapters.http.serialise import iso_utc

    s = _storage_services()
    writer = csv.writer(sys.stdout)
    records = uc.export_consents(args.business, uow=s.uow)
    first = next(records, None)  # the business check runs before anything is written
    writer.writerow(
        ["phone", "source", "consented_at", "opted_out", "opted_out_at", "opt_out_source"]
    )
    if first is not None:
        for record in (first, *records):
            writer.writerow(
                [
                    record.phone.e164,
                    record.source,
                    iso_utc(record.consented_at) or "",
                    "true" if record.opted_out else "false",
                    iso_utc(record.opted_out_at) or "",
                    record.opt_out_source or "",
                ]
            )
    sys.stdout.flush()
    return 0


def cmd_dispatch(args: argparse.Namespace) -> int:
    s = _storage_services()
    batch = 100
    totals = [0, 0, 0]
    while True:
        report = uc.dispatch_due(uow=s.uow, telephony=s.telephony, clock=s.clock, limit=batch)
        handled = report.submitted + report.failed + report.canceled
        totals = [
            totals[0] + report.submitted,
            totals[1] + report.failed,
            totals[2] + report.canceled,
        ]
        if handled < batch:
            break
    _print(f"submitted {totals[0]}", f"failed    {totals[1]}", f"canceled  {totals[2]}")
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from datetime import timedelta

    if args.older_than < 0:
        raise CliError("--older-than must be zero or more seconds")
    s = _storage_services()
    report = uc.reconcile(
        uow=s.uow,
        telephony=s.telephony,
        clock=s.clock,
        older_than=timedelta(seconds=args.older_than),
        release_orphans=not args.report_only,
    )
    _print(*(r.describe() for r in report.resolutions), report.summary())
    return 1 if report.count("unresolved") else 0


# --- the parser ------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neariq-sms",
        description="The NearIQ SMS reference server and operator tools."
        " Configuration: NEARIQ_SMS_DATABASE_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,"
        " NEARIQ_SMS_PUBLIC_URL, NEARIQ_SMS_REVIEW_COOLDOWN_DAYS, NEARIQ_SMS_QUIET_HOURS.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="serve the HTTP contract (migrates the database first)",
        description="Serve /api/sms under waitress (threads), migrating the database first."
        " With --sandbox the server also sends its own scheduled messages every 30 s.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument(
        "--sandbox",
        action="store_true",
        help="use the built-in simulated SMS provider (on a non-loopback --host only with"
        " TWILIO_AUTH_TOKEN set: the sandbox's default webhook token is public)",
    )
    serve.add_argument(
        "--demo",
        action="store_true",
        help="create the demo business and print a session cookie and the spec's curl lines",
    )
    serve.set_defaults(func=cmd_serve)

    db = commands.add_parser("db", help="database maintenance", description="Database maintenance.")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade = db_commands.add_parser(
        "upgrade",
        help="apply migrations to the configured database",
        description="Apply migrations to NEARIQ_SMS_DATABASE_URL.",
    )
    upgrade.set_defaults(func=cmd_db_upgrade)

    business = commands.add_parser(
        "business", help="manage businesses", description="Manage businesses."
    )
    b_commands = business.add_subparsers(dest="business_command", required=True, metavar="COMMAND")
    create = b_commands.add_parser(
        "create",
        help="create a business; prints its id alone on the last line",
        description="Create an active business; its id is printed alone on the last line.",
    )
    create.add_argument("--name", required=True, help="the business's name")
    create.add_argument("--plan", required=True, help="free, starter, growth, pro or enterprise")
    create.add_argument("--review-url", help="the link review requests point to")
    create.add_argument(
        "--timezone",
        default="America/Chicago",
        help="IANA time zone, for recipients whose number maps to none (default America/Chicago)",
    )
    create.set_defaults(func=cmd_business_create)
    listing = b_commands.add_parser("list", help="list businesses", description="List businesses.")
    listing.set_defaults(func=cmd_business_list)
    set_plan = b_commands.add_parser(
        "set-plan", help="change a business's plan", description="Change a business's plan."
    )
    set_plan.add_argument("id", help="the business id")
    set_plan.add_argument("plan", help="free, starter, growth, pro or enterprise")
    set_plan.set_defaults(func=cmd_business_set_plan)
    deactivate = b_commands.add_parser(
        "deactivate",
        help="deactivate a business (releases its number)",
        description="Deactivate a business: its number is released when a provider is"
        " configured, its scheduled messages are canceled.",
    )
    deactivate.add_argument("id", help="the business id")
    deactivate.set_defaults(func=cmd_business_deactivate)

    session = commands.add_parser(
        "session", help="dashboard sessions", description="Dashboard sessions."
    )
    s_commands = session.add_subparsers(dest="session_command", required=True, metavar="COMMAND")
    s_create = s_commands.add_parser(
        "create",
        help="create a session; prints neariq_session=<token> on the last line",
        description="Create a dashboard session for a business (valid 30 days); the"
        " cookie neariq_session=<token> is printed on the last line. Only its hash is stored.",
    )
    s_create.add_argument("--business", required=True, help="the business id")
    s_create.set_defaults(func=cmd_session_create)

    consent = commands.add_parser(
        "consent", help="bulk consent import and export", description="Consent records in bulk."
    )
    c_commands = consent.add_subparsers(dest="consent_command", required=True, metavar="COMMAND")
    c_import = c_commands.add_parser(
        "import",
        help="import consent records from a CSV file",
        description="Import consent rows from a CSV file of any size. Columns (header names"
        f" in any case): phone ({'/'.join(PHONE_HEADERS)}), optional consented_at"
        f" ({'/'.join(CONSENTED_AT_HEADERS)}) and source ({'/'.join(SOURCE_HEADERS)})."
        " Rejected rows are written with their reason to FILE.rejected.csv; the counts"
        " are printed. An import never lifts an opt-out.",
    )
    c_import.add_argument("file", metavar="FILE.csv", help="the CSV file")
    c_import.add_argument("--business", required=True, help="the business id")
    c_import.add_argument(
        "--source", default="import", help="source for rows without one (default import)"
    )
    c_import.set_defaults(func=cmd_consent_import)
    c_export = c_commands.add_parser(
        "export",
        help="write the consent records as CSV to stdout",
        description="Write every consent record of a business, with its opt-out state,"
        " as CSV to stdout.",
    )
    c_export.add_argument("--business", required=True, help="the business id")
    c_export.set_defaults(func=cmd_consent_export)

    dispatch = commands.add_parser(
        "dispatch",
        help="send scheduled messages that are due",
        description="Send the scheduled messages that are due (for cron or a job runner)."
        " Safe to run often and from several hosts at once.",
    )
    dispatch.set_defaults(func=cmd_dispatch)

    reconcile = commands.add_parser(
        "reconcile",
        help="settle sends and purchases whose outcome a crash or a timeout left open",
        description="Ask the provider about messages left 'submitting' and number claims"
        " left 'pending' for longer than --older-than: a message the provider has gets"
        " its sid and status, one it never got is failed and its units given back; a"
        " claim is activated if the number was bought, else dropped. Numbers the provider"
        " holds with their webhook pointing here that no business holds are released."
        " Prints one line per message or number settled and a count line; exits 1 when"
        " the provider could not be asked about something. Safe to run repeatedly and"
        " alongside live traffic.",
    )
    reconcile.add_argument(
        "--older-than",
        type=float,
        default=900.0,
        metavar="SECONDS",
        help="only settle what has been open this long; must exceed the provider"
        " timeout (default 900)",
    )
    reconcile.add_argument(
        "--report-only",
        action="store_true",
        help="report numbers no business holds instead of releasing them",
    )
    reconcile.set_defaults(func=cmd_reconcile)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``neariq-sms``; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.command == "serve" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Alembic narrates its plugin setup at INFO: a server's log wants the migration only.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    try:
        status: int = args.func(args)
    except SmsError as exc:
        _print(f"neariq-sms: {exc.message} ({exc.code})", file=sys.stderr)
        return 1
    except CliError as exc:
        _print(f"neariq-sms: {exc}", file=sys.stderr)
        return exc.exit_status
    return status


if __name__ == "__main__":
    sys.exit(main())
