"""Configuration from the environment and the composition of the real adapters.

Nothing here runs at import: :meth:`Settings.from_env` reads a mapping when
called, and :func:`build_services` builds storage, provider, clock and policy
when called. The reference server, the CLI and host applications share it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import attrs

# The SQL adapter's package imports SQLAlchemy lazily, so this module still imports
# without the ``[sql]`` extra.
from neariq_sms.adapters.sql.urls import DEFAULT_URL as DEFAULT_DATABASE_URL
from neariq_sms.domain.errors import InvalidField
from neariq_sms.domain.plans import DEFAULT_REVIEW_COOLDOWN, Policy
from neariq_sms.domain.quiet_hours import QuietHours
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.registry import SenderRegistry
from neariq_sms.ports.services import Services
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.ports.telephony import TelephonyProvider
from neariq_sms.ports.webhooks import ProviderWebhooks, WebhookVerifier

#: A database URL that keeps everything in process memory (tests, throw-away sandboxes).
MEMORY_DATABASE_URL = "memory://"
#: The auth token the sandbox signs and verifies webhooks with when TWILIO_AUTH_TOKEN is unset.
#: It is public, so ``neariq-sms serve --sandbox`` refuses a non-loopback address without
#: TWILIO_AUTH_TOKEN: anyone could forge its webhooks (STOP, START, status callbacks).
SANDBOX_AUTH_TOKEN = "neariq-sandbox-auth-token"  # noqa: S105 - public by design: sandbox only
#: Twilio's magic test numbers, which the sandbox honours: this one can never be bought
#: (``number_unavailable``) ...
SANDBOX_UNAVAILABLE_NUMBER = "+15005550000"
#: ... and this recipient has opted out at the carrier (Twilio error 21610).
SANDBOX_OPTED_OUT_RECIPIENT = "+15005550004"


#: The password of a URL's user part, up to the authority's last "@" (an unencoded "@"
#: in a password would otherwise leave its tail behind) ...
_USERINFO_PASSWORD = re.compile(r"(//[^/?#@:]*):[^/?#]*@")
#: ... and a ``password=`` query parameter, which drivers such as psycopg accept too.
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def redacted_url(url: str) -> str:
    """``url`` fit for logs and reprs: any password in it shown as ``***``.

    Plain text work, so that it needs no SQLAlchemy and also masks a URL that
    does not parse.
    """
    return _QUERY_PASSWORD.sub(r"\1***", _USERINFO_PASSWORD.sub(r"\1:***@", url, count=1))


def _env_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    # isascii(): str.isdigit() accepts digits such as "²" that int() refuses.
    if not (raw.isascii() and raw.isdigit()):
        raise InvalidField(name, "must be a whole number of days")
    return int(raw)


@attrs.frozen
class Settings:
    """The configuration table of ``docs/configuration.md``."""

    database_url: str = attrs.field(
        default=DEFAULT_DATABASE_URL, repr=lambda url: repr(redacted_url(url))
    )
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = attrs.field(default=None, repr=False)
    public_url: str | None = None
    review_cooldown_days: int = DEFAULT_REVIEW_COOLDOWN.days
    quiet_hours: QuietHours | None = attrs.field(factory=QuietHours)
    #: ``required``, ``off``, or ``None``: required with Twilio, off in the sandbox.
    registration: str | None = None
    #: The platform's own approved primary (ISV) customer profile, ``BU…``.
    twilio_primary_profile_sid: str | None = None
    #: Which of the values above came from the environment rather than defaults.
    explicit: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the environment (``os.environ`` unless given).

        Raises:
            InvalidField: a value that does not parse (named by its variable).
        """
        env = os.environ if environ is None else environ
        explicit = frozenset(name for name in _VARIABLES if env.get(name, "").strip())
        quiet = env.get("NEARIQ_SMS_QUIET_HOURS", "").strip()
        try:
            quiet_hours = QuietHours.parse(quiet) if quiet else QuietHours()
        except InvalidField as exc:
            raise InvalidField("NEARIQ_SMS_QUIET_HOURS", exc.reason) from None
        public_url = env.get("NEARIQ_SMS_PUBLIC_URL", "").strip().rstrip("/") or None
        registration = env.get("NEARIQ_SMS_REGISTRATION", "").strip().lower() or None
        if registration not in (None, "required", "off"):
            raise InvalidField("NEARIQ_SMS_REGISTRATION", "must be required or off")
        return cls(
            database_url=env.get("NEARIQ_SMS_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
            twilio_account_sid=env.get("TWILIO_ACCOUNT_SID", "").strip() or None,
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN", "").strip() or None,
            public_url=public_url,
            review_cooldown_days=_env_int(
                env, "NEARIQ_SMS_REVIEW_COOLDOWN_DAYS", DEFAULT_REVIEW_COOLDOWN.days
            ),
            quiet_hours=quiet_hours,
            registration=registration,
            twilio_primary_profile_sid=env.get("NEARIQ_SMS_TWILIO_PRIMARY_PROFILE_SID", "").strip()
            or None,
            explicit=explicit,
        )

    @property
    def twilio_configured(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    def registration_required(self, *, sandbox: bool) -> bool:
        """Whether a business must hold an approved sender registration to send:
        ``NEARIQ_SMS_REGISTRATION`` when set, else yes with Twilio and no in the
        sandbox (whose demo and tests send without one; set ``required`` to
        rehearse the registration chain against the simulated registry)."""
        if self.registration is not None:
            return self.registration == "required"
        return not sandbox and self.twilio_configured

    def policy(self, *, sandbox: bool = False) -> Policy:
        return Policy(
            review_cooldown=timedelta(days=self.review_cooldown_days),
            quiet_hours=self.quiet_hours,
            registration_required=self.registration_required(sandbox=sandbox),
        )


_VARIABLES = (
    "NEARIQ_SMS_DATABASE_URL",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "NEARIQ_SMS_PUBLIC_URL",
    "NEARIQ_SMS_REVIEW_COOLDOWN_DAYS",
    "NEARIQ_SMS_QUIET_HOURS",
    "NEARIQ_SMS_REGISTRATION",
    "NEARIQ_SMS_TWILIO_PRIMARY_PROFILE_SID",
)
#: The environment variables :meth:`Settings.from_env` reads (hosts may offer them as settings).
ENVIRONMENT_VARIABLES = _VARIABLES


def make_uow(database_url: str) -> UnitOfWork:
    """A unit of work over the database URL (``memory://`` keeps it in memory)."""
    if database_url.startswith("memory:"):
        from neariq_sms.adapters.memory import InMemoryUnitOfWork

        return InMemoryUnitOfWork()
    from neariq_sms.adapters.sql import SqlUnitOfWork

    return SqlUnitOfWork.from_url(database_url)


def upgrade_database(database_url: str) -> None:
    """Apply the migrations (nothing to do for ``memory://``)."""
    if database_url.startswith("memory:"):
        return
    from neariq_sms.adapters.sql import upgrade

    upgrade(database_url)


def schema_is_current(uow: UnitOfWork) -> bool:
    """False when ``uow`` is SQL storage whose schema lacks migrations (see ``upgrade_database``).

    Building the services opens no connection; a host that migrates separately
    (Django's ``neariq_sms_migrate``) asks this before serving.
    """
    from neariq_sms.adapters.memory import InMemoryUnitOfWork

    if isinstance(uow, InMemoryUnitOfWork):
        return True
    from neariq_sms.adapters.sql import SchemaState, SqlUnitOfWork, schema_state

    if not isinstance(uow, SqlUnitOfWork):
        return True
    return schema_state(uow.engine).state is SchemaState.CURRENT


def _sandbox_telephony(uow: UnitOfWork, clock: Clock) -> TelephonyProvider:
    """The simulated provider, its account kept beside the application's data.

    On a SQL database the account (numbers bought, messages accepted) lives in
    that database, so every process sharing it (servers, ``dispatch``,
    ``reconcile``) and every restart sees one provider. With in-memory storage
    it lives in this process, as the data does.
    """
    from neariq_sms.adapters.memory import InMemoryUnitOfWork, SimulatedTelephony
    from neariq_sms.adapters.memory.telephony import SandboxState
    from neariq_sms.domain.phone import PhoneNumber

    state: SandboxState | None = None
    if not isinstance(uow, InMemoryUnitOfWork):
        from neariq_sms.adapters.sql import SqlUnitOfWork
        from neariq_sms.adapters.sql.sandbox import SqlSandboxState

        if isinstance(uow, SqlUnitOfWork):
            state = SqlSandboxState(uow.engine)
    telephony = SimulatedTelephony(clock=clock, state=state)
    telephony.unavailable.add(PhoneNumber(SANDBOX_UNAVAILABLE_NUMBER))
    telephony.carrier_opted_out.add(PhoneNumber(SANDBOX_OPTED_OUT_RECIPIENT))
    return telephony


def _sandbox_registry(uow: UnitOfWork) -> SenderRegistry:
    """The simulated registry, its objects kept beside the application's data (as the
    simulated provider's account is: one registry for every process on the database)."""
    from neariq_sms.adapters.memory.registry import RegistryState, SimulatedRegistry

    state: RegistryState | None = None
    from neariq_sms.adapters.memory import InMemoryUnitOfWork

    if not isinstance(uow, InMemoryUnitOfWork):
        from neariq_sms.adapters.sql import SqlUnitOfWork
        from neariq_sms.adapters.sql.sandbox import SqlRegistryState

        if isinstance(uow, SqlUnitOfWork):
            state = SqlRegistryState(uow.engine)
    return SimulatedRegistry(state=state)


def build_services(
    settings: Settings,
    *,
    sandbox: bool = False,
    public_url: str | None = None,
    uow: UnitOfWork | None = None,
    clock: Clock | None = None,
    policy: Policy | None = None,
) -> Services:
    """Build the real adapters for ``settings``.

    It does not migrate: run :func:`upgrade_database` (or ``neariq-sms db upgrade``)
    first, or the first request fails on missing tables.

    Args:
        settings: the configuration, usually :meth:`Settings.from_env`.
        sandbox: use the built-in simulated provider instead of Twilio. On a
            SQL database its account lives in that database: one provider for
            every process sharing it.
        public_url: the base URL webhooks are signed for when
            ``NEARIQ_SMS_PUBLIC_URL`` is unset (the server's own address).
        uow, clock, policy: replace the configured ones (tests, embedding hosts).
    """
    from neariq_sms.adapters.clock import SystemClock

    uow = uow if uow is not None else make_uow(settings.database_url)
    clock = clock or SystemClock()
    base_url = settings.public_url or public_url
    telephony: TelephonyProvider
    token: str | None
    registry: SenderRegistry | None = None
    if sandbox:
        telephony = _sandbox_telephony(uow, clock)
        registry = _sandbox_registry(uow)
        token = settings.twilio_auth_token or SANDBOX_AUTH_TOKEN
    elif settings.twilio_configured:
        from twilio.rest import Client

        from neariq_sms.adapters.twilio.telephony import TwilioTelephony

        # The SDK reads TWILIO_REGION / TWILIO_EDGE from os.environ, as Twilio documents.
        client = Client(settings.twilio_account_sid, settings.twilio_auth_token)
        telephony = TwilioTelephony(client, public_url=settings.public_url)
        registry = _twilio_registry(client, settings)
        token = settings.twilio_auth_token
    else:
        from neariq_sms.adapters.memory import SimulatedTelephony

        telephony = SimulatedTelephony(configured=False)
        token = None
    webhooks: ProviderWebhooks | None = None
    if token and base_url:
        from neariq_sms.adapters.twilio.webhooks import TwilioSignatureVerifier

        webhooks = TwilioSignatureVerifier(token, base_url)
    return Services(
        uow=uow,
        telephony=telephony,
        clock=clock,
        policy=policy or settings.policy(sandbox=sandbox),
        webhooks=webhooks,
        registry=registry,
    )


def _twilio_registry(client: Any, settings: Settings) -> SenderRegistry:
    from neariq_sms.adapters.twilio.registry import TwilioSenderRegistry

    return TwilioSenderRegistry(
        client,
        primary_profile_sid=settings.twilio_primary_profile_sid,
        public_url=settings.public_url,
    )


__all__ = [
    "DEFAULT_DATABASE_URL",
    "ENVIRONMENT_VARIABLES",
    "MEMORY_DATABASE_URL",
    "SANDBOX_AUTH_TOKEN",
    "SANDBOX_OPTED_OUT_RECIPIENT",
    "SANDBOX_UNAVAILABLE_NUMBER",
    "Services",
    "Settings",
    "WebhookVerifier",
    "build_services",
    "make_uow",
    "redacted_url",
    "schema_is_current",
    "upgrade_database",
]
