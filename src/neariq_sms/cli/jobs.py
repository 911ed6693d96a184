"""``neariq-sms dispatch`` and ``reconcile``: the jobs to run from cron."""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType

from neariq_sms import usecases as uc
from neariq_sms.cli.common import CliError, Commands, add_sandbox_flag, emit, storage_services

#: Messages one dispatcher claims per transaction: a crash (SIGKILL) leaves at most
#: this many ``submitting`` for ``reconcile``; a stop it can catch gives them back.
DISPATCH_BATCH = 100


def _stop_on_sigterm() -> None:
    """SIGTERM (a job runner stopping the job) raises SystemExit as Ctrl-C raises
    KeyboardInterrupt, so the dispatch gives back what it claimed and did not send."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


def cmd_dispatch(args: argparse.Namespace) -> int:
    s = storage_services(sandbox=args.sandbox)
    _stop_on_sigterm()
    batch = DISPATCH_BATCH
    totals = [0, 0, 0]
    while True:
        report = uc.dispatch_due(
            uow=s.uow, telephony=s.telephony, clock=s.clock, policy=s.policy, limit=batch
        )
        handled = report.submitted + report.failed + report.canceled
        totals = [
            totals[0] + report.submitted,
            totals[1] + report.failed,
            totals[2] + report.canceled,
        ]
        if handled < batch:
            break
    emit(f"submitted {totals[0]}", f"failed    {totals[1]}", f"canceled  {totals[2]}")
    return 0


def cmd_reconcile(args: argparse.Namespace) -> int:
    from datetime import timedelta

    if args.older_than < 0:
        raise CliError("--older-than must be zero or more seconds")
    s = storage_services(sandbox=args.sandbox)
    report = uc.reconcile(
        uow=s.uow,
        telephony=s.telephony,
        clock=s.clock,
        older_than=timedelta(seconds=args.older_than),
        release_orphans=not args.report_only,
    )
    emit(*(r.describe() for r in report.resolutions), report.summary())
    return 1 if report.count("unresolved") else 0


def register(commands: Commands) -> None:
    dispatch = commands.add_parser(
        "dispatch",
        help="send scheduled messages that are due",
        description="Send the scheduled messages that are due (for cron or a job runner),"
        " then exit: it claims them in batches of 100 and stops when none is left due,"
        " printing how many were submitted, failed at the provider, or canceled (the"
        " recipient opted out, the business lost its plan or number, a reminder's"
        " appointment began; their units given back). Safe to run often, and several at"
        " once (processes or hosts) to send a large backlog faster: each claims its own"
        " batches, without waiting for the others, and no message is sent twice.",
    )
    add_sandbox_flag(dispatch)
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
    add_sandbox_flag(reconcile)
    reconcile.set_defaults(func=cmd_reconcile)
