"""Client authentication without lockout: throttles per source address, peppered secret hashes.

Revision ID: 0006_tokens
Revises: 0005_ops

- ``auth_throttles``: failed authentications per source address, per (client id, address) and for the
  whole hub, with the time each must wait (replaces ``auth_failures``, which counted failures per
  client and locked it: anyone who knew a client id could lock its owner out).
- ``server_secrets``: the pepper of client-secret hashes when ``HUB_SECRET_PEPPER`` is not set.
- Clients locked by the old lockout are active again (a department disables a client by hand).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_tokens"
down_revision: str | None = "0005_ops"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auth_throttles",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("reported", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("failures >= 0", name=op.f("ck_auth_throttles_failures_non_negative")),
        sa.CheckConstraint("reported >= 0", name=op.f("ck_auth_throttles_reported_non_negative")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_auth_throttles")),
    )
    with op.batch_alter_table("auth_throttles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_throttles_last_failure_at"), ["last_failure_at"], unique=False
        )
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_server_secrets")),
    )
    op.execute("UPDATE clients SET status = 'active', locked_at = NULL WHERE status = 'locked'")
    op.execute("UPDATE clients SET failed_attempts = 0")
    with op.batch_alter_table("auth_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_auth_failures_client_at")
    op.drop_table("auth_failures")


def downgrade() -> None:
    op.create_table(
        "auth_failures",
        sa.Column("client_pk", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["client_pk"], ["clients.id"], name=op.f("fk_auth_failures_client_pk_clients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_failures")),
    )
    with op.batch_alter_table("auth_failures", schema=None) as batch_op:
        batch_op.create_index("ix_auth_failures_client_at", ["client_pk", "at"], unique=False)
    op.drop_table("server_secrets")
    with op.batch_alter_table("auth_throttles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_throttles_last_failure_at"))
    op.drop_table("auth_throttles")
