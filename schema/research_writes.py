"""The research agreement workflow as mutations: a researcher submits a request; the research unit
approves, rejects or revokes it. Refusals are typed errors (an invalid transition, an end before the
start, an expired IRB approval, unknown field names, a threshold below 1, a stale version ...)."""

from __future__ import annotations

from datetime import date

import strawberry

from auth.classes import FieldClass
from resolvers import research_writes as data
from resolvers.models.partners import Audience
from resolvers.research_terms import Cohort
from schema.context import Info
from schema.custody import OffenseClass
from schema.fields import classified, mutation
from schema.ids import from_global_id
from schema.mutations import IdempotencyKey, MutationError, Payload, Refs, run_mutation
from schema.people import Sex
from schema.research import AgreementTier, ResearchAgreement

R = FieldClass.RESEARCH_AGREEMENTS


@strawberry.input(
    description="Who a request or agreement covers: people admitted in these years, and, when set, "
    "only at these facilities, with these most serious offense classes, of these sexes."
)
class ResearchCohortInput:
    admission_year_from: int = strawberry.field(description="First admission year.")
    admission_year_to: int = strawberry.field(description="Last admission year (not before the first).")
    facilities: list[str] | None = strawberry.field(
        default=None, description="Facility codes; all when unset."
    )
    offense_classes: list[OffenseClass] | None = strawberry.field(
        default=None, description="Most serious offense classes; all when unset."
    )
    sexes: list[Sex] | None = strawberry.field(default=None, description="All when unset.")

    def cohort(self, field: str) -> Cohort:
        return Cohort.of_years(
            field,
            self.admission_year_from,
            self.admission_year_to,
            self.facilities or (),
            [c.value for c in self.offense_classes or ()],
            [s.value for s in self.sexes or ()],
        )


@strawberry.input(description='A "Research Agreement and Data Request".')
class SubmitResearchRequestInput:
    title: str = strawberry.field(description="Title of the study, up to 200 characters.")
    investigator: str = strawberry.field(description="Principal investigator.")
    institution: str = strawberry.field(description="Investigator's institution.")
    irb_number: str = strawberry.field(description="IRB approval number.")
    irb_expires_on: date = strawberry.field(
        description="When the IRB approval expires; must be in the future."
    )
    purpose: str = strawberry.field(description="Purpose of the study.")
    fields: list[str] = strawberry.field(
        description="Fields wanted: birth_year, sex, race, offense_class, admission_month, release_month, "
        "facility_type, programs_completed, returned_1y, returned_3y."
    )
    cohort: ResearchCohortInput


@strawberry.input(
    description="The research unit's approval: what it grants, for how long, and the threshold."
)
class ApproveResearchAgreementInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The agreement's version you read.")
    granted_fields: list[str] = strawberry.field(
        description="Fields granted: some or all of those requested."
    )
    granted_cohort: ResearchCohortInput
    starts_on: date
    ends_on: date = strawberry.field(
        description="Not before startsOn, and not after the IRB approval expires."
    )
    tier: AgreementTier = strawberry.field(
        description="AGGREGATE: statistics only, small cells suppressed. RECORD: k-anonymous records and "
        "extracts, with smallCellThreshold as k."
    )
    small_cell_threshold: int | None = strawberry.field(
        default=None,
        description="AGGREGATE: counts below this are suppressed (at least 1). RECORD: the release's k "
        "(at least 2). 11 unless set.",
    )
    note: str | None = strawberry.field(
        default=None, description="The decision's reasons, up to 500 characters."
    )


@strawberry.input(description="Reject a submitted request, or revoke an approved agreement, with reasons.")
class DecideResearchAgreementInput:
    id: strawberry.ID
    version: int = strawberry.field(description="The agreement's version you read.")
    note: str = strawberry.field(description="The reasons, up to 500 characters.")


