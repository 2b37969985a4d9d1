"""Business rules the store enforces itself, so concurrent writers cannot break them.

Revision ID: 0003_integrity
Revises: 0002

A rule checked by "count, then insert" holds only while writes are serialized (SQLite); under
PostgreSQL's READ COMMITTED two requests both count zero and both insert. Each such rule now has a
partial unique index, and the store refuses the second row:

- ``uq_referrals_one_open``: one referral that is not closed per person, partner and service;
- ``uq_enrollments_one_enrolled``: one open enrollment per person and program;
- ``uq_victim_registrations_one_active``: a registrant is actively registered to a case once;
- ``uq_restitution_payments_order_reference``: a receipt reference is recorded once per order
  (payments without a reference are not constrained).

(An offering's capacity is a count, not a key: ``enrolPerson`` locks the offering row instead.)

Rows that an older store already holds against these rules are resolved first, deliberately and
visibly, keeping the earliest row (lowest id) of each group:

- later duplicate open referrals are closed, with a closure reason saying so;
- later duplicate open enrollments are withdrawn;
- later duplicate active registrations are made inactive;

each as of the day the migration runs (what was recorded against them until then stays inside
their dates);
- later payments repeating a receipt reference of the same order get ``#<payment id>`` appended to
  their reference (the money stays recorded; only the reference is told apart).

The victims-first embargo now holds back every release-type event of every person for its minutes
after the event was recorded; ``ix_custody_events_created_at`` finds those events.

Fiscal notes seeded with the old ``FN-<year>-<nnnn>`` references (a count of the seeding loop) are
renamed to the one format the hub issues, ``FN-<year>-<id, six digits>``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_integrity"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _later_duplicates(table: str, keys: Sequence[str], where: str) -> str:
    """Ids of the rows of ``table`` matching ``where`` that repeat ``keys`` of a row with a lower id."""
    same = " AND ".join(f"e.{k} = t.{k}" for k in keys)
    inner = where.replace("{t}", "e")
    outer = where.replace("{t}", "t")
    return (
        f"SELECT t.id FROM {table} t WHERE {outer} AND EXISTS "
        f"(SELECT 1 FROM {table} e WHERE {same} AND {inner} AND e.id < t.id)"
    )


def _today(start: str) -> str:
    """The day the migration runs, or ``start`` if that is later (a date never precedes its start)."""
    return f"CASE WHEN {start} > CURRENT_DATE THEN {start} ELSE CURRENT_DATE END"


_RESOLVE = [
    f"""
    UPDATE referrals SET status = 'closed', closed_on = {_today("referred_on")}, version = version + 1,
        closure_reason = 'Duplicate of an earlier open referral (closed by migration 0003)'
    WHERE id IN ({_later_duplicates("referrals", ("person_id", "partner_id", "service_type"), "{t}.status <> 'closed'")})
    """,
    f"""
    UPDATE enrollments SET status = 'withdrawn', ended_on = {_today("enrolled_on")}, version = version + 1
    WHERE id IN ({_later_duplicates("enrollments", ("person_id", "program_id"), "{t}.status = 'enrolled'")})
    """,
    f"""
    UPDATE victim_registrations SET status = 'inactive', ended_on = {_today("registered_on")},
        version = version + 1
    WHERE id IN ({_later_duplicates("victim_registrations", ("victim_id", "person_id"), "{t}.status = 'active'")})
    """,
    f"""
    UPDATE restitution_payments
    SET reference = substr(reference, 1, 24) || '#' || CAST(id AS VARCHAR(16))
    WHERE id IN ({_later_duplicates("restitution_payments", ("order_id", "reference"), "{t}.reference IS NOT NULL")})
    """,
]

_OLD_FISCAL_NOTE = re.compile(r"^FN-(\d{4})-\d{4}$")


def _partial(condition: str) -> dict[str, sa.TextClause]:
    return {"postgresql_where": sa.text(condition), "sqlite_where": sa.text(condition)}


def upgrade() -> None:
    for statement in _RESOLVE:
        op.execute(statement)
    bind = op.get_bind()
    notes = bind.execute(sa.text("SELECT id, reference FROM fiscal_notes")).all()
    for note_id, reference in notes:
        old = _OLD_FISCAL_NOTE.match(reference)
        if old is not None:
            bind.execute(
                sa.text("UPDATE fiscal_notes SET reference = :reference WHERE id = :id"),
                {"reference": f"FN-{old.group(1)}-{note_id:06d}", "id": note_id},
            )
    op.create_index(
        "uq_referrals_one_open",
        "referrals",
        ["person_id", "partner_id", "service_type"],
        unique=True,
        **_partial("status <> 'closed'"),
    )
    op.create_index(
        "uq_enrollments_one_enrolled",
        "enrollments",
        ["person_id", "program_id"],
        unique=True,
        **_partial("status = 'enrolled'"),
    )
    op.create_index(
        "uq_victim_registrations_one_active",
        "victim_registrations",
        ["victim_id", "person_id"],
        unique=True,
        **_partial("status = 'active'"),
    )
    op.create_index(
        "uq_restitution_payments_order_reference",
        "restitution_payments",
        ["order_id", "reference"],
        unique=True,
    )
    op.create_index("ix_custody_events_created_at", "custody_events", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_custody_events_created_at", table_name="custody_events")
    op.drop_index("uq_restitution_payments_order_reference", table_name="restitution_payments")
    op.drop_index("uq_victim_registrations_one_active", table_name="victim_registrations")
    op.drop_index("uq_enrollments_one_enrolled", table_name="enrollments")
    op.drop_index("uq_referrals_one_open", table_name="referrals")
