"""Settings, the lazily built services and the business resolver of the Django integration.

Django settings:

``NEARIQ_SMS_BUSINESS_RESOLVER`` (required)
    A callable ``(request) -> business id | None``, or its dotted path: the
    business of the signed-in user (``None`` answers 401).
``NEARIQ_SMS_SANDBOX``
    ``True``: the built-in simulated provider instead of Twilio (default ``False``).
``NEARIQ_SMS_SERVICES``
    A callable ``() -> Services``, or its dotted path, replacing the default
    ``build_services(...)`` (tests, custom wiring). It is then the host's job to
    migrate the storage it uses.
``NEARIQ_SMS_DATABASE_URL``, ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``, ...
    Any variable of the configuration table; a Django setting wins over the
    environment variable of the same name.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.module_loading import import_string

from neariq_sms.config import (
    ENVIRONMENT_VARIABLES,
    Services,
    Settings,
    build_services,
    schema_is_current,
)

RESOLVER_SETTING = "NEARIQ_SMS_BUSINESS_RESOLVER"
SERVICES_SETTING = "NEARIQ_SMS_SERVICES"
SANDBOX_SETTING = "NEARIQ_SMS_SANDBOX"

BusinessResolver = Callable[[HttpRequest], Any]


def sms_settings() -> Settings:
    """The library's settings: the environment, overridden by Django settings of the same name."""
    overrides = {
        name: str(value)
        for name in ENVIRONMENT_VARIABLES
        if (value := getattr(settings, name, None)) is not None
    }
    return Settings.from_env({**os.environ, **overrides})


def _setting_callable(name: str) -> Callable[..., Any] | None:
    value = getattr(settings, name, None)
    if value is None or callable(value):
        return value
    if isinstance(value, str):
        found: Callable[..., Any] = import_string(value)
        return found
    raise ImproperlyConfigured(f"{name} must be a callable or its dotted path")


def _build() -> Services:
    factory = _setting_callable(SERVICES_SETTING)
    if factory is not None:
        services = factory()
        if not isinstance(services, Services):
            raise ImproperlyConfigured(f"{SERVICES_SETTING} must return neariq_sms Services")
        return services
    sandbox = bool(getattr(settings, SANDBOX_SETTING, False))
    try:
        services = build_services(sms_settings(), sandbox=sandbox)
        current = schema_is_current(services.uow)
    except Exception as exc:
        raise ImproperlyConfigured(
            f"neariq_sms could not build its services ({type(exc).__name__}); "
            "is the SMS database migrated? Run `manage.py neariq_sms_migrate`."
        ) from exc
    if not current:
        raise ImproperlyConfigured(
            "the SMS database is not migrated. Run `manage.py neariq_sms_migrate`."
        )
    return services


class _Cache:
    """One ``Services`` per process, built by the first request that needs it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._services: Services | None = None

    def get(self) -> Services:
        services = self._services
        if services is None:
            with self._lock:
                if self._services is None:
                    self._services = _build()
                services = self._services
        return services

    def forget(self) -> None:
        with self._lock:
            self._services = None


_cache = _Cache()


def get_services() -> Services:
    """The services of this process, built on first use (never at import or start-up)."""
    return _cache.get()


def forget_services() -> None:
    """Drop the built services: the next request builds them from the settings again."""
    _cache.forget()


def forget_services_on_change(*, setting: str, **kwargs: Any) -> None:
    """``setting_changed`` receiver: ``override_settings`` of an SMS setting takes effect."""
    if setting.startswith(("NEARIQ_SMS_", "TWILIO_")):
        forget_services()


def business_id_for(request: HttpRequest) -> str | None:
    """The business of the request's signed-in user, from ``NEARIQ_SMS_BUSINESS_RESOLVER``."""
    resolver = _setting_callable(RESOLVER_SETTING)
    if resolver is None:
        raise ImproperlyConfigured(f"{RESOLVER_SETTING} is not set")
    business = resolver(request)
    return None if business is None else str(business)


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``manage.py check``: the resolver is set and both dotted paths import."""
    problems: list[CheckMessage] = []
    if getattr(settings, RESOLVER_SETTING, None) is None:
        problems.append(
            Error(
                f"{RESOLVER_SETTING} is not set.",
                hint="Point it at a function (request) -> business id or None, "
                "e.g. 'myapp.sms.business_for'.",
                id="neariq_sms.E001",
            )
        )
    for name in (RESOLVER_SETTING, SERVICES_SETTING):
        try:
            _setting_callable(name)
        except (ImportError, ImproperlyConfigured) as exc:
            problems.append(Error(f"{name}: {exc}", id="neariq_sms.E002"))
    return problems


__all__ = [
    "BusinessResolver",
    "business_id_for",
    "check_settings",
    "forget_services",
    "get_services",
    "sms_settings",
]
