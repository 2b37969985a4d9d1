"""Notifications remember when a worker began sending them (``send_started_at``).

Revision ID: 0005_ops
Revises: 0004_ledger

The delivery worker stamps a claimed notification just before it hands the message to the mail
server or gateway, and clears the stamp when it records the outcome. A claim whose lease ran out
without the stamp never sent anything and is handed back at once; one with the stamp may have been
delivered, so it is handed back only after a grace period in which its worker can still record
the outcome late (see ``resolvers/victims_delivery_queue.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_ops"
down_revision: str | None = "0004_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("send_started_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("send_started_at")