@strawberry.type(description="The result of a write to a research agreement.")
class ResearchAgreementPayload(Payload):
    research_agreement: ResearchAgreement | None = classified(
        FieldClass.STRUCTURE, "The agreement as it is now; null when refused."
    )


async def _payload(
    info: Info, refs: Refs | None, errors: list[MutationError], replayed: bool
) -> ResearchAgreementPayload:
    agreement = None
    if refs is not None:
        loader = info.context.loaders.research_agreements_by_id
        row = await loader.load(refs["researchAgreement"])
        agreement = None if row is None else ResearchAgreement.from_row(row)
    return ResearchAgreementPayload(research_agreement=agreement, errors=errors, replayed=replayed)


def _pk(id: strawberry.ID) -> int:
    return from_global_id("ResearchAgreement", id)


@strawberry.type
class Mutation:
    @mutation(
        R, "Submit a research request; the research unit decides on it.", audiences=(Audience.RESEARCHER,)
    )
    async def submit_research_request(
        self, info: Info, input: SubmitResearchRequestInput, idempotency_key: IdempotencyKey = None
    ) -> ResearchAgreementPayload:
        ctx = info.context

        async def write() -> Refs:
            request = data.Request(
                title=input.title,
                investigator=input.investigator,
                institution=input.institution,
                irb_number=input.irb_number,
                irb_expires_on=input.irb_expires_on,
                purpose=input.purpose,
                fields=input.fields,
                cohort=input.cohort.cohort("cohort"),
            )
            return {"researchAgreement": await data.submit_request(ctx.db, ctx.principal, request, ctx.now)}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _payload(info, outcome.refs, outcome.errors, outcome.replayed)

    @mutation(
        R,
        "Approve a submitted request with the fields, cohort, dates and threshold granted.",
        audiences=(Audience.RESEARCH_UNIT, Audience.ADMIN),
    )
    async def approve_research_agreement(
        self, info: Info, input: ApproveResearchAgreementInput, idempotency_key: IdempotencyKey = None
    ) -> ResearchAgreementPayload:
        ctx = info.context

        async def write() -> Refs:
            approval = data.Approval(
                agreement_id=_pk(input.id),
                version=input.version,
                fields=input.granted_fields,
                cohort=input.granted_cohort.cohort("grantedCohort"),
                starts_on=input.starts_on,
                ends_on=input.ends_on,
                small_cell_threshold=input.small_cell_threshold,
                note=input.note,
                tier=input.tier,
            )
            return {"researchAgreement": await data.approve(ctx.db, ctx.principal, approval, ctx.now)}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _payload(info, outcome.refs, outcome.errors, outcome.replayed)

    @mutation(
        R, "Reject a submitted request, with reasons.", audiences=(Audience.RESEARCH_UNIT, Audience.ADMIN)
    )
    async def reject_research_agreement(
        self, info: Info, input: DecideResearchAgreementInput, idempotency_key: IdempotencyKey = None
    ) -> ResearchAgreementPayload:
        ctx = info.context

        async def write() -> Refs:
            pk = await data.reject(ctx.db, ctx.principal, _pk(input.id), input.version, input.note, ctx.now)
            return {"researchAgreement": pk}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _payload(info, outcome.refs, outcome.errors, outcome.replayed)

    @mutation(
        R,
        "Revoke an approved agreement: access closes with the next request and its pseudonym key "
        "is destroyed.",
        audiences=(Audience.RESEARCH_UNIT, Audience.ADMIN),
    )
    async def revoke_research_agreement(
        self, info: Info, input: DecideResearchAgreementInput, idempotency_key: IdempotencyKey = None
    ) -> ResearchAgreementPayload:
        ctx = info.context

        async def write() -> Refs:
            pk = await data.revoke(ctx.db, ctx.principal, _pk(input.id), input.version, input.note, ctx.now)
            return {"researchAgreement": pk}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _payload(info, outcome.refs, outcome.errors, outcome.replayed)
