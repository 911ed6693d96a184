"""Initial schema: businesses, numbers, consents and their events, allowances,
messages, inbound messages, dashboard sessions.

Timestamps are ``DateTime(timezone=True)``: ``timestamptz`` on PostgreSQL,
UTC text on SQLite (the tables' ``UtcDateTime`` maps both).

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "businesses",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("plan", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_url", sa.Text(), nullable=True),
        sa.Column("timezone", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("review_template", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "plan IN ('free', 'starter', 'growth', 'pro', 'enterprise')",
            name=op.f("ck_businesses_plan"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_businesses")),
    )
    op.create_table(
        "allowances",
        sa.Column("business_id", sa.String(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.CheckConstraint("used >= 0", name=op.f("ck_allowances_used_not_negative")),
        sa.ForeignKeyConstraint(
            ["business_id"], ["businesses.id"], name=op.f("fk_allowances_business_id_businesses")
        ),
        sa.PrimaryKeyConstraint("business_id", "period", name=op.f("pk_allowances")),
    )
    op.create_table(
        "consent_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("business_id", sa.String(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('consented', 'opted_out', 'opted_in')", name=op.f("ck_consent_events_kind")
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_consent_events_business_id_businesses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_events")),
    )
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consent_events_business_id_phone_id", ["business_id", "phone", "id"], unique=False
        )

    op.create_table(
        "consents",
        sa.Column("business_id", sa.String(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opt_out_source", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["business_id"], ["businesses.id"], name=op.f("fk_consents_business_id_businesses")
        ),
        sa.PrimaryKeyConstraint("business_id", "phone", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consents_business_id_updated_at_phone",
            ["business_id", "updated_at", "phone"],
            unique=False,
        )

    op.create_table(
        "dashboard_sessions",
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("business_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_dashboard_sessions_business_id_businesses"),
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_dashboard_sessions")),
    )
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("business_id", sa.String(), nullable=False),
        sa.Column("from_phone", sa.String(length=16), nullable=False),
        sa.Column("to_phone", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provider_sid", sa.String(), nullable=True),
        sa.Column("keyword", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_inbound_messages_business_id_businesses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint("provider_sid", name=op.f("uq_inbound_messages_provider_sid")),
    )
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbound_messages_business_id_from_phone_received_at",
            ["business_id", "from_phone", "received_at"],
            unique=False,
        )

    op.create_table(
        "messages",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("business_id", sa.String(), nullable=False),
        sa.Column("to_phone", sa.String(length=16), nullable=False),
        sa.Column("from_phone", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("idempotency_key", sa.String(), nullable=True),
        sa.Column("send_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_sid", sa.String(), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('review_request', 'reply')", name=op.f("ck_messages_kind")),
        sa.CheckConstraint(
            "status IN ('scheduled', 'submitting', 'accepted', 'queued', 'sending', 'sent',"
            " 'delivered', 'undelivered', 'failed', 'canceled')",
            name=op.f("ck_messages_status"),
        ),
        sa.CheckConstraint("units >= 0", name=op.f("ck_messages_units_not_negative")),
        sa.ForeignKeyConstraint(
            ["business_id"], ["businesses.id"], name=op.f("fk_messages_business_id_businesses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint(
            "business_id", "idempotency_key", name=op.f("uq_messages_business_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_business_id_to_phone_created_at",
            ["business_id", "to_phone", "created_at"],
            unique=False,
        )
        batch_op.create_index("ix_messages_provider_sid", ["provider_sid"], unique=False)
        batch_op.create_index("ix_messages_status_send_at", ["status", "send_at"], unique=False)

    op.create_table(
        "sms_numbers",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("business_id", sa.String(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provider_sid", sa.String(), nullable=True),
        sa.Column("friendly_name", sa.Text(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'active', 'released')", name=op.f("ck_sms_numbers_status")
        ),
        sa.ForeignKeyConstraint(
            ["business_id"], ["businesses.id"], name=op.f("fk_sms_numbers_business_id_businesses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_numbers")),
    )
    with op.batch_alter_table("sms_numbers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sms_numbers_business_id_created_at", ["business_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_sms_numbers_business_holds",
            ["business_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('pending', 'active')"),
            postgresql_where=sa.text("status IN ('pending', 'active')"),
        )
        batch_op.create_index(
            "uq_sms_numbers_number_held",
            ["number"],
            unique=True,
            sqlite_where=sa.text("status IN ('pending', 'active')"),
            postgresql_where=sa.text("status IN ('pending', 'active')"),
        )


def downgrade() -> None:
    with op.batch_alter_table("sms_numbers", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_sms_numbers_number_held",
            sqlite_where=sa.text("status IN ('pending', 'active')"),
            postgresql_where=sa.text("status IN ('pending', 'active')"),
        )
        batch_op.drop_index(
            "uq_sms_numbers_business_holds",
            sqlite_where=sa.text("status IN ('pending', 'active')"),
            postgresql_where=sa.text("status IN ('pending', 'active')"),
        )
        batch_op.drop_index("ix_sms_numbers_business_id_created_at")

    op.drop_table("sms_numbers")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_status_send_at")
        batch_op.drop_index("ix_messages_provider_sid")
        batch_op.drop_index("ix_messages_business_id_to_phone_created_at")

    op.drop_table("messages")
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_messages_business_id_from_phone_received_at")

    op.drop_table("inbound_messages")
    op.drop_table("dashboard_sessions")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index("ix_consents_business_id_updated_at_phone")

    op.drop_table("consents")
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_events_business_id_phone_id")

    op.drop_table("consent_events")
    op.drop_table("allowances")
    op.drop_table("businesses")
