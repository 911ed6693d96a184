"""``neariq-sms business``: create, list, change plan, deactivate."""

from __future__ import annotations

import argparse

from neariq_sms import usecases as uc
from neariq_sms.cli.common import CliError, Commands, add_sandbox_flag, emit, storage_services
from neariq_sms.domain.business import DEFAULT_TIMEZONE
from neariq_sms.domain.errors import SmsNotConfigured


def cmd_business_create(args: argparse.Namespace) -> int:
    s = storage_services()
    business = uc.create_business(
        args.name,
        args.plan,
        uow=s.uow,
        clock=s.clock,
        review_url=args.review_url,
        timezone=args.timezone,
    )
    emit(f"created {business.name} ({business.plan.value})", business.id)
    return 0


def cmd_business_list(args: argparse.Namespace) -> int:
    s = storage_services()
    rows = [("id", "plan", "active", "name")]
    for b in uc.list_businesses(uow=s.uow):
        rows.append((b.id, b.plan.value, "yes" if b.active else "no", b.name))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        emit("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])
    return 0


def cmd_business_set_plan(args: argparse.Namespace) -> int:
    s = storage_services()
    business = uc.change_plan(args.id, args.plan, uow=s.uow)
    emit(f"{business.id} is on {business.plan.value}")
    return 0


def cmd_business_deactivate(args: argparse.Namespace) -> int:
    s = storage_services(sandbox=args.sandbox)
    try:
        business = uc.deactivate_business(args.id, uow=s.uow, clock=s.clock, telephony=s.telephony)
    except SmsNotConfigured:
        raise CliError(
            "the business holds a number and no provider is configured to release it: set"
            " TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or pass --sandbox; nothing changed"
        ) from None
    emit(f"{business.id} is deactivated")
    return 0


def cmd_business_reactivate(args: argparse.Namespace) -> int:
    s = storage_services()
    business = uc.reactivate_business(args.id, uow=s.uow)
    emit(f"{business.id} is active on {business.plan.value}")
    return 0


def register(commands: Commands) -> None:
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
        default=DEFAULT_TIMEZONE,
        help="IANA time zone, for recipients whose number maps to none (default %(default)s)",
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
        description="Deactivate a business: its number is released at the provider and"
        " its scheduled messages are canceled. A business holding a number needs the"
        " provider (Twilio credentials, or --sandbox): without it nothing changes.",
    )
    deactivate.add_argument("id", help="the business id")
    add_sandbox_flag(deactivate)
    deactivate.set_defaults(func=cmd_business_deactivate)
    reactivate = b_commands.add_parser(
        "reactivate",
        help="make a deactivated business active again",
        description="Make a deactivated business active again, on its plan. Its consent"
        " records apply as they were; it has no number (deactivation released it) until it"
        " provisions one. Sessions created before the deactivation work again: end them"
        " with 'session revoke --business ID' if they should not.",
    )
    reactivate.add_argument("id", help="the business id")
    reactivate.set_defaults(func=cmd_business_reactivate)
