"""The schema: SQLAlchemy Core tables on one ``MetaData``.

The invariants of docs/domain-rules.md live here as constraints, so that they hold for
every process sharing the database: partial unique indexes for the
one-number rules, primary keys for one consent per (business, phone) and one
allowance row per (business, period), a unique (business, idempotency key),
and CHECKs for the values the domain allows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from neariq_sms.domain.business import NumberStatus
from neariq_sms.domain.consent import ConsentEventKind
from neariq_sms.domain.conversations import Direction
from neariq_sms.domain.messages import MessageKind, MessageStatus
from neariq_sms.domain.plans import Plan
from neariq_sms.domain.registration import RegistrationKind, RegistrationStatus


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """An aware UTC datetime on every engine.

    PostgreSQL stores ``timestamptz``. SQLite has no time zones: the value is
    stored as naive UTC text, which also keeps its text order the time order.
    Naive datetimes are refused rather than guessed.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetimes are not stored; give an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """On SQLite, parse the stored naive UTC text straight into an aware value.

        The same values as the generic path (the dialect's parser, then
        :meth:`process_result_value`), which stays the fallback for any other
        text: ``datetime.replace(tzinfo=...)`` costs several times the parse,
        and a thread page reads some 150 of these.
        """
        generic = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or generic is None:
            return generic
        parse = datetime.fromisoformat

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if isinstance(value, str) and len(value) == _SQLITE_TEXT_LENGTH:
                try:
                    return parse(value + "+00:00")
                except ValueError:
                    pass
            return generic(value)

        return process


#: How SQLAlchemy's SQLite ``DATETIME`` stores a value: ``2026-03-11 13:00:00.000000``.
_SQLITE_TEXT_LENGTH = len("2026-03-11 13:00:00.000000")


NAMING_CONVENTION: dict[str, Any] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

PHONE = 16
SLUG = 40
STATUS = 20
REFERENCE = 200


def _one_of(column: str, values: list[str]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)  # enum values, not user input
    return f"{column} IN ({quoted})"


def _values(enum: Any) -> list[str]:
    return [member.value for member in enum]


REMINDER_SCHEDULED = (
    f"reference IS NOT NULL AND status = '{MessageStatus.SCHEDULED.value}'"  # enum value
)

HOLDS_SLOT = _one_of("status", [NumberStatus.PENDING.value, NumberStatus.ACTIVE.value])


def _partial_unique(name: str, *columns: str, where: str) -> sa.Index:
    """A unique index over the rows ``where`` selects, on both engines.

    PostgreSQL's WHERE is attached just before the index is created on
    PostgreSQL (its ``before_create`` DDL event, which ``metadata.create_all``
    and ``Index.create`` fire): a ``postgresql_where=`` here would make
    SQLAlchemy import its PostgreSQL dialect, with every driver module of it, to
    check the keyword, a tenth of a second of each SQLite process's start-up.
    The migrations create the same indexes (a test compares them, WHERE included).
    """
    index = sa.Index(name, *columns, unique=True, sqlite_where=sa.text(where))

    def on_postgresql(target: sa.Index, connection: sa.Connection, **_kw: Any) -> None:
        if connection.dialect.name == "postgresql":
            target.dialect_kwargs["postgresql_where"] = sa.text(where)

    sa.event.listen(index, "before_create", on_postgresql)
    return index


