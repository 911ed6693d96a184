"""Alembic environment of the packaged migrations.

:func:`neariq_sms.adapters.sql.migrate.upgrade` hands over an open
connection in ``config.attributes["connection"]``; the plain ``alembic``
command line works too, with ``sqlalchemy.url`` set in its ini file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from neariq_sms.adapters.sql.engine import make_engine
from neariq_sms.adapters.sql.tables import metadata

config = context.config


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection given and no sqlalchemy.url configured")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (SQL script) migrations are not supported")
_main()
