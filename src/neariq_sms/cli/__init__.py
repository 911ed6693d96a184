"""The ``neariq-sms`` command: the reference server and the operator's tools.

Commands (``neariq-sms COMMAND --help`` for each): ``serve``, ``db upgrade``,
``business create|list|set-plan|deactivate``, ``session create``,
``consent import|export``, ``dispatch`` and ``reconcile``. Configuration comes from the
environment (see :class:`neariq_sms.config.Settings`). One module per command group;
each registers its commands on the parser.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from neariq_sms.cli import business, consent, db, jobs, serve, session
from neariq_sms.cli.common import CliError, emit, safe_url
from neariq_sms.domain.errors import SmsError

__all__ = ["CliError", "build_parser", "main", "safe_url"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neariq-sms",
        description="The NearIQ SMS reference server and operator tools."
        " Configuration: NEARIQ_SMS_DATABASE_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN,"
        " NEARIQ_SMS_PUBLIC_URL, NEARIQ_SMS_REVIEW_COOLDOWN_DAYS, NEARIQ_SMS_QUIET_HOURS.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (serve, db, business, session, consent, jobs):
        group.register(commands)
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
        emit(f"neariq-sms: {exc.message} ({exc.code})", file=sys.stderr)
        return 1
    except CliError as exc:
        emit(f"neariq-sms: {exc}", file=sys.stderr)
        return exc.exit_status
    return status
