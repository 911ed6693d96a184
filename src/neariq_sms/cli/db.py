"""``neariq-sms db upgrade``: apply the packaged migrations."""

from __future__ import annotations

import argparse

from neariq_sms.cli.common import Commands, emit, safe_url
from neariq_sms.cli.database import prepare_database
from neariq_sms.config import Settings


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    prepare_database(settings.database_url, upgrade=True)
    emit(f"database {safe_url(settings.database_url)} is up to date")
    return 0


def register(commands: Commands) -> None:
    db = commands.add_parser("db", help="database maintenance", description="Database maintenance.")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    upgrade = db_commands.add_parser(
        "upgrade",
        help="apply migrations to the configured database",
        description="Apply migrations to NEARIQ_SMS_DATABASE_URL.",
    )
    upgrade.set_defaults(func=cmd_db_upgrade)
