"""The Django app: registers the settings checks; builds nothing at start-up."""

from __future__ import annotations

from django.apps import AppConfig


class NearIqSmsConfig(AppConfig):
    name = "neariq_sms.contrib.django"
    label = "neariq_sms"
    verbose_name = "NearIQ SMS"

    def ready(self) -> None:
        # Only checks and a signal here: building the services would open the SMS
        # database, which ``manage.py migrate`` (or any command) must not need.
        from django.core import checks
        from django.core.signals import setting_changed

        from neariq_sms.contrib.django import conf

        checks.register(conf.check_settings, "neariq_sms")
        setting_changed.connect(conf.forget_services_on_change)
