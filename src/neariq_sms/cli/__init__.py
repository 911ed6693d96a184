"""The ``neariq-sms`` command: the reference server and the operator's tools.

Commands (``neariq-sms COMMAND --help`` for each): ``serve``, ``db upgrade``,
``business create|list|set-plan|deactivate|reactivate``, ``session create|revoke``,
``consent import|export``, ``dispatch``, ``reconcile`` and ``registration sync|show``.
Configuration comes from the environment (see :class:`neariq_sms.config.Settings`).
One module per command group; each registers its commands on the parser.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from neariq_sms import __version__
from neariq_sms.cli import business, consent, db, jobs, registration, serve, session
from neariq_sms.cli.common import CliError, emit, own_process, safe_url
from neariq_sms.cli.database import database_cause
from neariq_sms.config import DEFAULT_DATABASE_URL
from neariq_sms.domain.errors import SmsError

__all__ = ["CliError", "build_parser", "main", "safe_url"]

#: What to do next, after the domain's sentence, for the errors an operator meets.
NEXT_STEP = {
    "sms_not_configured": "Set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (docs/configuration.md).",
    "business_not_found": "neariq-sms business list shows every business and whether it is active.",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neariq-sms",
        description="The NearIQ SMS reference server and operator tools."
        " Configuration: NEARIQ_SMS_DATABASE_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,"
        " NEARIQ_SMS_PUBLIC_URL, NEARIQ_SMS_REVIEW_COOLDOWN_DAYS, NEARIQ_SMS_QUIET_HOURS,"
        " NEARIQ_SMS_REGISTRATION, NEARIQ_SMS_TWILIO_PRIMARY_PROFILE_SID.",
    )
    parser.add_argument("--version", action="version", version=f"neariq-sms {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (serve, db, business, session, consent, jobs, registration):
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``neariq-sms``; returns the exit status."""
    if argv is None:  # the process's own command line: this process runs this command
        own_process()
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
        hint = NEXT_STEP.get(exc.code)
        line = f"neariq-sms: {exc.message} ({exc.code})" + (f" {hint}" if hint else "")
        emit(line, file=sys.stderr)
        return 1
    except CliError as exc:
        emit(f"neariq-sms: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        emit("neariq-sms: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`consent export | head`): the docs' recipe, no traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        cause = database_cause(exc)
        if cause is None:
            raise  # a bug: its traceback is what a report needs
        url = os.environ.get("NEARIQ_SMS_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
        emit(f"neariq-sms: the database {safe_url(url)} failed: {cause}", file=sys.stderr)
        return 1
    return status
