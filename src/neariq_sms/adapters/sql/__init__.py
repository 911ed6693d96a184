"""SQL storage: SQLAlchemy Core on SQLite (the embedded default) and PostgreSQL.

Build a unit of work with ``SqlUnitOfWork.from_url(url)`` or
``SqlUnitOfWork(make_engine(url))``; create or update the schema with
``upgrade(url_or_engine)`` first; ``schema_state(engine)`` tells whether it is needed.
"""

from neariq_sms.adapters.sql.engine import DEFAULT_URL, make_engine
from neariq_sms.adapters.sql.migrate import Schema, SchemaState, schema_state, upgrade
from neariq_sms.adapters.sql.storage import SqlUnitOfWork
from neariq_sms.adapters.sql.tables import metadata

__all__ = [
    "DEFAULT_URL",
    "Schema",
    "SchemaState",
    "SqlUnitOfWork",
    "make_engine",
    "metadata",
    "schema_state",
    "upgrade",
]
