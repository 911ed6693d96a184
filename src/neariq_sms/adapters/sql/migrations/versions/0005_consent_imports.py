"""Bulk consent imports record their provenance once.

- ``consent_imports``: one row per import (business, default source, start).
- ``consent_events.import_id``: the import an event came through.
- ``consents.pending_import_id``: set while a record's first event, written by
  an import, is not yet a row of ``consent_events`` (the next event of the
  phone writes it out first); rows before this revision have none.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_imports",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("business_id", sa.String(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_consent_imports_business_id_businesses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_imports")),
    )
    with op.batch_alter_table("consent_events") as batch:
        batch.add_column(sa.Column("import_id", sa.String(), nullable=True))
    with op.batch_alter_table("consents") as batch:
        batch.add_column(sa.Column("pending_import_id", sa.String(), nullable=True))


def downgrade() -> None:
    # Write out the pending events first: the trail must not lose them.
    op.execute(
        "INSERT INTO consent_events (business_id, phone, kind, source, at, import_id)"
        " SELECT business_id, phone, 'consented', source, updated_at, pending_import_id"
        " FROM consents WHERE pending_import_id IS NOT NULL"
    )
    with op.batch_alter_table("consents") as batch:
        batch.drop_column("pending_import_id")
    with op.batch_alter_table("consent_events") as batch:
        batch.drop_column("import_id")
    op.drop_table("consent_imports")
