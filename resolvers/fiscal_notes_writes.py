"""Fiscal notes' writes: a legislative office requests a note, the budget unit completes it."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers import validation as v
from resolvers.errors import Conflict, InvalidInput, NotFound
from resolvers.fiscal_notes import note_reference
from resolvers.models.fiscal_notes import FiscalNote, FiscalNoteStatus
from resolvers.session import RequestDb
from resolvers.versioned import update_versioned

#: House and Senate bills: HB 123, SB 45, HJR 7 ...
_BILL = re.compile(r"^[A-Z]{2,4} ?\d{1,5}$")


_MAX_COST = Decimal("999999999999.99")


async def request_fiscal_note(
    db: RequestDb, principal: Principal, bill_number: str, title: str, due_on: date, now: datetime
) -> int:
    bill = v.text("billNumber", bill_number, max_length=20).upper()
    if not _BILL.match(bill):
        raise InvalidInput("billNumber", "must look like HB 123 or SB 45")
    name = v.text("title", title, max_length=200)
    today = now.date()
    v.not_before("dueOn", due_on, "today", today)
    note = FiscalNote(
        reference=f"pending-{uuid.uuid4().hex[:12]}",
        bill_number=bill,
        title=name,
        # A legislative office's request is its own: it keeps seeing it before submission.
        requested_by_partner_id=principal.partner_id if principal.is_partner else None,
        requested_on=today,
        due_on=due_on,
        status=FiscalNoteStatus.REQUESTED,
    )
    db.add(note)
    await db.flush()
    note.reference = note_reference(today.year, note.id)
    await db.flush()
    return note.id


def _cost(field: str, value: Decimal) -> Decimal:
    if not value.is_finite() or abs(value) > _MAX_COST:
        raise InvalidInput(field, f"must be a number between -{_MAX_COST} and {_MAX_COST}")
    if value != value.quantize(Decimal("0.01")):
        raise InvalidInput(field, "must have at most two decimal places")
    return value


@dataclass(frozen=True, slots=True)
class Completion:
    note_id: int
    version: int
    cost_year1: Decimal
    cost_year2: Decimal
    cost_year3: Decimal
    summary: str


async def complete_fiscal_note(db: RequestDb, principal: Principal, done: Completion, now: datetime) -> int:
    """Submit the note's estimate (negative costs are savings); a submitted note is final."""
    costs = [
        _cost(f"costYear{i + 1}", c)
        for i, c in enumerate((done.cost_year1, done.cost_year2, done.cost_year3))
    ]
    summary = v.text("summary", done.summary, max_length=10_000)
    rows = await db.rows(
        select(*FiscalNote.__table__.columns)
        .where(row_scope(principal, FiscalNote), FiscalNote.id == done.note_id)
        .with_for_update()
    )
    if not rows:
        raise NotFound("FiscalNote", "id")
    note = rows[0]
    v.check_version("fiscal note", note.version, done.version)
    if note.status == FiscalNoteStatus.SUBMITTED:
        raise Conflict("id", "is already submitted; a submitted fiscal note is final")
    await update_versioned(
        db,
        FiscalNote,
        note.id,
        done.version,
        {
            "status": FiscalNoteStatus.SUBMITTED,
            "cost_year1": costs[0],
            "cost_year2": costs[1],
            "cost_year3": costs[2],
            "summary": summary,
            "submitted_at": now,
        },
        entity="fiscal note",
    )
    return int(note.id)