businesses = sa.Table(
    "businesses",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("plan", sa.String(STATUS), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("review_url", sa.Text),
    sa.Column("timezone", sa.String(), nullable=False),
    sa.Column("active", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("review_template", sa.Text),
    sa.Column("reminder_template", sa.Text),
    sa.CheckConstraint(_one_of("plan", _values(Plan)), name="plan"),
)

sms_numbers = sa.Table(
    "sms_numbers",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("business_id", sa.String(), sa.ForeignKey("businesses.id"), nullable=False),
    sa.Column("number", sa.String(PHONE), nullable=False),
    sa.Column("status", sa.String(STATUS), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("provider_sid", sa.String()),
    sa.Column("friendly_name", sa.Text),
    sa.Column("released_at", UtcDateTime),
    sa.CheckConstraint(_one_of("status", _values(NumberStatus)), name="status"),
    # While pending or active a row holds two slots: the business's one number
    # and the number's one business. Released rows are history and hold none.
    _partial_unique("uq_sms_numbers_business_holds", "business_id", where=HOLDS_SLOT),
    _partial_unique("uq_sms_numbers_number_held", "number", where=HOLDS_SLOT),
    sa.Index("ix_sms_numbers_business_id_created_at", "business_id", "created_at"),
)

consents = sa.Table(
    "consents",
    metadata,
    sa.Column("business_id", sa.String(), sa.ForeignKey("businesses.id"), primary_key=True),
    sa.Column("phone", sa.String(PHONE), primary_key=True),
    sa.Column("source", sa.String(SLUG), nullable=False),
    sa.Column("consented_at", UtcDateTime),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("opted_out_at", UtcDateTime),
    sa.Column("opt_out_source", sa.String(SLUG)),
    # Set while the record's first event, written by a bulk import, is not yet in
    # consent_events: the import whose event it is. The next event of the phone
    # writes it out first (an import so writes one row per record, not two).
    sa.Column("pending_import_id", sa.String()),
    # The primary key (business_id, phone) is the lookup index; this one
    # serves the newest-first pages.
    sa.Index("ix_consents_business_id_updated_at_phone", "business_id", "updated_at", "phone"),
)

consent_events = sa.Table(
    "consent_events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("business_id", sa.String(), sa.ForeignKey("businesses.id"), nullable=False),
    sa.Column("phone", sa.String(PHONE), nullable=False),
    sa.Column("kind", sa.String(STATUS), nullable=False),
    sa.Column("source", sa.String(SLUG), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("import_id", sa.String()),
    sa.CheckConstraint(_one_of("kind", _values(ConsentEventKind)), name="kind"),
    sa.Index("ix_consent_events_business_id_phone_id", "business_id", "phone", "id"),
)

# One row per bulk import: the provenance its records' events name.
consent_imports = sa.Table(
    "consent_imports",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("business_id", sa.String(), sa.ForeignKey("businesses.id"), nullable=False),
    sa.Column("source", sa.String(SLUG), nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
)

allowances = sa.Table(
    "allowances",
    metadata,
    sa.Column("business_id", sa.String(), sa.ForeignKey("businesses.id"), primary_key=True),
    sa.Column("period", sa.String(7), primary_key=True),
    sa.Column("used", sa.Integer, nullable=False),
    sa.CheckConstraint("used >= 0", name="used_not_negative"),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("business_id", sa.String(), sa.ForeignKey("businesses.id"), nullable=False),
    sa.Column("to_phone", sa.String(PHONE), nullable=False),
    sa.Column("from_phone", sa.String(PHONE), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("segments", sa.Integer, nullable=False),
    sa.Column("units", sa.Integer, nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("status", sa.String(STATUS), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("kind", sa.String(STATUS), nullable=False),
    sa.Column("idempotency_key", sa.String()),
    sa.Column("send_at", UtcDateTime),
    sa.Column("provider_sid", sa.String()),
    sa.Column("error_code", sa.Integer),
    sa.Column("updated_at", UtcDateTime),
    # What the first request answered (JSON), replayed to idempotent repeats.
    sa.Column("answer", sa.Text),
    # A reminder's appointment: the host's id for it, when it begins.
    sa.Column("reference", sa.String(REFERENCE)),
    sa.Column("appointment_at", UtcDateTime),
    sa.Column(
        "automatic",
        sa.Boolean(create_constraint=False),
        nullable=False,
        server_default=sa.false(),
    ),
    sa.CheckConstraint(_one_of("status", _values(MessageStatus)), name="status"),
    sa.CheckConstraint(_one_of("kind", _values(MessageKind)), name="kind"),
    sa.CheckConstraint("units >= 0", name="units_not_negative"),
    sa.UniqueConstraint("business_id", "idempotency_key"),
    sa.Index(
        # A thread page: (created_at, id) is its order, so the index serves it with no sort.
        "ix_messages_business_id_to_phone_created_at_id",
        "business_id",
        "to_phone",
        "created_at",
        "id",
    ),
    sa.Index("ix_messages_status_send_at", "status", "send_at"),
    sa.Index("ix_messages_provider_sid", "provider_sid"),
    # A reference's latest reminder; and at most one of them waiting to be sent.
    sa.Index(
        "ix_messages_business_id_reference_created_at", "business_id", "reference", "created_at"
    ),
    _partial_unique(
        "uq_messages_business_id_reference_scheduled",
        "business_id",
        "reference",
        where=REMINDER_SCHEDULED,
    ),
    # The reminder list: soonest send time first.
    sa.Index("ix_messages_business_id_kind_send_at_id", "business_id", "kind", "send_at", "id"),
)

inbound_messages = sa.Table(
    "inbound_messages",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("business_id", sa.String(), sa.ForeignKey("businesses.id"), nullable=False),
    sa.Column("from_phone", sa.String(PHONE), nullable=False),
    sa.Column("to_phone", sa.String(PHONE), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("provider_sid", sa.String()),
    sa.Column("keyword", sa.String(STATUS)),
    # Providers redeliver webhooks: one row per provider sid.
    sa.UniqueConstraint("provider_sid"),
    sa.Index(
        "ix_inbound_messages_business_id_from_phone_received_at_id",
        "business_id",
        "from_phone",
        "received_at",
        "id",
    ),
)

# One row per (business, customer phone) thread, written with each message, so
# that the conversation list reads a page of rows and never scans the messages.
conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("business_id", sa.String(), sa.ForeignKey("businesses.id"), primary_key=True),
    sa.Column("phone", sa.String(PHONE), primary_key=True),
    sa.Column("last_message_at", UtcDateTime, nullable=False),
    sa.Column("last_direction", sa.String(STATUS), nullable=False),
    sa.Column("last_body", sa.Text, nullable=False),
    sa.Column("last_kind", sa.String(STATUS), nullable=False),
    sa.Column("unread", sa.Integer, nullable=False),
    sa.Column("last_inbound_at", UtcDateTime),
    sa.CheckConstraint(_one_of("last_direction", _values(Direction)), name="last_direction"),
    sa.CheckConstraint("unread >= 0", name="unread_not_negative"),
    sa.Index(
        "ix_conversations_business_id_last_message_at_phone",
        "business_id",
        "last_message_at",
        "phone",
    ),
)

dashboard_sessions = sa.Table(
    "dashboard_sessions",
    metadata,
    sa.Column("token_hash", sa.String(), primary_key=True),
    sa.Column("business_id", sa.String(), sa.ForeignKey("businesses.id"), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime),
)

sender_registrations = sa.Table(
    "sender_registrations",
    metadata,
    sa.Column("id", sa.String(), primary_key=True),
    sa.Column("business_id", sa.String(), sa.ForeignKey("businesses.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    # What the business submitted, the chain's objects and the provider's reasons: JSON
    # documents read and written whole with the row (adapters.sql.repositories.registrations).
    sa.Column("details", sa.Text, nullable=False),
    sa.Column("steps", sa.Text, nullable=False),
    sa.Column("issues", sa.Text, nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("blocked_sends", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("submitted_at", UtcDateTime),
    sa.Column("leased_until", UtcDateTime),
    sa.Column("lease_owner", sa.String()),
    # A business has at most one current registration (a resubmission updates it).
    sa.UniqueConstraint("business_id"),
    sa.CheckConstraint(_one_of("kind", _values(RegistrationKind)), name="kind"),
    sa.CheckConstraint(_one_of("status", _values(RegistrationStatus)), name="status"),
    sa.CheckConstraint("blocked_sends >= 0", name="blocked_sends_not_negative"),
    # A sync lists the in-flight ones, least recently updated first.
    sa.Index("ix_sender_registrations_status_updated_at", "status", "updated_at"),
)

# --- the sandbox provider's account (adapters.sql.sandbox) ----------------------------
# Not the application's data: what the simulated provider holds, shared by every
# process on this database so that they act as one provider.

sandbox_numbers = sa.Table(
    "sandbox_numbers",
    metadata,
    sa.Column("sid", sa.String(), primary_key=True),
    sa.Column("number", sa.String(PHONE), nullable=False),
    # One account holds a number once: the purchase race is decided here.
    sa.UniqueConstraint("number"),
)

sandbox_messages = sa.Table(
    "sandbox_messages",
    metadata,
    sa.Column("sid", sa.String(), primary_key=True),
    sa.Column("from_phone", sa.String(PHONE), nullable=False),
    sa.Column("to_phone", sa.String(PHONE), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("sent_at", UtcDateTime, nullable=False),
    sa.Column("message_id", sa.String()),
    sa.Column("messaging_service_sid", sa.String()),
    # Reconciliation asks for the messages of one (from, to) pair in a time window.
    sa.Index(
        "ix_sandbox_messages_from_phone_to_phone_sent_at", "from_phone", "to_phone", "sent_at"
    ),
)

sandbox_registry_objects = sa.Table(
    "sandbox_registry_objects",
    metadata,
    sa.Column("sid", sa.String(), primary_key=True),
    # Not unique, as at a real provider: making an object twice makes two.
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("polls", sa.Integer, nullable=False),
    sa.Column("parent", sa.String()),
    sa.Index("ix_sandbox_registry_objects_name", "name"),
)

__all__ = [
    "UtcDateTime",
    "allowances",
    "businesses",
    "consent_events",
    "consent_imports",
    "consents",
    "dashboard_sessions",
    "inbound_messages",
    "messages",
    "metadata",
    "sandbox_messages",
    "sandbox_numbers",
    "sandbox_registry_objects",
    "sender_registrations",
    "sms_numbers",
]
