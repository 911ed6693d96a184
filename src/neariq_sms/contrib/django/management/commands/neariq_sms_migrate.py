"""``manage.py neariq_sms_migrate``: apply neariq_sms's migrations to the SMS database."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from neariq_sms.config import upgrade_database
from neariq_sms.contrib.django.conf import sms_settings


class Command(BaseCommand):
    help = (
        "Apply neariq_sms's migrations to NEARIQ_SMS_DATABASE_URL (its own Alembic "
        "migrations, not Django's). Idempotent; run it with every `manage.py migrate`."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        url = sms_settings().database_url
        try:
            upgrade_database(url)
        except Exception as exc:
            # One line, as Django prints command errors; --traceback shows the cause.
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise CommandError(
                f"cannot migrate the SMS database (NEARIQ_SMS_DATABASE_URL): "
                f"{type(exc).__name__}: {first}"
            ) from exc
        self.stdout.write("neariq_sms: the SMS database is up to date")
