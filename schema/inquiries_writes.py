"""Constituent services' mutations: submit an inquiry, assign it, respond to it, close and reopen
it. Each runs through ``run_mutation``: typed errors as data, nothing written on refusal."""

from __future__ import annotations

import strawberry

from auth.classes import FieldClass
from resolvers import inquiries_writes
from resolvers.models.inquiries import InquiryCategory, InquiryChannel, InquirySource
from resolvers.models.partners import Audience
from schema.context import Info
from schema.fields import classified, mutation
from schema.ids import from_global_id
from schema.inquiries import Inquiry
from schema.mutations import IdempotencyKey, MutationError, Payload, run_mutation


@strawberry.input(description="A new inquiry.")
class SubmitInquiryInput:
    source: InquirySource = strawberry.field(
        description="Ignored for legislative offices (always LEGISLATIVE)."
    )
    category: InquiryCategory
    channel: InquiryChannel = strawberry.field(description="Ignored for legislative offices (always API).")
    requester_name: str = strawberry.field(description="Up to 120 characters.")
    summary: str = strawberry.field(description="Up to 200 characters.")
    details: str = strawberry.field(description="Up to 10,000 characters.")
    requester_email: str | None = None
    requester_phone: str | None = None
    subject_person_id: strawberry.ID | None = strawberry.field(
        default=None, description="The person it is about."
    )


@strawberry.input(description="Hand an inquiry to a staff member.")
class AssignInquiryInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The inquiry's version you read.")
    assigned_to: str = strawberry.field(description="Staff member, up to 120 characters.")


@strawberry.input(description="Answer an inquiry.")
class RespondToInquiryInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The inquiry's version you read.")
    responder: str = strawberry.field(description="Who answers, up to 120 characters.")
    channel: InquiryChannel
    body: str = strawberry.field(description="Up to 10,000 characters.")


@strawberry.input(description="Close or reopen an inquiry.")
class InquiryTransitionInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The inquiry's version you read.")


@strawberry.type(description="The result of a write to an inquiry.")
class InquiryPayload(Payload):
    inquiry: Inquiry | None = classified(FieldClass.STRUCTURE, "The inquiry as it is now; null when refused.")


async def _payload(
    info: Info, refs: dict[str, int] | None, errors: list[MutationError], replayed: bool
) -> InquiryPayload:
    inquiry = None
    if refs is not None:
        row = await info.context.loaders.inquiries_by_id.load(refs["inquiry"])
        inquiry = None if row is None else Inquiry.from_row(row)
    return InquiryPayload(inquiry=inquiry, errors=errors, replayed=replayed)


@strawberry.type
class Mutation:
    @mutation(
        FieldClass.INQUIRIES,
        "Submit an inquiry to constituent services.",
        audiences=(Audience.LEGISLATIVE, Audience.CONSTITUENT_SERVICES, Audience.ADMIN),
    )
    async def submit_inquiry(
        self, info: Info, input: SubmitInquiryInput, idempotency_key: IdempotencyKey = None
    ) -> InquiryPayload:
        ctx = info.context
        written: list[inquiries_writes.Submitted] = []

        async def write() -> dict[str, int]:
            subject = (
                from_global_id("Person", input.subject_person_id, "subjectPersonId")
                if input.subject_person_id
                else None
            )
            new = inquiries_writes.NewInquiry(
                source=input.source.value,
                category=input.category.value,
                channel=input.channel.value,
                requester_name=input.requester_name,
                requester_email=input.requester_email,
                requester_phone=input.requester_phone,
                subject_person_id=subject,
                summary=input.summary,
                details=input.details,
            )
            row = await inquiries_writes.submit_inquiry(ctx.db, ctx.principal, new, ctx.now)
            written.append(row)
            return {"inquiry": row.inquiry.id}

        outcome = await run_mutation(info, lambda: strawberry.asdict(input), idempotency_key, write)
        if outcome.refs is not None and not outcome.replayed and written[-1:]:
            row = written[-1]
            if row.inquiry.id == outcome.refs["inquiry"]:
                # The row as written, with whether the caller may read it: no second read of it.
                inquiry = Inquiry.from_row(row.inquiry) if row.visible else None
                return InquiryPayload(inquiry=inquiry, errors=outcome.errors, replayed=False)
        return await _payload(info, outcome.refs, outcome.errors, outcome.replayed)

    @mutation(
        FieldClass.INQUIRIES,
        "Assign an inquiry that is not closed to a staff member.",
        audiences=(Audience.CONSTITUENT_SERVICES, Audience.ADMIN),
    )
    async def assign_inquiry(
        self, info: Info, input: AssignInquiryInput, idempotency_key: IdempotencyKey = None
    ) -> InquiryPayload:
        ctx = info.context

        async def write() -> dict[str, int]:
            pk = from_global_id("Inquiry", input.id)
            return {
                "inquiry": await inquiries_writes.assign_inquiry(
                    ctx.db, ctx.principal, pk, input.version, input.assigned_to
                )
            }

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _payload(info, outcome.refs, outcome.errors, outcome.replayed)

    @mutation(
        FieldClass.INQUIRIES,
        "Respond to an inquiry that is not closed.",
        audiences=(Audience.CONSTITUENT_SERVICES, Audience.ADMIN),
    )
    async def respond_to_inquiry(
        self, info: Info, input: RespondToInquiryInput, idempotency_key: IdempotencyKey = None
    ) -> InquiryPayload:
        ctx = info.context

        async def write() -> dict[str, int]:
            new = inquiries_writes.NewResponse(
                inquiry_id=from_global_id("Inquiry", input.id),
                version=input.version,
                responder=input.responder,
                channel=input.channel.value,
                body=input.body,
            )
            return {"inquiry": await inquiries_writes.respond_to_inquiry(ctx.db, ctx.principal, new, ctx.now)}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _payload(info, outcome.refs, outcome.errors, outcome.replayed)

    @mutation(
        FieldClass.INQUIRIES,
        "Close an inquiry; a closed one is refused.",
        audiences=(Audience.CONSTITUENT_SERVICES, Audience.ADMIN),
    )
    async def close_inquiry(
        self, info: Info, input: InquiryTransitionInput, idempotency_key: IdempotencyKey = None
    ) -> InquiryPayload:
        ctx = info.context

        async def write() -> dict[str, int]:
            pk = from_global_id("Inquiry", input.id)
            return {
                "inquiry": await inquiries_writes.close_inquiry(
                    ctx.db, ctx.principal, pk, input.version, ctx.now
                )
            }

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _payload(info, outcome.refs, outcome.errors, outcome.replayed)

    @mutation(
        FieldClass.INQUIRIES,
        "Reopen a closed inquiry; it is due again in two weeks.",
        audiences=(Audience.CONSTITUENT_SERVICES, Audience.ADMIN),
    )
    async def reopen_inquiry(
        self, info: Info, input: InquiryTransitionInput, idempotency_key: IdempotencyKey = None
    ) -> InquiryPayload:
        ctx = info.context

        async def write() -> dict[str, int]:
            pk = from_global_id("Inquiry", input.id)
            return {
                "inquiry": await inquiries_writes.reopen_inquiry(
                    ctx.db, ctx.principal, pk, input.version, ctx.now
                )
            }

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _payload(info, outcome.refs, outcome.errors, outcome.replayed)
