"""Apply the Alembic migrations shipped inside the package.

Alembic is imported only when a migration runs or a database is not at
:data:`HEAD`: it costs every short command (``consent import``, ``dispatch``)
a large part of its start-up otherwise.
"""

from __future__ import annotations

import enum
from importlib import resources
from typing import TYPE_CHECKING

import attrs
import sqlalchemy as sa

from neariq_sms.adapters.sql.engine import make_engine

if TYPE_CHECKING:
    from alembic.config import Config

#: The newest migration's revision (a test holds it equal to Alembic's head).
HEAD = "0006"

#: An arbitrary constant: the PostgreSQL advisory lock that makes concurrent
#: upgrades (several servers starting at once) run one after the other.
_UPGRADE_LOCK = 0x6E71_736D  # fits the int4 of the two-key form
#: Where alembic keeps the revision (its default name).
_VERSION_TABLE = "alembic_version"


def alembic_config() -> Config:
    """The Alembic configuration of the packaged migrations (no ini file needed)."""
    from alembic.config import Config

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
    from alembic import command

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


class SchemaState(enum.Enum):
    """How a database's schema stands against the migrations of this package."""

    #: At the newest revision: ready to use.
    CURRENT = "current"
    #: No tables at all (a new database): :func:`upgrade` creates everything.
    EMPTY = "empty"
    #: At an older revision of this package: :func:`upgrade` brings it up.
    BEHIND = "behind"
    #: At a revision this package does not know: migrated by a newer release.
    AHEAD = "ahead"
    #: Tables, but no revision of this package: not a neariq-sms database.
    FOREIGN = "foreign"


@attrs.frozen
class Schema:
    """What :func:`schema_state` found."""

    state: SchemaState
    #: The database's revision (``None`` when it has none).
    revision: str | None
    #: The newest revision this package ships.
    head: str


def schema_state(engine: sa.Engine) -> Schema:
    """Read the database's schema revision and compare it with the packaged migrations.

    Reads only (on SQLite a new file is created empty by connecting, as SQLite does).

    Raises:
        sqlalchemy.exc.DBAPIError: the database cannot be reached or read.
    """
    with engine.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
        revision = None
        if _VERSION_TABLE in tables:
            # Read directly: alembic's MigrationContext would log its setup at INFO.
            version = sa.table(_VERSION_TABLE, sa.column("version_num"))
            revision = connection.execute(sa.select(version.c.version_num)).scalars().first()
        tables.discard(_VERSION_TABLE)
    if revision is None:
        state = SchemaState.FOREIGN if tables else SchemaState.EMPTY
    elif revision == HEAD:
        state = SchemaState.CURRENT
    elif revision in _known_revisions():
        state = SchemaState.BEHIND
    else:
        state = SchemaState.AHEAD
    return Schema(state=state, revision=revision, head=HEAD)


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    return {r.revision for r in script.walk_revisions()}


__all__ = ["HEAD", "Schema", "SchemaState", "alembic_config", "schema_state", "upgrade"]
