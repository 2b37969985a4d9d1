"""Fiscal notes' mutations: a legislative office requests a note, the budget unit completes it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from auth.classes import FieldClass
from resolvers import fiscal_notes_writes
from resolvers.models.partners import Audience
from schema.context import Info
from schema.fields import classified, mutation
from schema.fiscal_notes import F, FiscalNote
from schema.ids import from_global_id
from schema.mutations import IdempotencyKey, MutationError, Payload, Refs, run_mutation


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
