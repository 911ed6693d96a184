"""Settings from the environment: the configuration table, read only when asked."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from neariq_sms.config import DEFAULT_DATABASE_URL, Settings, build_services
from neariq_sms.domain.errors import InvalidField
from neariq_sms.domain.quiet_hours import QuietHours


def test_defaults_follow_the_configuration_table() -> None:
    """Nothing set: SQLite file, no provider, 30-day cooldown, quiet 21:00-08:00."""
    settings = Settings.from_env({})
    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite:///neariq_sms.db"
    assert settings.twilio_configured is False
    assert settings.public_url is None
    assert settings.policy().review_cooldown == timedelta(days=30)
    assert settings.policy().quiet_hours == QuietHours(time(21), time(8))


def test_values_are_read_and_the_auth_token_stays_out_of_reprs() -> None:
    """Every variable is honoured; the Twilio auth token never appears in a repr."""
    settings = Settings.from_env(
        {
            "NEARIQ_SMS_DATABASE_URL": "postgresql+psycopg://u:p@db/sms",
            "TWILIO_ACCOUNT_SID": "AC123",
            "TWILIO_AUTH_TOKEN": "very-secret-token",
            "NEARIQ_SMS_PUBLIC_URL": "https://sms.example.com/",
            "NEARIQ_SMS_REVIEW_COOLDOWN_DAYS": "7",
            "NEARIQ_SMS_QUIET_HOURS": "off",
        }
    )
    assert settings.twilio_configured
    assert settings.public_url == "https://sms.example.com"
    assert settings.policy().review_cooldown == timedelta(days=7)
    assert settings.policy().quiet_hours is None
    assert "very-secret-token" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NEARIQ_SMS_REVIEW_COOLDOWN_DAYS", "soon"),
        # str.isdigit() accepts these; int() refuses "²": never a ValueError.
        ("NEARIQ_SMS_REVIEW_COOLDOWN_DAYS", "\u00b2"),
        ("NEARIQ_SMS_REVIEW_COOLDOWN_DAYS", "\u0663\u0660"),
        ("NEARIQ_SMS_QUIET_HOURS", "late"),
    ],
)
def test_bad_values_name_their_variable(name: str, value: str) -> None:
    """A value that does not parse is an InvalidField naming the variable."""
    with pytest.raises(InvalidField) as raised:
        Settings.from_env({name: value})
    assert raised.value.field == name


def test_a_memory_database_builds_without_touching_disk() -> None:
    """memory:// composes in-memory storage; without credentials SMS is not configured."""
    services = build_services(Settings.from_env({"NEARIQ_SMS_DATABASE_URL": "memory://"}))
    assert services.telephony.configured is False
    assert services.webhooks is None
    sandbox = build_services(
        Settings.from_env({"NEARIQ_SMS_DATABASE_URL": "memory://"}),
        sandbox=True,
        public_url="http://127.0.0.1:8000",
    )
    assert sandbox.telephony.configured is True
    assert sandbox.webhooks is not None


def test_twilio_credentials_build_the_twilio_provider_from_the_settings() -> None:
    """Both credentials: TwilioTelephony with the settings' account and public URL, and a
    webhook verifier for the same public URL."""
    from neariq_sms.adapters.twilio import INBOUND_PATH, STATUS_PATH, TwilioTelephony

    settings = Settings.from_env(
        {
            "NEARIQ_SMS_DATABASE_URL": "memory://",
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "TWILIO_AUTH_TOKEN": "very-secret-token",
            "NEARIQ_SMS_PUBLIC_URL": "https://sms.example.com/",
        }
    )
    services = build_services(settings, public_url="http://127.0.0.1:8000")
    telephony = services.telephony
    assert isinstance(telephony, TwilioTelephony)
    assert telephony.configured
    assert telephony.sms_url == "https://sms.example.com" + INBOUND_PATH
    assert telephony.status_callback == "https://sms.example.com" + STATUS_PATH
    assert "AC" + "1" * 32 in repr(telephony)
    assert "very-secret-token" not in repr(telephony)
    assert services.webhooks is not None
    assert "https://sms.example.com" in repr(services.webhooks)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://app:s3cr3t-pw@db.example:5432/sms",
        "postgresql+psycopg://app@db.example/sms?password=s3cr3t-pw",
        "postgresql+psycopg://app:s3cr3t%40pw@db.example/sms",
    ],
)
def test_the_database_password_stays_out_of_reprs(url: str) -> None:
    """Settings name their database but never its password, wherever the URL carries it."""
    settings = Settings.from_env({"NEARIQ_SMS_DATABASE_URL": url})
    assert settings.database_url == url  # the value itself is intact
    for shown in (repr(settings), str(settings)):
        assert "s3cr3t" not in shown
        assert "db.example" in shown


@pytest.mark.parametrize("sandbox", [False, True])
def test_the_services_repr_shows_no_password_or_token(sandbox: bool) -> None:
    """What a host might log on start-up: storage, provider and verifier, secrets masked."""
    settings = Settings.from_env(
        {
            "NEARIQ_SMS_DATABASE_URL": "postgresql+psycopg://app:s3cr3t-pw@db.example/sms",
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "TWILIO_AUTH_TOKEN": "very-secret-token",
            "NEARIQ_SMS_PUBLIC_URL": "https://sms.example.com",
        }
    )
    shown = repr(build_services(settings, sandbox=sandbox))
    assert "s3cr3t-pw" not in shown
    assert "very-secret-token" not in shown
