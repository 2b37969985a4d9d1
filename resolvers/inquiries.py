"""Data access for constituent services' inquiries: lists and look-ups (the workflow's writes are
``resolvers/inquiries_writes.py``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers import validation as v
from resolvers.batching import rows_by_key
from resolvers.keys import key_in
from resolvers.models.inquiries import Inquiry, InquiryResponse, InquiryStatus
from resolvers.pagination import Page, paginate
from resolvers.rows import InquiryResponseRow, InquiryRow
from resolvers.session import RequestDb


@dataclass(frozen=True, slots=True)
class InquiryFilter:
    status: str | None = None
    category: str | None = None
    source: str | None = None
    overdue_on: date | None = None
    due_from: date | None = None
    due_to: date | None = None
    subject_person_id: int | None = None


async def list_inquiries(
    db: RequestDb, principal: Principal, f: InquiryFilter, first: int | None, after: str | None
) -> Page[InquiryRow]:
    conditions = [row_scope(principal, Inquiry)]
    if f.status:
        conditions.append(Inquiry.status == f.status)
    if f.category:
        conditions.append(Inquiry.category == f.category)
    if f.source:
        conditions.append(Inquiry.source == f.source)
    if f.overdue_on:
        conditions += [Inquiry.due_on < f.overdue_on, Inquiry.status != InquiryStatus.CLOSED]
    v.not_before("dueTo", f.due_to, "dueFrom", f.due_from)
    if f.due_from:
        conditions.append(Inquiry.due_on >= f.due_from)
    if f.due_to:
        conditions.append(Inquiry.due_on <= f.due_to)
    if f.subject_person_id is not None:
        conditions.append(Inquiry.subject_person_id == f.subject_person_id)
    stmt = select(*Inquiry.__table__.columns).where(*conditions)
    c = Inquiry.__table__.c
    return await paginate(db, stmt, [c.due_on, c.id], row=InquiryRow, first=first, after=after)


async def inquiries_by_id(db: RequestDb, principal: Principal, ids: Sequence[int]) -> list[InquiryRow | None]:
    stmt = select(*Inquiry.__table__.columns).where(
        row_scope(principal, Inquiry), key_in(db, Inquiry.id, ids)
    )
    found = {row.id: row for row in await db.rows_as(stmt, InquiryRow)}
    return [found.get(i) for i in ids]


async def inquiry_responses_by_inquiry_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[InquiryResponseRow]]:
    return await rows_by_key(
        db, principal, InquiryResponse, InquiryResponseRow, "inquiry_id", ids, ("responded_at", "id")
    )
