"""Sender registrations (US A2P 10DLC), and the sandbox registry's objects.

- ``sender_registrations``: each business's current registration, one row per
  business; its submitted details, chain of provider objects and the
  provider's reasons are JSON documents of the row.
- ``sandbox_registry_objects``: what the simulated registry holds, shared by
  every sandbox process on the database (``serve --sandbox``,
  ``registration sync``).
- ``sandbox_messages.messaging_service_sid``: the service a simulated send
  went through; earlier rows went through none.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS = "'standard', 'low_volume', 'sole_proprietor', 'existing'"
_STATUSES = "'draft', 'submitted', 'in_review', 'approved', 'rejected', 'suspended'"


def upgrade() -> None:
    op.create_table(
        "sender_registrations",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("business_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("steps", sa.Text(), nullable=False),
        sa.Column("issues", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("blocked_sends", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(), nullable=True),
        sa.CheckConstraint(f"kind IN ({_KINDS})", name=op.f("ck_sender_registrations_kind")),
        sa.CheckConstraint(f"status IN ({_STATUSES})", name=op.f("ck_sender_registrations_status")),
        sa.CheckConstraint(
            "blocked_sends >= 0", name=op.f("ck_sender_registrations_blocked_sends_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_sender_registrations_business_id_businesses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sender_registrations")),
        sa.UniqueConstraint("business_id", name=op.f("uq_sender_registrations_business_id")),
    )
    with op.batch_alter_table("sender_registrations") as batch:
        batch.create_index(
            "ix_sender_registrations_status_updated_at", ["status", "updated_at"], unique=False
        )
    op.create_table(
        "sandbox_registry_objects",
        sa.Column("sid", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("polls", sa.Integer(), nullable=False),
        sa.Column("parent", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_sandbox_registry_objects")),
    )
    with op.batch_alter_table("sandbox_registry_objects") as batch:
        batch.create_index("ix_sandbox_registry_objects_name", ["name"], unique=False)
    with op.batch_alter_table("sandbox_messages") as batch:
        batch.add_column(sa.Column("messaging_service_sid", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sandbox_messages") as batch:
        batch.drop_column("messaging_service_sid")
    with op.batch_alter_table("sandbox_registry_objects") as batch:
        batch.drop_index("ix_sandbox_registry_objects_name")
    op.drop_table("sandbox_registry_objects")
    with op.batch_alter_table("sender_registrations") as batch:
        batch.drop_index("ix_sender_registrations_status_updated_at")
    op.drop_table("sender_registrations")
