"""Fiscal notes: the estimated cost of a bill, requested by legislative offices, prepared by the
budget unit. A legislative office sees its own requests and every submitted note."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry

from auth.classes import FieldClass
from resolvers import fiscal_notes as data
from resolvers.fiscal_notes import FiscalNoteView
from resolvers.models.fiscal_notes import FiscalNoteStatus
from schema.context import Info
from schema.fields import classified, resolves
from schema.ids import from_global_id, to_global_id
from schema.pagination import Connection, connection
from schema.people import After, PageSize

F = FieldClass.FISCAL_NOTES

strawberry.enum(FiscalNoteStatus, description="Requested, in progress or submitted.")


@strawberry.type(description="The estimated cost of a bill for the next three fiscal years.")
class FiscalNote:
    pk: strawberry.Private[int]
    reference: str = classified(F, "The department's reference, e.g. FN-2026-000012.")
    bill_number: str = classified(F, "The bill, e.g. HB 123.")
    title: str = classified(F, "Title of the bill.")
    requested_by: str | None = classified(F, "The legislative office that asked for it, if one did.")
    requested_on: date = classified(F, "When it was requested.")
    due_on: date = classified(F, "When it is due.")
    status: FiscalNoteStatus = classified(F, "Requested, in progress or submitted.")
    cost_year1: Decimal | None = classified(
        F, "Estimated cost in the first fiscal year; negative is a saving."
    )
    cost_year2: Decimal | None = classified(F, "Estimated cost in the second fiscal year.")
    cost_year3: Decimal | None = classified(F, "Estimated cost in the third fiscal year.")
    summary: str | None = classified(F, "The note's narrative.")
    submitted_at: datetime | None = classified(F, "When it was submitted.")
    version: int = classified(F, "Send this back when completing it; a stale version is refused.")

    @resolves(F, "Opaque global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("FiscalNote", self.pk))

    @classmethod
    def from_row(cls, row: FiscalNoteView) -> FiscalNote:
        return cls(
            pk=row.id,
            reference=row.reference,
            bill_number=row.bill_number,
            title=row.title,
            requested_by=row.requested_by_name,
            requested_on=row.requested_on,
            due_on=row.due_on,
            status=FiscalNoteStatus(row.status),
            cost_year1=row.cost_year1,
            cost_year2=row.cost_year2,
            cost_year3=row.cost_year3,
            summary=row.summary,
            submitted_at=row.submitted_at,
            version=row.version,
        )


@strawberry.type
class Query:
    @resolves(F, "Fiscal notes you may see, soonest due first.")
    async def fiscal_notes(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        status: FiscalNoteStatus | None = None,
        bill_number: str | None = None,
        due_from: date | None = None,
        due_to: date | None = None,
    ) -> Connection[FiscalNote]:
        f = data.FiscalNoteFilter(
            status=status.value if status else None, bill_number=bill_number, due_from=due_from, due_to=due_to
        )
        page = await data.list_fiscal_notes(info.context.db, info.context.principal, f, first, after)
        return connection(page, FiscalNote.from_row)

    @resolves(F, "One fiscal note by global id.")
    async def fiscal_note(self, info: Info, id: strawberry.ID) -> FiscalNote | None:
        row = await info.context.loaders.fiscal_notes_by_id.load(from_global_id("FiscalNote", id))
        return None if row is None else FiscalNote.from_row(row)
