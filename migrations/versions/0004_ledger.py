"""The ledger: correlation id and source address of each event; victim services' disclosures sealed.

Revision ID: 0004_ledger
Revises: 0003_integrity

- ``audit_events.correlation_id``: the caller's ``X-Request-Id`` (the hub always mints its own
  ``request_id``); ``audit_events.source_address``: the caller's address behind trusted proxies.
  Both are hashed when present, so the events written before them keep their hashes.
- ``audit_disclosures.sealed``: true for disclosures made in victim services' requests. Every reader
  but victim services matches only unsealed rows, through a partial index that holds no sealed row.
  Existing rows are back-filled here, the one UPDATE the ledger ever takes (as the tables' owner,
  with the append-only trigger stepped around for this statement alone).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_ledger"
down_revision: str | None = "0003_integrity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BACKFILL = (
    "UPDATE audit_disclosures SET sealed = true WHERE event_id IN "
    "(SELECT id FROM audit_events WHERE audience = 'victim_services')"
)
_SQLITE_NO_UPDATE = (
    "CREATE TRIGGER audit_disclosures_no_update BEFORE UPDATE ON audit_disclosures "
    "BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only: UPDATE on audit_disclosures is refused'); END"
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("audit_events", recreate="never") as batch:
        batch.add_column(sa.Column("correlation_id", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("source_address", sa.String(length=64), nullable=True))
    with op.batch_alter_table("audit_disclosures", recreate="never") as batch:
        batch.add_column(sa.Column("sealed", sa.Boolean(), server_default=sa.false(), nullable=False))
    if postgres:
        op.execute("ALTER TABLE audit_disclosures DISABLE TRIGGER audit_disclosures_append_only")
        op.execute(_BACKFILL)
        op.execute("ALTER TABLE audit_disclosures ENABLE TRIGGER audit_disclosures_append_only")
    else:
        op.execute("DROP TRIGGER audit_disclosures_no_update")
        op.execute(_BACKFILL.replace("true", "1"))
        op.execute(_SQLITE_NO_UPDATE)
    op.create_index(
        "ix_audit_disclosures_open_subject",
        "audit_disclosures",
        ["subject_kind", "subject_id", "event_id"],
        postgresql_where=sa.text("sealed = false"),
        sqlite_where=sa.text("sealed = 0"),
    )


def downgrade() -> None:
    op.drop_index("ix_audit_disclosures_open_subject", table_name="audit_disclosures")
    with op.batch_alter_table("audit_disclosures", recreate="never") as batch:
        batch.drop_column("sealed")
    with op.batch_alter_table("audit_events", recreate="never") as batch:
        batch.drop_column("source_address")
        batch.drop_column("correlation_id")
