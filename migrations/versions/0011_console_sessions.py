"""Console sessions in the store: every worker (and every node) serves every signed-in person.

Revision ID: 0011_console_sessions
Revises: 0010_ledger_append

- ``console_sessions``: one row per console session (hub/console/sessions.py), keyed by the
  SHA-256 of the session id (the id itself is only in the browser's cookie); the access token is
  sealed with AES-GCM under a key derived from the id. ``expires_at`` (indexed) is when the session
  ends unless seen again; expired rows are deleted as new sessions are written.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_console_sessions"
down_revision: str | None = "0010_ledger_append"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("audience", sa.String(length=40), nullable=True),
        sa.Column("who", sa.String(length=200), nullable=True),
        sa.Column("token_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("demo", sa.Boolean(), nullable=False),
        sa.Column("flash", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_console_sessions")),
    )
    op.create_index(op.f("ix_console_sessions_expires_at"), "console_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_console_sessions_expires_at"), table_name="console_sessions")
    op.drop_table("console_sessions")
