"""``neariq-sms session``: dashboard sessions for the reference server."""

from __future__ import annotations

import argparse

from neariq_sms.cli.common import CliError, Commands, emit, storage_services


def cmd_session_create(args: argparse.Namespace) -> int:
    from neariq_sms.adapters.http.sessions import create_session

    s = storage_services()
    token = create_session(args.business, uow=s.uow, clock=s.clock)
    emit(f"neariq_session={token}")
    return 0


def cmd_session_revoke(args: argparse.Namespace) -> int:
    from neariq_sms.adapters.http.sessions import COOKIE_NAME, end_session, revoke_sessions

    s = storage_services()
    if args.business is not None:
        count = revoke_sessions(args.business, uow=s.uow)
        emit(f"revoked {count} session(s) of business {args.business}")
        return 0
    # Accept the line `session create` printed as well as the bare token.
    token = args.token.strip().removeprefix(f"{COOKIE_NAME}=")
    if not end_session(token, uow=s.uow):
        raise CliError("no session has that token (already revoked, or mistyped)")
    emit("revoked 1 session")
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
    s_revoke = s_commands.add_parser(
        "revoke",
        help="end one session (TOKEN) or every session of a business (--business ID)",
        description="End a dashboard session at once: the one whose token is given (as"
        " printed by 'session create', with or without 'neariq_session='), or every"
        " session of a business. Idempotent for --business.",
    )
    which = s_revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("token", nargs="?", metavar="TOKEN", help="the session token")
    which.add_argument("--business", help="the business id: revoke all its sessions")
    s_revoke.set_defaults(func=cmd_session_revoke)
