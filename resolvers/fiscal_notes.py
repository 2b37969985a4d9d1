"""Fiscal notes: legislative offices request them, the budget unit prepares and submits them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Select, select

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers import validation as v
from resolvers.batching import one_per_key
from resolvers.keys import key_in
from resolvers.models.fiscal_notes import FiscalNote
from resolvers.models.partners import Partner
from resolvers.pagination import Page, paginate
from resolvers.session import RequestDb


def _notes() -> Select[Any]:
    # The requesting office's name travels with the note: one statement for a page.
    return select(*FiscalNote.__table__.columns, Partner.name.label("requested_by_name")).outerjoin(
        Partner, Partner.id == FiscalNote.requested_by_partner_id
    )


@dataclass(frozen=True, slots=True)
class FiscalNoteFilter:
    status: str | None = None
    bill_number: str | None = None
    due_from: date | None = None
    due_to: date | None = None


class FiscalNoteView(NamedTuple):
    """A fiscal note (``fiscal_notes``, in table order) and the requesting office's name (``_notes``)."""

    reference: str
    bill_number: str
    title: str
    requested_by_partner_id: int | None
    requested_on: date
    due_on: date
    status: str
    cost_year1: Decimal | None
    cost_year2: Decimal | None
    cost_year3: Decimal | None
    summary: str | None
    submitted_at: datetime | None
    id: int
    created_at: datetime
    version: int
    requested_by_name: str | None


async def list_fiscal_notes(
    db: RequestDb, principal: Principal, f: FiscalNoteFilter, first: int | None, after: str | None
) -> Page[FiscalNoteView]:
    v.not_before("dueTo", f.due_to, "dueFrom", f.due_from)
    conditions = [row_scope(principal, FiscalNote)]
    if f.status:
        conditions.append(FiscalNote.status == f.status)
    if f.bill_number:
        conditions.append(FiscalNote.bill_number == f.bill_number.strip().upper())
    if f.due_from:
        conditions.append(FiscalNote.due_on >= f.due_from)
    if f.due_to:
        conditions.append(FiscalNote.due_on <= f.due_to)
    stmt = _notes().where(*conditions)
    c = FiscalNote.__table__.c
    return await paginate(db, stmt, [c.due_on, c.id], row=FiscalNoteView, first=first, after=after)


async def fiscal_notes_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[FiscalNoteView | None]:
    stmt = _notes().where(row_scope(principal, FiscalNote), key_in(db, FiscalNote.id, ids))
    return one_per_key(await db.rows_as(stmt, FiscalNoteView), "id", ids)


def note_reference(year: int, note_id: int) -> str:
    """A fiscal note's reference: ``FN-<year requested>-<id, six digits>``. From the row id, so two
    requests at once never get the same one; the seeded notes use the same (``hub.synthetic``)."""
    return f"FN-{year}-{note_id:06d}"
