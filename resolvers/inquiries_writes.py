"""Constituent services' writes: an inquiry's workflow, received -> assigned -> responded -> closed
(-> reopened)."""

from __future__ import annotations

import functools
import typing
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Insert, String, Table, bindparam, cast, func, insert, select, update

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers import validation as v
from resolvers.batching import row_by_id
from resolvers.errors import Conflict, InvalidInput, NotFound
from resolvers.models.inquiries import Inquiry, InquiryChannel, InquiryResponse, InquirySource, InquiryStatus
from resolvers.models.partners import Audience
from resolvers.models.people import Person
from resolvers.rows import InquiryRow
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


#: The columns a submission writes besides the id and the reference (``submit_inquiry``'s values).
_SUBMITTED = (
    "source",
    "category",
    "channel",
    "status",
    "partner_id",
    "requester_name",
    "requester_email",
    "requester_phone",
    "subject_person_id",
    "summary",
    "details",
    "received_at",
    "due_on",
    "reopened_count",
    "version",
)


class Submitted(NamedTuple):
    """An inquiry as stored, and whether the caller's row scope lets it read the inquiry back."""

    inquiry: InquiryRow
    visible: bool


def _submitted(row: Sequence[Any]) -> Submitted:
    # The statement returns the inquiry's columns in table order, then ``visible``.
    return Submitted(InquiryRow._make(row[:-1]), bool(row[-1]))


@functools.cache
def _postgresql_insert() -> Insert:
    """``INSERT INTO inquiries … SELECT`` with a bound parameter per value (named after its column) and
    ``reference_prefix``: the id from the sequence, the reference from it (zero-padded to six digits,
    longer once the ids are). On the table, not the mapped class: a Core INSERT skips the ORM's
    bulk-insert handling."""
    table = typing.cast(Table, Inquiry.__table__)
    n = select(func.nextval(func.pg_get_serial_sequence(Inquiry.__tablename__, "id")).label("n")).subquery()
    digits = cast(n.c.n, String)
    reference = bindparam("reference_prefix", type_=String) + func.lpad(
        digits, func.greatest(6, func.length(digits)), "0"
    )
    columns = [table.c.id, table.c.reference, *(table.c[k] for k in _SUBMITTED)]
    params = [n.c.n, reference, *(bindparam(k, type_=table.c[k].type) for k in _SUBMITTED)]
    return insert(table).from_select(columns, select(*params))


@functools.lru_cache(maxsize=256)
def _postgresql_submit(principal: Principal) -> Insert:
    """``_postgresql_insert`` returning the row and ``visible``, the caller's row scope over it.

    Built once per caller, not per request: building the expression (the scope's comparison
    included) cost more CPU than sending it. Keyed by the whole principal (its token included), so
    a scope that reads any part of who calls is never shared between callers; the embargo, which is
    not part of who calls, is not read by the inquiries' scope.
    """
    returned = (*Inquiry.__table__.columns, row_scope(principal, Inquiry).label("visible"))
    return _postgresql_insert().returning(*returned)


async def submit_inquiry(db: RequestDb, principal: Principal, new: NewInquiry, now: datetime) -> Submitted:
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
    # The reference follows the id, so concurrent submissions never collide.
    prefix = f"INQ-{now.year}-"
    if db.session.get_bind().dialect.name == "postgresql":
        # One statement, built once per caller (_postgresql_submit): the id drawn from the sequence,
        # the reference made from it, the row and its visibility returned. The values are parameters.
        if tuple(values) != _SUBMITTED:  # a value added above must be added to the statement too
            raise RuntimeError("submit_inquiry's values and _SUBMITTED differ")
        statement = _postgresql_submit(principal)
        return _submitted((await db.rows(statement, {"reference_prefix": prefix, **values}))[0])
    returned = (*Inquiry.__table__.columns, row_scope(principal, Inquiry).label("visible"))
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
    return _submitted((await db.rows(numbered))[0])


async def _current(db: RequestDb, principal: Principal, inquiry_id: int, version: int) -> InquiryRow:
    # FOR UPDATE (PostgreSQL) serialises concurrent transitions of one inquiry.
    row = await row_by_id(db, principal, Inquiry, InquiryRow, inquiry_id, lock=True)
    if row is None:
        raise NotFound("Inquiry", "id")
    v.check_version("inquiry", row.version, version)
    return row


async def _advance(db: RequestDb, row: InquiryRow, **values: Any) -> int:
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
