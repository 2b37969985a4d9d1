"""Research agreements get a release tier; extracts record what their release generalized.

Revision ID: 0007_research
Revises: 0006_tokens

``research_agreements.tier``: ``aggregate`` (statistics only, small cells suppressed) or ``record``
(k-anonymous records and extracts, and statistics computed over them). Existing agreements become
``record`` so that approved ones keep working: from this release on, their records are k-anonymous
with their ``small_cell_threshold`` as k. ``research_extracts.release``: the release's metadata (k,
quasi-identifiers, the generalization chosen, records suppressed), null for extracts made before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_research"
down_revision: str | None = "0006_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("research_agreements", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tier", sa.String(length=16), nullable=False, server_default=sa.text("'record'"))
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_research_agreements_tier_valid"), "tier IN ('aggregate', 'record')"
        )
    with op.batch_alter_table("research_extracts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("release", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("research_extracts", schema=None) as batch_op:
        batch_op.drop_column("release")
    with op.batch_alter_table("research_agreements", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_research_agreements_tier_valid"), type_="check")
        batch_op.drop_column("tier")
