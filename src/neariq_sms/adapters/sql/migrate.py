"""Apply the Alembic migrations shipped inside the package."""

from __future__ import annotations

from importlib import resources

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from neariq_sms.adapters.sql.engine import make_engine

#: An arbitrary constant: the PostgreSQL advisory lock that makes concurrent
#: upgrades (several servers starting at once) run one after the other.
_UPGRADE_LOCK = 0x6E71_736D  # fits the int4 of the two-key form


def alembic_config() -> Config:
    """The Alembic configuration of the packaged migrations (no ini file needed)."""
    config = Config()
    location = resources.files("neariq_sms.adapters.sql") / "migrations"
    config.set_main_option("script_location", str(location))
    return config


def upgrade(url_or_engine: str | sa.Engine, revision: str = "head") -> None:
    """Bring the database schema up to ``revision`` (the newest by default).

    Idempotent: an up-to-date database is left as it is. Safe to call from
    several processes at once. Each migration step runs in one transaction.

    Args:
        url_or_engine: a URL as :func:`~neariq_sms.adapters.sql.make_engine`
            takes it, or an engine (which stays open).
    """
    engine = make_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
    try:
        config = alembic_config()
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # One lock per schema: schemas are migrated independently.
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"),
                    {"key": _UPGRADE_LOCK},
                )
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        if isinstance(url_or_engine, str):
            engine.dispose()


__all__ = ["alembic_config", "upgrade"]
