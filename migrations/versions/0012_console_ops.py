"""The console's operations: worker heartbeats, signed checkpoints in the store, sign-ins under way.

Revision ID: 0012_console_ops
Revises: 0011_console_sessions

- ``worker_heartbeats``: one row per notification worker (hub/worker.py), written at start and after
  every pass; ``stopped_at`` set on a clean shutdown. ``hubHealth`` calls a worker stale after three
  of its intervals without a beat.
- ``ledger_checkpoints``: every signed checkpoint of the ledger's head (``hub serve``'s interval,
  ``hub audit checkpoint``), also written outside the store as before. Not part of the ledger: the
  append-only triggers of 0002 stay on ``audit_events`` and ``audit_disclosures`` alone.
- ``console_oidc_pending``: console sign-ins under way at an identity provider, keyed by the SHA-256
  of their ``state``, the PKCE verifier and nonce sealed; each row is taken (deleted) once.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_console_ops"
down_revision: str | None = "0011_console_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("worker_id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("interval_s", sa.Float(), nullable=False),
        sa.Column("passes", sa.Integer(), nullable=False),
        sa.Column("last_work_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_work", sa.String(length=300), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_worker_heartbeats")),
    )
    op.create_index(op.f("ix_worker_heartbeats_beat_at"), "worker_heartbeats", ["beat_at"])
    op.create_table(
        "ledger_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("head_id", sa.BigInteger(), nullable=False),
        sa.Column("head", sa.String(length=64), nullable=True),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_checkpoints")),
    )
    op.create_index(op.f("ix_ledger_checkpoints_signed_at"), "ledger_checkpoints", ["signed_at"])
    op.create_table(
        "console_oidc_pending",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_console_oidc_pending")),
    )
    op.create_index(op.f("ix_console_oidc_pending_expires_at"), "console_oidc_pending", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_console_oidc_pending_expires_at"), table_name="console_oidc_pending")
    op.drop_table("console_oidc_pending")
    op.drop_index(op.f("ix_ledger_checkpoints_signed_at"), table_name="ledger_checkpoints")
    op.drop_table("ledger_checkpoints")
    op.drop_index(op.f("ix_worker_heartbeats_beat_at"), table_name="worker_heartbeats")
    op.drop_table("worker_heartbeats")
