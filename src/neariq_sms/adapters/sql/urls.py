"""The SQL adapter's default database, importable without SQLAlchemy (``config`` reads it)."""

#: The embedded default: a SQLite file in the working directory.
DEFAULT_URL = "sqlite:///neariq_sms.db"

__all__ = ["DEFAULT_URL"]
