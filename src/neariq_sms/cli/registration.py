"""``neariq-sms registration``: advance registrations (cron) and show one."""

from __future__ import annotations

import argparse

from neariq_sms import usecases as uc
from neariq_sms.cli.common import Commands, add_sandbox_flag, emit, storage_services
from neariq_sms.domain.errors import SmsNotConfigured


def cmd_sync(args: argparse.Namespace) -> int:
    s = storage_services(sandbox=args.sandbox)
    if s.registry is None:
        raise SmsNotConfigured(reason="no sender registry configured")
    report = uc.sync_registrations(uow=s.uow, registry=s.registry, clock=s.clock)
    emit(
        f"approved  {report.approved}",
        f"rejected  {report.rejected}",
        f"advanced  {report.advanced}",
        f"attached  {report.attached}",
        f"busy      {report.busy}",
        f"failed    {report.failed}",
    )
    return 1 if report.failed else 0


def cmd_show(args: argparse.Namespace) -> int:
    s = storage_services()
    registration = uc.get_registration(args.business, uow=s.uow)
    if registration is None:
        emit(f"{args.business}: not registered")
        return 0
    emit(
        f"{registration.kind.value} registration {registration.id}: {registration.status.value}",
        f"submitted {registration.submitted_at.isoformat() if registration.submitted_at else '-'}"
        f"  updated {registration.updated_at.isoformat()}  revision {registration.revision}",
        *(
            f"  {step.name.value:<18} {step.state.value:<11} {step.sid or '-'}"
            + (f"  ({step.provider_status})" if step.provider_status else "")
            for step in registration.steps
        ),
        *(
            f"  error {issue.code or '-'}: {issue.description}"
            + (f" [{issue.field}]" if issue.field else "")
            for issue in registration.issues
        ),
    )
    if registration.blocked_sends:
        emit(f"  sends blocked by the carriers: {registration.blocked_sends}")
    return 0


def register(commands: Commands) -> None:
    group = commands.add_parser(
        "registration",
        help="US sender registration (A2P 10DLC): sync from cron, show one",
        description="US sender registration of each business (A2P 10DLC).",
    )
    actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")
    sync = actions.add_parser(
        "sync",
        help="advance every registration in flight",
        description="Advance every registration in flight: poll each provider object that"
        " is not final, make the next one when its prerequisite allows, record"
        " rejections. Run it from cron every few minutes; safe from several hosts at once"
        " and again after a crash. Exits 1 when a provider call failed (the next run"
        " goes on from there).",
    )
    add_sandbox_flag(sync)
    sync.set_defaults(func=cmd_sync)
    show = actions.add_parser(
        "show",
        help="a business's registration: status, steps, the provider's reasons",
        description="Print a business's registration: its status, each provider object"
        " with its sid and status, and the reasons of a rejection.",
    )
    show.add_argument("--business", required=True, metavar="ID", help="the business id")
    show.set_defaults(func=cmd_show)
