"""The disclosure ledger is append-only: triggers refuse to change or remove its rows.

Revision ID: 0002
Revises: 0001

PostgreSQL: BEFORE UPDATE, DELETE and TRUNCATE triggers on ``audit_events`` and ``audit_disclosures``
raise, so the role the hub runs as cannot rewrite history even with its own table privileges. The one
deliberate exception is ``hub audit purge``: a DELETE is let through only inside a transaction that
ran ``SET LOCAL hub.ledger_purge = 'on'`` and only for events older than 365 days (the trigger checks
the age itself, so no setting can purge anything younger).

SQLite: the same triggers with RAISE(ABORT); deletes of events younger than 365 days are refused.
They guard against mistakes, not against someone with the database file (``hub audit verify`` does).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG_UP = [
    """
    CREATE FUNCTION hub_ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        at timestamptz;
    BEGIN
        IF TG_OP = 'DELETE' AND coalesce(current_setting('hub.ledger_purge', true), '') = 'on' THEN
            IF TG_TABLE_NAME = 'audit_events' THEN
                at := OLD.occurred_at;
            ELSE
                SELECT occurred_at INTO at FROM audit_events WHERE id = OLD.event_id;
            END IF;
            IF at IS NOT NULL AND at < now() - interval '365 days' THEN
                RETURN OLD;
            END IF;
            RAISE EXCEPTION 'the audit ledger keeps events for 365 days; % is younger', at
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RAISE EXCEPTION 'the audit ledger is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE FUNCTION hub_ledger_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the audit ledger is append-only: TRUNCATE on % is refused', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
]

_TABLES = ("audit_events", "audit_disclosures")


def _pg_triggers(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION hub_ledger_refuse_change()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION hub_ledger_refuse_truncate()",
    ]


#: SQLite stores timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' text, which compares in time order.
_SQLITE_YOUNG = "strftime('%Y-%m-%d %H:%M:%f', 'now', '-365 days')"


def _sqlite_triggers() -> list[str]:
    return [
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        "BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only: UPDATE on audit_events is refused'); END",
        "CREATE TRIGGER audit_disclosures_no_update BEFORE UPDATE ON audit_disclosures "
        "BEGIN SELECT RAISE(ABORT, 'the audit ledger is append-only: UPDATE on audit_disclosures is refused'); END",
        f"CREATE TRIGGER audit_events_keep_a_year BEFORE DELETE ON audit_events WHEN OLD.occurred_at >= {_SQLITE_YOUNG} "
        "BEGIN SELECT RAISE(ABORT, 'the audit ledger keeps events for 365 days'); END",
        "CREATE TRIGGER audit_disclosures_keep_a_year BEFORE DELETE ON audit_disclosures "
        f"WHEN (SELECT occurred_at FROM audit_events WHERE id = OLD.event_id) >= {_SQLITE_YOUNG} "
        "BEGIN SELECT RAISE(ABORT, 'the audit ledger keeps events for 365 days'); END",
    ]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _PG_UP:
            op.execute(statement)
        for table in _TABLES:
            for statement in _pg_triggers(table):
                op.execute(statement)
    else:
        for statement in _sqlite_triggers():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS hub_ledger_refuse_change()")
        op.execute("DROP FUNCTION IF EXISTS hub_ledger_refuse_truncate()")
    else:
        for name in (
            "audit_events_no_update",
            "audit_disclosures_no_update",
            "audit_events_keep_a_year",
            "audit_disclosures_keep_a_year",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
