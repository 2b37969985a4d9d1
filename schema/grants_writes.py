"""The grants unit's mutations: record an award, a subaward, a disbursement, a submitted report."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from auth.classes import FieldClass
from resolvers import grants_writes as writes
from resolvers.models.grants import DisbursementKind
from resolvers.models.partners import Audience
from schema.context import Info
from schema.fields import classified, mutation
from schema.grants import AwardReport, Disbursement, FederalAward, Subaward
from schema.ids import from_global_id
from schema.mutations import IdempotencyKey, Payload, Refs, run_mutation

G = FieldClass.GRANTS

_REPLAYED = "True when this answers a retry with a used idempotency key."
_ERRORS = "Why the write was refused; empty on success."


@strawberry.input(description="A federal award.")
class RecordFederalAwardInput:
    award_number: str = strawberry.field(description="Up to 32 characters, unique.")
    agency: str = strawberry.field(description="Up to 120 characters.")
    assistance_listing: str = strawberry.field(description="e.g. 16.812.")
    title: str = strawberry.field(description="Up to 200 characters.")
    period_start: date
    period_end: date = strawberry.field(description="After periodStart.")
    amount: Decimal = strawberry.field(description="Not negative.")


@strawberry.input(description="A subaward within an award's amount and period.")
class RecordSubawardInput:
    award_id: strawberry.ID
    recipient: str = strawberry.field(description="Up to 160 characters.")
    amount: Decimal = strawberry.field(
        description="More than zero; subawards together stay within the award."
    )
    period_start: date
    period_end: date


@strawberry.input(description="A drawdown or payment, never beyond the award's remaining balance.")
class RecordDisbursementInput:
    award_id: strawberry.ID
    kind: DisbursementKind
    paid_on: date = strawberry.field(description="Not in the future, not before the award's period.")
    amount: Decimal = strawberry.field(description="More than zero.")
    payee: str = strawberry.field(description="Up to 160 characters.")
    purpose: str = strawberry.field(description="Up to 200 characters.")
    subaward_id: strawberry.ID | None = strawberry.field(default=None, description="A subaward of the award.")


@strawberry.input(description="A report submitted to the awarding agency.")
class SubmitAwardReportInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The report's version you read.")
    submitted_on: date | None = strawberry.field(
        default=None, description="Default today; not in the future."
    )


@strawberry.type(description="The result of recording an award.")
class FederalAwardPayload(Payload):
    award: FederalAward | None = classified(
        FieldClass.STRUCTURE, "The award as it is now; null when refused."
    )


@strawberry.type(description="The result of recording a subaward.")
class SubawardPayload(Payload):
    subaward: Subaward | None = classified(FieldClass.STRUCTURE, "Null when refused.")


@strawberry.type(description="The result of recording a disbursement.")
class DisbursementPayload(Payload):
    disbursement: Disbursement | None = classified(FieldClass.STRUCTURE, "Null when refused.")


@strawberry.type(description="The result of submitting a report.")
class AwardReportPayload(Payload):
    report: AwardReport | None = classified(FieldClass.STRUCTURE, "Null when refused.")


@strawberry.type
class Mutation:
    @mutation(G, "Record a federal award.", audiences=(Audience.BUDGET_GRANTS, Audience.ADMIN))
    async def record_federal_award(
        self, info: Info, input: RecordFederalAwardInput, idempotency_key: IdempotencyKey = None
    ) -> FederalAwardPayload:
        ctx = info.context

        async def write() -> Refs:
            new = writes.NewAward(
                award_number=input.award_number,
                agency=input.agency,
                assistance_listing=input.assistance_listing,
                title=input.title,
                period_start=input.period_start,
                period_end=input.period_end,
                amount=input.amount,
            )
            return {"award": await writes.record_award(ctx.db, ctx.principal, new)}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        award = None
        if outcome.refs is not None:
            row = await ctx.loaders.federal_awards_by_id.load(outcome.refs["award"])
            award = None if row is None else FederalAward.from_row(row)
        return FederalAwardPayload(award=award, errors=outcome.errors, replayed=outcome.replayed)

    @mutation(
        G,
        "Record a subaward within the award's amount and period.",
        audiences=(Audience.BUDGET_GRANTS, Audience.ADMIN),
    )
    async def record_subaward(
        self, info: Info, input: RecordSubawardInput, idempotency_key: IdempotencyKey = None
    ) -> SubawardPayload:
        ctx = info.context

        async def write() -> Refs:
            new = writes.NewSubaward(
                award_id=from_global_id("FederalAward", input.award_id, "awardId"),
                recipient=input.recipient,
                amount=input.amount,
                period_start=input.period_start,
                period_end=input.period_end,
            )
            return {"subaward": await writes.record_subaward(ctx.db, ctx.principal, new)}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        subaward = None
        if outcome.refs is not None:
            row = await ctx.loaders.subawards_by_id.load(outcome.refs["subaward"])
            subaward = None if row is None else Subaward.from_row(row)
        return SubawardPayload(subaward=subaward, errors=outcome.errors, replayed=outcome.replayed)

    @mutation(
        G,
        "Record a drawdown or payment; refused beyond the award's remaining balance.",
        audiences=(Audience.BUDGET_GRANTS, Audience.ADMIN),
    )
    async def record_disbursement(
        self, info: Info, input: RecordDisbursementInput, idempotency_key: IdempotencyKey = None
    ) -> DisbursementPayload:
        ctx = info.context

        async def write() -> Refs:
            new = writes.NewDisbursement(
                award_id=from_global_id("FederalAward", input.award_id, "awardId"),
                subaward_id=(
                    from_global_id("Subaward", input.subaward_id, "subawardId") if input.subaward_id else None
                ),
                kind=input.kind.value,
                paid_on=input.paid_on,
                amount=input.amount,
                payee=input.payee,
                purpose=input.purpose,
            )
            pk = await writes.record_disbursement(ctx.db, ctx.principal, new, ctx.now.date())
            return {"disbursement": pk}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        disbursement = None
        if outcome.refs is not None:
            row = await ctx.loaders.disbursements_by_id.load(outcome.refs["disbursement"])
            disbursement = None if row is None else Disbursement.from_row(row)
        return DisbursementPayload(
            disbursement=disbursement, errors=outcome.errors, replayed=outcome.replayed
        )

    @mutation(
        G,
        "Record that a report was submitted; a submitted report is refused.",
        audiences=(Audience.BUDGET_GRANTS, Audience.ADMIN),
    )
    async def submit_award_report(
        self, info: Info, input: SubmitAwardReportInput, idempotency_key: IdempotencyKey = None
    ) -> AwardReportPayload:
        ctx = info.context

        async def write() -> Refs:
            pk = from_global_id("AwardReport", input.id)
            done = await writes.submit_report(
                ctx.db, ctx.principal, pk, input.version, input.submitted_on, ctx.now.date()
            )
            return {"report": done}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        report = None
        if outcome.refs is not None:
            row = await ctx.loaders.award_reports_by_id.load(outcome.refs["report"])
            report = None if row is None else AwardReport.from_row(row)
        return AwardReportPayload(report=report, errors=outcome.errors, replayed=outcome.replayed)
