"""Constituent services' writes: an inquiry's workflow, received -> assigned -> responded -> closed
(-> reopened)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, String, cast, func, insert, literal, select, update

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers import validation as v
from resolvers.errors import Conflict, InvalidInput, NotFound
from resolvers.models.inquiries import Inquiry, InquiryChannel, InquiryResponse, InquirySource, InquiryStatus
from resolvers.models.partners import Audience
from resolvers.models.people import Person
from resolvers.session import RequestDb
from resolvers.versioned import update_versioned

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


async def submit_inquiry(db: RequestDb, principal: Principal, new: NewInquiry, now: datetime) -> Row[Any]:
    """File an inquiry; a legislative office's inquiries are recorded as its own.

    Returns the inquiry as stored, with ``visible``: whether the caller's row scope lets it read the
    inquiry back (the payload then needs no second read).
    """
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
    values: dict[str, Any] = {
        "source": source,
        "category": new.category,
        "channel": channel,
        "status": InquiryStatus.RECEIVED,
        "partner_id": principal.partner_id if principal.is_partner else None,
        "requester_name": name,
        "requester_email": email,
        "requester_phone": phone,
        "subject_person_id": new.subject_person_id,
        "summary": summary,
        "details": details,
        "received_at": now,
        "due_on": (now + timedelta(days=RESPONSE_DAYS)).date(),
        "reopened_count": 0,
        "version": 1,
    }
    returned = (*Inquiry.__table__.columns, row_scope(principal, Inquiry).label("visible"))
    # The reference follows the id, so concurrent submissions never collide.
    prefix = f"INQ-{now.year}-"
    if db.session.get_bind().dialect.name == "postgresql":
        # One statement: the id drawn from the sequence, the reference made from it (zero-padded to
        # six digits, longer once the ids are), the row and its visibility returned.
        n = select(
            func.nextval(func.pg_get_serial_sequence(Inquiry.__tablename__, "id")).label("n")
        ).subquery()
        digits = cast(n.c.n, String)
        reference = literal(prefix) + func.lpad(digits, func.greatest(6, func.length(digits)), "0")
        columns = [Inquiry.id, Inquiry.reference, *(Inquiry.__table__.c[k] for k in values)]
        params = [
            n.c.n,
            reference,
            *(literal(value, Inquiry.__table__.c[k].type) for k, value in values.items()),
        ]
        statement = insert(Inquiry).from_select(columns, select(*params)).returning(*returned)
        return (await db.rows(statement))[0]
    # SQLite numbers the row as it is written: the reference is set from the id just given.
    pk = (
        await db.rows(
            insert(Inquiry)
            .values(reference=f"pending-{uuid.uuid4().hex[:12]}", **values)
            .returning(Inquiry.id)
        )
    )[0].id
    numbered = (
        update(Inquiry).where(Inquiry.id == pk).values(reference=f"{prefix}{pk:06d}").returning(*returned)
    )
    return (await db.rows(numbered))[0]


async def _current(db: RequestDb, principal: Principal, inquiry_id: int, version: int) -> Row[Any]:
    # FOR UPDATE (PostgreSQL) serialises concurrent transitions of one inquiry.
    rows = await db.rows(
        select(*Inquiry.__table__.columns)
        .where(row_scope(principal, Inquiry), Inquiry.id == inquiry_id)
        .with_for_update()
    )
    if not rows:
        raise NotFound("Inquiry", "id")
    v.check_version("inquiry", rows[0].version, version)
    return rows[0]


async def _advance(db: RequestDb, row: Row[Any], **values: Any) -> int:
    await update_versioned(db, Inquiry, row.id, row.version, values, entity="inquiry")
    return int(row.id)


async def assign_inquiry(
    db: RequestDb, principal: Principal, inquiry_id: int, version: int, assignee: str
) -> int:
    assigned_to = v.text("assignedTo", assignee, max_length=120)
    row = await _current(db, principal, inquiry_id, version)
    if row.status == InquiryStatus.CLOSED:
        raise Conflict("id", "is closed; reopen it before assigning it")
    # Reassigning an answered inquiry keeps its status: the response stands.
    status = InquiryStatus.ASSIGNED if row.status == InquiryStatus.RECEIVED else row.status
    return await _advance(db, row, assigned_to=assigned_to, status=status)


@dataclass(frozen=True, slots=True)
class NewResponse:
    inquiry_id: int
    version: int
    responder: str
    channel: str
    body: str


async def respond_to_inquiry(db: RequestDb, principal: Principal, new: NewResponse, now: datetime) -> int:
    responder = v.text("responder", new.responder, max_length=120)
    body = v.text("body", new.body, max_length=10_000)
    row = await _current(db, principal, new.inquiry_id, new.version)
    if row.status == InquiryStatus.CLOSED:
        raise Conflict("id", "is closed; reopen it before responding")
    db.add(
        InquiryResponse(
            inquiry_id=row.id, responded_at=now, responder=responder, channel=new.channel, body=body
        )
    )
    await db.flush()
    return await _advance(db, row, status=InquiryStatus.RESPONDED, assigned_to=row.assigned_to or responder)


async def close_inquiry(
    db: RequestDb, principal: Principal, inquiry_id: int, version: int, now: datetime
) -> int:
    row = await _current(db, principal, inquiry_id, version)
    if row.status == InquiryStatus.CLOSED:
        raise Conflict("id", "is already closed")
    return await _advance(db, row, status=InquiryStatus.CLOSED, closed_at=now)


async def reopen_inquiry(
    db: RequestDb, principal: Principal, inquiry_id: int, version: int, now: datetime
) -> int:
    row = await _current(db, principal, inquiry_id, version)
    if row.status != InquiryStatus.CLOSED:
        raise Conflict("id", f"is {row.status}, not closed; only a closed inquiry can be reopened")
    # A reopened inquiry is owed a fresh answer within the usual time.
    return await _advance(
        db,
        row,
        status=InquiryStatus.ASSIGNED if row.assigned_to else InquiryStatus.RECEIVED,
        closed_at=None,
        reopened_count=row.reopened_count + 1,
        due_on=(now + timedelta(days=RESPONSE_DAYS)).date(),
    )
