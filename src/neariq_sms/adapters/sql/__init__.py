"""SQL storage: SQLAlchemy Core on SQLite (the embedded default) and PostgreSQL.

Build a unit of work with ``SqlUnitOfWork.from_url(url)`` or
``SqlUnitOfWork(make_engine(url))``; create or update the schema with
``upgrade(url_or_engine)`` first; ``schema_state(engine)`` tells whether it is needed.

The names below load their modules (and SQLAlchemy) on first use, so that
``DEFAULT_URL`` is readable without the ``[sql]`` extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neariq_sms._lazy import lazy_names
from neariq_sms.adapters.sql.urls import DEFAULT_URL

if TYPE_CHECKING:
    from neariq_sms.adapters.sql.engine import make_engine
    from neariq_sms.adapters.sql.migrate import Schema, SchemaState, schema_state, upgrade
    from neariq_sms.adapters.sql.storage import SqlUnitOfWork
    from neariq_sms.adapters.sql.tables import metadata

#: Where each lazily loaded name lives.
_HOMES = {
    "make_engine": "engine",
    "Schema": "migrate",
    "SchemaState": "migrate",
    "schema_state": "migrate",
    "upgrade": "migrate",
    "SqlUnitOfWork": "storage",
    "metadata": "tables",
}


__getattr__, __dir__ = lazy_names(__name__, {k: f"{__name__}.{v}" for k, v in _HOMES.items()})


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
