"""``neariq-sms session``: dashboard sessions for the reference server."""

from __future__ import annotations

import argparse

from neariq_sms.cli.common import Commands, emit, storage_services


def cmd_session_create(args: argparse.Namespace) -> int:
    from neariq_sms.adapters.http.sessions import create_session

    s = storage_services()
    token = create_session(args.business, uow=s.uow, clock=s.clock)
    emit(f"neariq_session={token}")
    return 0


def register(commands: Commands) -> None:
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
