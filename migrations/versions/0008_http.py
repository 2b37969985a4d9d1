"""Automatic persisted queries are bounded: which entries a client registered itself, and when each
was last used.

Revision ID: 0008_http
Revises: 0007_research

- ``persisted_operations.apq``: true for an entry registered by the client's own APQ request; those
  count against ``HUB_APQ_MAX_PER_CLIENT`` and are dropped after ``HUB_APQ_EXPIRE_DAYS`` unused.
  Entries that exist before this migration cannot be told apart, so they are kept as if registered
  from a manifest (``apq`` false): nothing a client relies on disappears by upgrading.
- ``persisted_operations.last_used_at``: when a request last ran the entry (its registration time
  to begin with).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_http"
down_revision: str | None = "0007_research"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("persisted_operations", schema=None) as batch:
        batch.add_column(sa.Column("apq", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(
            sa.Column(
                "last_used_at",
                sa.DateTime(timezone=True),
                server_default=sa.text("CURRENT_TIMESTAMP"),
                nullable=False,
            )
        )
        batch.create_index("ix_persisted_operations_apq_used", ["apq", "last_used_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("persisted_operations", schema=None) as batch:
        batch.drop_index("ix_persisted_operations_apq_used")
        batch.drop_column("last_used_at")
        batch.drop_column("apq")
