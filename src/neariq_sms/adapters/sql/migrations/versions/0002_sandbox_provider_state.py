"""The sandbox provider's account: the numbers it holds, the messages it accepted.

``serve --sandbox``, ``dispatch --sandbox`` and ``reconcile --sandbox`` share
these tables, so every process on the database acts as one simulated provider.

Before this revision each sandbox process adopted, at start, the numbers the
businesses held as active. The data step does that adoption once: a database
a sandbox served keeps sending from its numbers. (On a Twilio database the
rows are inert: only the sandbox reads these tables.)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sandbox_numbers",
        sa.Column("sid", sa.String(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_sandbox_numbers")),
        sa.UniqueConstraint("number", name=op.f("uq_sandbox_numbers_number")),
    )
    op.create_table(
        "sandbox_messages",
        sa.Column("sid", sa.String(), nullable=False),
        sa.Column("from_phone", sa.String(length=16), nullable=False),
        sa.Column("to_phone", sa.String(length=16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("message_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_sandbox_messages")),
    )
    with op.batch_alter_table("sandbox_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sandbox_messages_from_phone_to_phone_sent_at",
            ["from_phone", "to_phone", "sent_at"],
            unique=False,
        )
    _adopt_active_numbers()


def _adopt_active_numbers() -> None:
    numbers = sa.table(
        "sms_numbers",
        sa.column("id", sa.String()),
        sa.column("number", sa.String()),
        sa.column("status", sa.String()),
        sa.column("provider_sid", sa.String()),
    )
    held = sa.table("sandbox_numbers", sa.column("sid", sa.String()), sa.column("number"))
    connection = op.get_bind()
    active = connection.execute(
        sa.select(numbers.c.id, numbers.c.number, numbers.c.provider_sid)
        .where(numbers.c.status == "active", numbers.c.provider_sid.is_not(None))
        .order_by(numbers.c.id)
    ).all()
    seen: set[str] = set()
    for row_id, number, sid in active:
        if sid in seen:
            # The old sandbox counted sids per process from 1, so two processes gave the
            # same sid to different numbers; Twilio's sids never repeat. Give the later
            # one a fresh sid, in the business's row too (release names it by sid).
            sid = "PN" + uuid.uuid4().hex
            connection.execute(
                numbers.update().where(numbers.c.id == row_id).values(provider_sid=sid)
            )
        seen.add(sid)
        # One active row per number (sms_numbers' partial unique index): no conflict here.
        connection.execute(held.insert().values(sid=sid, number=number))


def downgrade() -> None:
    with op.batch_alter_table("sandbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_sandbox_messages_from_phone_to_phone_sent_at")
    op.drop_table("sandbox_messages")
    op.drop_table("sandbox_numbers")
