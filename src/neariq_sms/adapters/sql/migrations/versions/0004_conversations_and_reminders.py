"""Conversations and appointment reminders.

- ``messages`` gets a reminder's ``reference`` and ``appointment_at``, the kind
  ``reminder``, ``automatic`` (the carrier-required answers to keywords, stored
  in the thread since this revision), an index for a reference's latest reminder, a partial unique
  index (at most one scheduled reminder per reference) and one for the
  reminder list; the thread indexes of both directions end with the id (a
  page's order), so a page is read from the index with no sort.
- ``businesses`` gets its ``reminder_template``; consent events get the kind
  ``renewed`` (a newer consent for a phone that had one; ``consented`` before).
- ``conversations`` holds one summary row per (business, phone) thread. The data
  step fills it from the stored messages of both directions: the latest message
  of each thread, ``last_inbound_at``, and ``unread`` 0 — nothing could be
  marked read before, so a thread's history counts as read rather than flooding
  the dashboard with years of unread messages.

The downgrade drops the threads and deletes the reminders (0003 has no such kind).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EVENTS_BEFORE = "kind IN ('consented', 'opted_out', 'opted_in')"
_EVENTS_AFTER = "kind IN ('consented', 'opted_out', 'opted_in', 'renewed')"
_KINDS_BEFORE = "kind IN ('review_request', 'reply')"
_KINDS_AFTER = "kind IN ('review_request', 'reminder', 'reply')"
_REMINDER_SCHEDULED = "reference IS NOT NULL AND status = 'scheduled'"


def upgrade() -> None:
    with op.batch_alter_table("consent_events") as batch:
        batch.drop_constraint(op.f("ck_consent_events_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_consent_events_kind"), _EVENTS_AFTER)
    with op.batch_alter_table("businesses") as batch:
        batch.add_column(sa.Column("reminder_template", sa.Text(), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("reference", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("appointment_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("automatic", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.drop_constraint(op.f("ck_messages_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_messages_kind"), _KINDS_AFTER)
        batch.create_index(
            "ix_messages_business_id_reference_created_at",
            ["business_id", "reference", "created_at"],
        )
        batch.create_index(
            "uq_messages_business_id_reference_scheduled",
            ["business_id", "reference"],
            unique=True,
            sqlite_where=sa.text(_REMINDER_SCHEDULED),
            postgresql_where=sa.text(_REMINDER_SCHEDULED),
        )
        batch.create_index(
            "ix_messages_business_id_kind_send_at_id", ["business_id", "kind", "send_at", "id"]
        )
        # A thread page is ordered by (time, id): with the id in the index, no sort.
        batch.drop_index("ix_messages_business_id_to_phone_created_at")
        batch.create_index(
            "ix_messages_business_id_to_phone_created_at_id",
            ["business_id", "to_phone", "created_at", "id"],
        )
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_index("ix_inbound_messages_business_id_from_phone_received_at")
        batch.create_index(
            "ix_inbound_messages_business_id_from_phone_received_at_id",
            ["business_id", "from_phone", "received_at", "id"],
        )
    op.create_table(
        "conversations",
        sa.Column("business_id", sa.String(), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_direction", sa.String(length=20), nullable=False),
        sa.Column("last_body", sa.Text(), nullable=False),
        sa.Column("last_kind", sa.String(length=20), nullable=False),
        sa.Column("unread", sa.Integer(), nullable=False),
        sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "last_direction IN ('inbound', 'outbound')",
            name=op.f("ck_conversations_last_direction"),
        ),
        sa.CheckConstraint("unread >= 0", name=op.f("ck_conversations_unread_not_negative")),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_conversations_business_id_businesses"),
        ),
        sa.PrimaryKeyConstraint("business_id", "phone", name=op.f("pk_conversations")),
    )
    op.create_index(
        "ix_conversations_business_id_last_message_at_phone",
        "conversations",
        ["business_id", "last_message_at", "phone"],
    )
    _fill_conversations()


def _fill_conversations() -> None:
    # Window functions: SQLite 3.25+ and PostgreSQL. Ties on time go to the larger id,
    # as the thread's own order (created_at, id) does.
    op.execute(
        sa.text(
            """
            INSERT INTO conversations (business_id, phone, last_message_at, last_direction,
                                       last_body, last_kind, unread, last_inbound_at)
            SELECT t.business_id, t.phone, t.at, t.direction, t.body, t.kind, 0,
                   (SELECT MAX(i.received_at) FROM inbound_messages i
                     WHERE i.business_id = t.business_id AND i.from_phone = t.phone)
            FROM (
                SELECT m.*, ROW_NUMBER() OVER (
                    PARTITION BY m.business_id, m.phone ORDER BY m.at DESC, m.id DESC
                ) AS rank
                FROM (
                    SELECT business_id, to_phone AS phone, created_at AS at, id,
                           'outbound' AS direction, body, kind
                    FROM messages
                    UNION ALL
                    SELECT business_id, from_phone, received_at, id, 'inbound', body, 'inbound'
                    FROM inbound_messages
                ) m
            ) t
            WHERE t.rank = 1
            """
        )
    )


def downgrade() -> None:
    op.drop_index("ix_conversations_business_id_last_message_at_phone", "conversations")
    op.drop_table("conversations")
    op.execute(sa.text("DELETE FROM messages WHERE kind = 'reminder'"))
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_index("ix_inbound_messages_business_id_from_phone_received_at_id")
        batch.create_index(
            "ix_inbound_messages_business_id_from_phone_received_at",
            ["business_id", "from_phone", "received_at"],
        )
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_business_id_kind_send_at_id")
        batch.drop_index("ix_messages_business_id_to_phone_created_at_id")
        batch.create_index(
            "ix_messages_business_id_to_phone_created_at",
            ["business_id", "to_phone", "created_at"],
        )
        batch.drop_index("uq_messages_business_id_reference_scheduled")
        batch.drop_index("ix_messages_business_id_reference_created_at")
        batch.drop_constraint(op.f("ck_messages_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_messages_kind"), _KINDS_BEFORE)
        batch.drop_column("automatic")
        batch.drop_column("appointment_at")
        batch.drop_column("reference")
    with op.batch_alter_table("businesses") as batch:
        batch.drop_column("reminder_template")
    op.execute(sa.text("UPDATE consent_events SET kind = 'consented' WHERE kind = 'renewed'"))
    with op.batch_alter_table("consent_events") as batch:
        batch.drop_constraint(op.f("ck_consent_events_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_consent_events_kind"), _EVENTS_BEFORE)
