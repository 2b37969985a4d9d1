"""Data access for constituent services' inquiries: lists, look-ups and the workflow's writes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Row, func, select

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers import validation as v
from resolvers.errors import InvalidInput, NotFound
from resolvers.models.inquiries import Inquiry, InquiryChannel, InquirySource, InquiryStatus
from resolvers.models.partners import Audience
from resolvers.models.people import Person
from resolvers.pagination import Page, paginate
from resolvers.session import RequestDb

#: Constituent services answers within ten working days; two calendar weeks is the due date.
RESPONSE_DAYS = 14


@dataclass(frozen=True, slots=True)
class NewInquiry:
    source: str
    category: str
    channel: str
    requester_name: str
    requester_email: str | None
    requester_phone: str | None
    subject_person_id: int | None
    summary: str
    details: str


@dataclass(frozen=True, slots=True)
class InquiryFilter:
    status: str | None = None
    category: str | None = None
    source: str | None = None
    overdue_on: date | None = None


async def list_inquiries(
    db: RequestDb, principal: Principal, f: InquiryFilter, first: int | None, after: str | None
) -> Page[Row[Any]]:
    conditions = [row_scope(principal, Inquiry)]
    if f.status:
        conditions.append(Inquiry.status == f.status)
    if f.category:
        conditions.append(Inquiry.category == f.category)
    if f.source:
        conditions.append(Inquiry.source == f.source)
    if f.overdue_on:
        conditions += [Inquiry.due_on < f.overdue_on, Inquiry.status != InquiryStatus.CLOSED]
    stmt = select(*Inquiry.__table__.columns).where(*conditions)
    c = Inquiry.__table__.c
    return await paginate(db, stmt, [c.due_on, c.id], first=first, after=after)


async def inquiries_by_id(db: RequestDb, principal: Principal, ids: Sequence[int]) -> list[Row[Any] | None]:
    stmt = select(*Inquiry.__table__.columns).where(row_scope(principal, Inquiry), Inquiry.id.in_(ids))
    found = {row.id: row for row in await db.rows(stmt)}
    return [found.get(i) for i in ids]


async def submit_inquiry(db: RequestDb, principal: Principal, new: NewInquiry, now: datetime) -> int:
    """File an inquiry; a legislative office's inquiries are recorded as its own."""
    name = v.text("requesterName", new.requester_name, max_length=120)
    summary = v.text("summary", new.summary, max_length=200)
    details = v.text("details", new.details, max_length=10_000)
    email = v.optional_text("requesterEmail", new.requester_email, max_length=254)
    if email is not None and ("@" not in email or email.startswith("@") or email.endswith("@")):
        raise InvalidInput("requesterEmail", "is not an email address")
    phone = v.optional_text("requesterPhone", new.requester_phone, max_length=20)
    if new.subject_person_id is not None:
        visible = await db.scalar(
            select(func.count())
            .select_from(Person)
            .where(row_scope(principal, Person), Person.id == new.subject_person_id)
        )
        if not visible:
            raise NotFound("Person", "subjectPersonId")
    source, channel = new.source, new.channel
    if principal.audience is Audience.LEGISLATIVE:
        # An office files on behalf of a constituent, through the API: it cannot pose as the public.
        source, channel = InquirySource.LEGISLATIVE, InquiryChannel.API
    inquiry = Inquiry(
        reference=f"pending-{uuid.uuid4().hex[:12]}",
        source=source,
        category=new.category,
        channel=channel,
        status=InquiryStatus.RECEIVED,
        partner_id=principal.partner_id if principal.is_partner else None,
        requester_name=name,
        requester_email=email,
        requester_phone=phone,
        subject_person_id=new.subject_person_id,
        summary=summary,
        details=details,
        received_at=now,
        due_on=(now + timedelta(days=RESPONSE_DAYS)).date(),
    )
    db.add(inquiry)
    await db.flush()
    # The reference follows the id, so concurrent submissions never collide.
    inquiry.reference = f"INQ-{now.year}-{inquiry.id:06d}"
    await db.flush()
    return inquiry.id
