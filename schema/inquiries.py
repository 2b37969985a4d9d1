"""Constituent services: inquiries from families, legislative offices and the public."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from auth.classes import FieldClass
from resolvers import inquiries as data
from resolvers.models.inquiries import InquiryCategory, InquiryChannel, InquirySource, InquiryStatus
from resolvers.rows import InquiryRow
from schema.context import Info
from schema.fields import classified, resolves
from schema.ids import from_global_id, to_global_id
from schema.pagination import Connection, connection
from schema.people import After, PageSize, Person
from schema.rows import FromRow

strawberry.enum(InquirySource, description="Who the inquiry comes from.")
strawberry.enum(InquiryCategory, description="What the inquiry is about.")
strawberry.enum(InquiryChannel, description="How the inquiry reached the department.")
strawberry.enum(InquiryStatus, description="Where the inquiry is in its workflow.")


@strawberry.type(description="An inquiry to constituent services and its place in the workflow.")
class Inquiry:
    pk: strawberry.Private[int]
    subject_pk: strawberry.Private[int | None]
    reference: str = classified(FieldClass.INQUIRIES, "The department's reference, e.g. INQ-2026-000123.")
    source: InquirySource = classified(FieldClass.INQUIRIES, "Family, legislative office or public.")
    category: InquiryCategory = classified(FieldClass.INQUIRIES, "What it is about.")
    channel: InquiryChannel = classified(FieldClass.INQUIRIES, "How it arrived.")
    status: InquiryStatus = classified(FieldClass.INQUIRIES, "Received, assigned, responded or closed.")
    requester_name: str = classified(FieldClass.INQUIRIES, "Who asked.")
    requester_email: str | None = classified(FieldClass.INQUIRIES, "Requester's email.")
    requester_phone: str | None = classified(FieldClass.INQUIRIES, "Requester's phone.")
    summary: str = classified(FieldClass.INQUIRIES, "One line about the inquiry.")
    details: str = classified(FieldClass.INQUIRIES, "The inquiry in full.")
    received_at: datetime = classified(FieldClass.INQUIRIES, "When it was received.")
    due_on: date = classified(FieldClass.INQUIRIES, "When a response is due.")
    assigned_to: str | None = classified(FieldClass.INQUIRIES, "Staff member handling it.")
    closed_at: datetime | None = classified(FieldClass.INQUIRIES, "When it was closed.")
    reopened_count: int = classified(FieldClass.INQUIRIES, "How often it was reopened after closing.")
    version: int = classified(
        FieldClass.INQUIRIES, "Send this back with an update; a stale version is refused."
    )

    @resolves(FieldClass.INQUIRIES, "Opaque global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Inquiry", self.pk))

    @resolves(FieldClass.PUBLIC_PERSON, "The person the inquiry is about, if you may see them.")
    async def subject_person(self, info: Info) -> Person | None:
        if self.subject_pk is None:
            return None
        row = await info.context.loaders.people_by_id.load(self.subject_pk)
        return None if row is None else Person.from_row(row)

    @resolves(FieldClass.INQUIRIES, "Constituent services' responses, oldest first.")
    async def responses(self, info: Info) -> list[InquiryResponse]:
        rows = await info.context.loaders.inquiry_responses_by_inquiry_id.load(self.pk)
        return [InquiryResponse.from_row(r) for r in rows]

    @classmethod
    def from_row(cls, row: InquiryRow) -> Inquiry:
        return cls(
            pk=row.id,
            subject_pk=row.subject_person_id,
            reference=row.reference,
            source=InquirySource(row.source),
            category=InquiryCategory(row.category),
            channel=InquiryChannel(row.channel),
            status=InquiryStatus(row.status),
            requester_name=row.requester_name,
            requester_email=row.requester_email,
            requester_phone=row.requester_phone,
            summary=row.summary,
            details=row.details,
            received_at=row.received_at,
            due_on=row.due_on,
            assigned_to=row.assigned_to,
            closed_at=row.closed_at,
            reopened_count=row.reopened_count,
            version=row.version,
        )


@strawberry.type(description="A response from constituent services to an inquiry.")
class InquiryResponse(FromRow):
    responded_at: datetime = classified(FieldClass.INQUIRIES, "When it was sent.")
    responder: str = classified(FieldClass.INQUIRIES, "Who answered.")
    channel: InquiryChannel = classified(FieldClass.INQUIRIES, "How it was sent.")
    body: str = classified(FieldClass.INQUIRIES, "The response.")


@strawberry.type
class Query:
    @resolves(FieldClass.INQUIRIES, "Inquiries you may see, oldest due date first.")
    async def inquiries(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        status: InquiryStatus | None = None,
        category: InquiryCategory | None = None,
        source: InquirySource | None = None,
        overdue: Annotated[
            bool, strawberry.argument(description="Only open inquiries past their due date.")
        ] = False,
        due_from: Annotated[date | None, strawberry.argument(description="Due on or after.")] = None,
        due_to: Annotated[date | None, strawberry.argument(description="Due on or before.")] = None,
        subject_person_id: strawberry.ID | None = None,
    ) -> Connection[Inquiry]:
        f = data.InquiryFilter(
            status=status.value if status else None,
            category=category.value if category else None,
            source=source.value if source else None,
            overdue_on=info.context.now.date() if overdue else None,
            due_from=due_from,
            due_to=due_to,
            subject_person_id=(
                from_global_id("Person", subject_person_id, "subjectPersonId") if subject_person_id else None
            ),
        )
        page = await data.list_inquiries(info.context.db, info.context.principal, f, first, after)
        return connection(page, Inquiry.from_row)

    @resolves(FieldClass.INQUIRIES, "One inquiry by global id; null when there is none you may see.")
    async def inquiry(self, info: Info, id: strawberry.ID) -> Inquiry | None:
        row = await info.context.loaders.inquiries_by_id.load(from_global_id("Inquiry", id))
        return None if row is None else Inquiry.from_row(row)
