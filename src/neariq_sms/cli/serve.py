"""``neariq-sms serve``: the reference server, and the sandbox demo it can prepare."""

from __future__ import annotations

import argparse
import errno
import logging
import threading
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from neariq_sms import usecases as uc
from neariq_sms.cli.common import (
    CliError,
    Commands,
    build,
    emit,
    install_hint,
    is_loopback_host,
    safe_url,
)
from neariq_sms.cli.database import prepare_database
from neariq_sms.config import Services, Settings
from neariq_sms.domain.consent import KEYWORD
from neariq_sms.usecases._common import store_opt_in

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from neariq_sms.adapters.http.wsgi import SmsWsgiApp

log = logging.getLogger("neariq_sms.cli")

DEMO_BUSINESS_ID = "5d49faca-17f3-45f6-a0ef-60bd93754771"
DEMO_BUSINESS_NAME = "Aster Grove Fitness"
DEMO_REVIEW_URL = "https://example.com/r/aster-grove-fitness"
DEMO_CUSTOMER = "+15557654321"
DEMO_NUMBER = "+15125550123"


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


def _approve_demo_registration(s: Services, business_id: str) -> None:
    """The sandbox's demo business starts with an approved US sender registration (an
    adopted campaign on its own simulated Messaging Service), so its curl lines answer
    as documented also with ``NEARIQ_SMS_REGISTRATION=required``."""
    if s.registry is None or uc.get_registration(business_id, uow=s.uow) is not None:
        return
    service = "MG" + uuid.uuid5(uuid.NAMESPACE_URL, f"neariq-demo:{business_id}").hex
    request = {"kind": "existing", "messagingServiceSid": service}
    registration = uc.register_sender(
        business_id, request, uow=s.uow, registry=s.registry, clock=s.clock
    )
    uc.sync_registration(registration.id, uow=s.uow, registry=s.registry, clock=s.clock)


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
            business_id=DEMO_BUSINESS_ID,
        )
    if not business.active:
        raise CliError("the demo business was deactivated in this database; use a fresh one")
    if not business.plan.includes_sms:
        uc.change_plan(business.id, "growth", uow=s.uow)
    if sandbox:
        status = uc.get_status(business.id, **deps, policy=s.policy)
        if status.number is not None:
            uc.release_number(business.id, **deps, registry=s.registry)
        _approve_demo_registration(s, business.id)
    record = uc.get_consent(business.id, DEMO_CUSTOMER, uow=s.uow, policy=s.policy)
    if record is None:
        uc.record_consent(
            business.id, DEMO_CUSTOMER, "point_of_sale", uow=s.uow, clock=s.clock, policy=s.policy
        )
    elif record.opted_out and sandbox:
        # The sandbox's simulated customer texts START: the one opt-in that lifts
        # every opt-out, a STOP by text included (the dashboard's opt-in cannot).
        with s.uow:
            store_opt_in(s.uow, business.id, record.phone, source=KEYWORD, clock=s.clock)
            s.uow.commit()
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


def port_number(raw: str) -> int:
    """``--port``: 0-65535 (0 lets the system pick a free port)."""
    try:
        port = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {raw!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port: use 1-65535, or 0 for a free one")
    return port


def url_host(host: str) -> str:
    """``host`` as it goes into a URL: IPv6 literals in brackets, wildcards as loopback."""
    bare = host.strip().removeprefix("[").removesuffix("]")
    if bare in ("", "0.0.0.0"):  # noqa: S104 - a wildcard to replace, not one to bind
        return "127.0.0.1"
    if bare == "::":
        return "[::1]"
    return f"[{bare}]" if ":" in bare else bare


class _LateApp:
    """The WSGI app, set once the services are built after the port is bound.

    Binding comes first so that a port in use fails before anything touches the
    database; waitress accepts no request before ``run()``, by which time it is set.
    """

    def __init__(self) -> None:
        self.app: SmsWsgiApp | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        assert self.app is not None, "serve sets the app before it runs the server"
        return self.app(environ, start_response)


def _listen(host: str, port: int, app: _LateApp) -> Any:
    try:
        from waitress import create_server
    except ModuleNotFoundError:
        raise CliError(
            f"serve needs waitress, which is not installed: {install_hint('server')}"
        ) from None

    where = f"{url_host(host) if host else 'every address'}:{port}"
    try:
        return create_server(app, host=host, port=port, threads=8)
    except ValueError:
        # waitress's answer when the host does not resolve to an address to bind.
        raise CliError(
            f"cannot listen on {where}: {host!r} is not an address or name of this machine;"
            " check --host"
        ) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno == errno.EADDRINUSE:
            hint = "stop the other server or pick another --port"
        elif exc.errno == errno.EACCES:
            hint = "ports below 1024 need privileges: pick another --port"
        else:
            hint = "check --host (an address or name of this machine) and --port"
        raise CliError(f"cannot listen on {where}: {reason}; {hint}") from None


def _bound_port(server: Any, asked: int) -> int:
    """The port waitress bound (the one the system picked for ``--port 0``)."""
    listening = getattr(server, "effective_listen", None)
    if listening:
        return int(listening[0][1])
    return int(getattr(server, "effective_port", asked))


def cmd_serve(args: argparse.Namespace) -> int:
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
    app = _LateApp()
    server = _listen(args.host, args.port, app)
    try:
        prepare_database(settings.database_url, upgrade=True)
        base_url = f"http://{url_host(args.host)}:{_bound_port(server, args.port)}"
        services = build(settings, sandbox=args.sandbox, public_url=base_url)
        app.app = make_wsgi_app(services)
        provider = (
            "sandbox" if args.sandbox else ("twilio" if settings.twilio_configured else "none")
        )
        emit(
            f"neariq-sms serving {base_url} (provider: {provider},"
            f" database: {safe_url(settings.database_url)})"
        )
        if not services.telephony.configured:
            emit(
                "# SMS is not configured: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN,"
                " or --sandbox"
            )
        if args.demo:
            token = prepare_demo(services, sandbox=args.sandbox)
            if notes:
                emit(
                    f"# sandbox demo: {' and '.join(notes)} so that every line answers as the"
                    " spec shows (set NEARIQ_SMS_QUIET_HOURS / NEARIQ_SMS_REVIEW_COOLDOWN_DAYS"
                    " to keep them)"
                )
            emit(f"Cookie: neariq_session={token}", "", *demo_curl_lines(base_url, token), "")
    except BaseException:
        server.close()
        raise
    stop = threading.Event()
    if args.sandbox:
        # A sandbox needs no cron: it sends its own scheduled messages (`dispatch
        # --sandbox` may run beside it; a message is claimed once).
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


def register(commands: Commands) -> None:
    serve = commands.add_parser(
        "serve",
        help="serve the HTTP contract (migrates the database first)",
        description="Serve /api/sms under waitress (threads), migrating the database first."
        " With --sandbox the server also sends its own scheduled messages every 30 s.",
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address or name to bind (default 127.0.0.1; IPv6 as ::1)",
    )
    serve.add_argument(
        "--port",
        type=port_number,
        default=8000,
        help="port to bind (default 8000; 0 picks a free one)",
    )
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
