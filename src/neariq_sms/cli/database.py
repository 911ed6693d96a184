"""Opening the configured database for a command, every failure said in one line.

Which commands migrate: ``serve`` and ``db upgrade`` always do. Every other
command migrates only a SQLite database with no tables yet (a new file: the
first command run in a fresh directory just works, as ``serve`` does). An
existing database at an older revision, and any PostgreSQL database, is left to
``neariq-sms db upgrade``: there a migration is a release step run once, by an
operator (often as a role with DDL rights), before the new code serves; a cron
job or a one-off command must not alter a shared schema as a side effect, nor
create one in a database a mistyped URL points at.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from neariq_sms.cli.common import CliError, install_hint, safe_url

if TYPE_CHECKING:
    import sqlalchemy as sa

#: The URL forms the messages suggest.
URL_FORMS = "sqlite:///path/to/file.db, postgresql+psycopg://user:password@host/db or memory://"


def prepare_database(url: str, *, upgrade: bool) -> None:
    """Make sure the database at ``url`` can serve this version, or raise a one-line error.

    Args:
        url: ``NEARIQ_SMS_DATABASE_URL``.
        upgrade: migrate whatever is behind (``serve``, ``db upgrade``); otherwise
            only a SQLite database with no tables is migrated.

    Raises:
        CliError: the URL, the driver, the file, the server or the schema is not
            usable; the message says what to do next.
    """
    if url.startswith("memory:"):
        return
    try:
        from neariq_sms.adapters.sql import SchemaState, make_engine, schema_state
        from neariq_sms.adapters.sql import upgrade as apply_migrations
    except ModuleNotFoundError as exc:
        raise CliError(
            f"SQL storage needs {exc.name}, which is not installed: {install_hint('server')}"
        ) from None
    engine = _engine(url, make_engine)
    shown = safe_url(url)
    try:
        try:
            found = schema_state(engine)
        except Exception as exc:
            cause = database_cause(exc)
            if cause is None:
                raise
            raise CliError(
                f"cannot open the database {shown}: {cause}; check that it is running, that you"
                " may use it, and that NEARIQ_SMS_DATABASE_URL is right"
            ) from None
        state = found.state
        sqlite = engine.dialect.name == "sqlite"
        if state is SchemaState.CURRENT:
            return
        if state is SchemaState.AHEAD:
            raise CliError(
                f"the database {shown} is at schema revision {found.revision}, which this"
                f" neariq-sms does not know (its newest is {found.head}): it was migrated by a"
                " newer release; install that release"
            )
        if state is SchemaState.FOREIGN:
            raise CliError(
                f"the database {shown} holds other tables and no neariq-sms schema: point"
                " NEARIQ_SMS_DATABASE_URL at a neariq-sms database or a new one"
            )
        if upgrade or (sqlite and state is SchemaState.EMPTY):
            try:
                apply_migrations(engine)
            except Exception as exc:
                cause = database_cause(exc)
                if cause is None:
                    raise
                raise CliError(f"migrating the database {shown} failed: {cause}") from None
            return
        if state is SchemaState.EMPTY:
            raise CliError(
                f"the database {shown} has no neariq-sms tables yet: run neariq-sms db upgrade"
                " (only a new SQLite file is migrated by other commands)"
            )
        raise CliError(
            f"the database {shown} is at schema revision {found.revision}, this neariq-sms"
            f" needs {found.head}: run neariq-sms db upgrade"
        )
    finally:
        engine.dispose()


def _engine(url: str, make_engine: Callable[[str], sa.Engine]) -> sa.Engine:
    import sqlalchemy as sa
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = sa.make_url(url)
    except (ArgumentError, ValueError):
        raise CliError(f"NEARIQ_SMS_DATABASE_URL is not a database URL; use {URL_FORMS}") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise CliError(
            f"NEARIQ_SMS_DATABASE_URL names a {backend} database; neariq-sms runs on SQLite or"
            f" PostgreSQL: use {URL_FORMS}"
        )
    if backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).parent
        if not folder.is_dir():
            raise CliError(
                f"cannot create the SQLite database {parsed.database}: the folder {folder} does"
                " not exist; create it or point NEARIQ_SMS_DATABASE_URL elsewhere"
            )
    try:
        return make_engine(url)
    except NoSuchModuleError:
        raise CliError(f"SQLAlchemy has no driver {parsed.drivername!r}; use {URL_FORMS}") from None
    except ModuleNotFoundError as exc:
        if backend == "postgresql":
            use = "" if parsed.drivername == "postgresql+psycopg" else " and postgresql+psycopg://"
            raise CliError(
                f"the PostgreSQL driver ({exc.name}) is not installed: use the postgres extra"
                f" ({install_hint('server,postgres')}){use}"
            ) from None
        raise CliError(f"{exc.name} is not installed: {install_hint('server')}") from None
    except ValueError as exc:
        raise CliError(f"{exc}, or memory://") from None


def database_cause(exc: BaseException) -> str | None:
    """The driver's own first line for a database failure (``None`` if ``exc`` is not one)."""
    try:
        from sqlalchemy.exc import DBAPIError
    except ModuleNotFoundError:
        return None
    if not isinstance(exc, DBAPIError):
        return None
    if exc.orig is None:
        return type(exc).__name__
    lines = str(exc.orig).strip().splitlines()
    return lines[0] if lines else type(exc.orig).__name__
