"""Fiscal notes: the estimated cost of a bill, requested by legislative offices, prepared by the
budget unit. A legislative office sees its own requests and every submitted note."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry

from auth.classes import FieldClass
from resolvers import fiscal_notes as data
from resolvers import fiscal_notes_writes
from resolvers.models.fiscal_notes import FiscalNoteStatus
from resolvers.models.partners import Audience
from schema.context import Info
from schema.fields import classified, mutation, resolves
from schema.ids import from_global_id, to_global_id
from schema.mutations import IdempotencyKey, MutationError, Payload, Refs, run_mutation
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
    def from_row(cls, row: Any) -> FiscalNote:
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


@strawberry.input(description="Ask the budget unit for a fiscal note.")
class RequestFiscalNoteInput:
    bill_number: str = strawberry.field(description="e.g. HB 123 or SB 45.")
    title: str = strawberry.field(description="Up to 200 characters.")
    due_on: date = strawberry.field(description="Not in the past.")


@strawberry.input(description="The budget unit's estimate; submitting it makes the note final.")
class CompleteFiscalNoteInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The note's version you read.")
    cost_year1: Decimal
    cost_year2: Decimal
    cost_year3: Decimal
    summary: str = strawberry.field(description="Up to 10,000 characters.")


@strawberry.type(description="The result of a write to a fiscal note.")
class FiscalNotePayload(Payload):
    fiscal_note: FiscalNote | None = classified(
        FieldClass.STRUCTURE, "The note as it is now; null when refused."
    )


async def _payload(
    info: Info, refs: Refs | None, errors: list[MutationError], replayed: bool
) -> FiscalNotePayload:
    note = None
    if refs is not None:
        row = await info.context.loaders.fiscal_notes_by_id.load(refs["fiscalNote"])
        note = None if row is None else FiscalNote.from_row(row)
    return FiscalNotePayload(fiscal_note=note, errors=errors, replayed=replayed)


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


@strawberry.type
class Mutation:
    @mutation(
        F,
        "Request a fiscal note; a legislative office's request is recorded as its own.",
        audiences=(Audience.LEGISLATIVE, Audience.BUDGET_GRANTS, Audience.ADMIN),
    )
    async def request_fiscal_note(
        self, info: Info, input: RequestFiscalNoteInput, idempotency_key: IdempotencyKey = None
    ) -> FiscalNotePayload:
        ctx = info.context

        async def write() -> Refs:
            pk = await fiscal_notes_writes.request_fiscal_note(
                ctx.db, ctx.principal, input.bill_number, input.title, input.due_on, ctx.now
            )
            return {"fiscalNote": pk}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _payload(info, outcome.refs, outcome.errors, outcome.replayed)

    @mutation(
        F,
        "Complete and submit a fiscal note; a submitted note is refused.",
        audiences=(Audience.BUDGET_GRANTS, Audience.ADMIN),
    )
    async def complete_fiscal_note(
        self, info: Info, input: CompleteFiscalNoteInput, idempotency_key: IdempotencyKey = None
    ) -> FiscalNotePayload:
        ctx = info.context

        async def write() -> Refs:
            done = fiscal_notes_writes.Completion(
                note_id=from_global_id("FiscalNote", input.id),
                version=input.version,
                cost_year1=input.cost_year1,
                cost_year2=input.cost_year2,
                cost_year3=input.cost_year3,
                summary=input.summary,
            )
            return {
                "fiscalNote": await fiscal_notes_writes.complete_fiscal_note(
                    ctx.db, ctx.principal, done, ctx.now
                )
            }

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _payload(info, outcome.refs, outcome.errors, outcome.replayed)
