"""Research agreements: the "Research Agreement and Data Request" and the extracts released under it.

The research unit reads every agreement; an approved researcher reads only its own. The
agreement's pseudonym key is not part of the schema at all.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from auth.classes import FieldClass
from resolvers import research as data
from resolvers.models.research import AgreementStatus
from resolvers.models.research import AgreementTier as AgreementTier  # registered below, read from here
from resolvers.research import AgreementView
from resolvers.research_terms import Cohort
from schema.context import Info
from schema.fields import classified, resolves
from schema.ids import from_global_id, to_global_id
from schema.pagination import Connection, connection
from schema.people import After, PageSize
from schema.rows import FromRow

R = FieldClass.RESEARCH_AGREEMENTS

strawberry.enum(AgreementStatus, description="Where a research agreement stands.")
strawberry.enum(
    AgreementTier,
    name="ResearchTier",
    description="What an agreement releases. AGGREGATE: statistics only, small cells suppressed. RECORD: "
    "k-anonymous records and CSV extracts, and statistics counted over them.",
)


def _cohort(value: Any) -> Any:
    """A stored cohort in the cohort input's vocabulary (admissionYearFrom, FELONY_A, MALE)."""
    return None if value is None else Cohort.from_json(value).to_input_json()


@strawberry.type(description="A data extract released under an agreement.")
class ResearchExtract(FromRow):
    created_at: datetime = classified(R, "When it was released.")
    fields: list[str] = classified(R, "The fields it holds.")
    row_count: int = classified(R, "How many records it holds.")
    requested_by: str = classified(R, "Who asked for it.")
    release: JSON | None = classified(
        R,
        "What its k-anonymous release generalized and suppressed (k, levels, counts); null for extracts released before releases were recorded.",
    )


@strawberry.type(description='A "Research Agreement and Data Request" and the department\'s decision on it.')
class ResearchAgreement:
    pk: strawberry.Private[int]
    reference: str = classified(R, "The department's reference.")
    partner: str = classified(R, "The research team (partner) that holds it.")
    title: str = classified(R, "Title of the study.")
    investigator: str = classified(R, "Principal investigator.")
    institution: str = classified(R, "Investigator's institution.")
    irb_number: str = classified(R, "Institutional review board approval number.")
    irb_expires_on: date = classified(R, "When the IRB approval expires.")
    purpose: str = classified(R, "Purpose of the study.")
    requested_fields: list[str] = classified(R, "Fields requested.")
    requested_cohort: JSON = classified(
        R,
        "Cohort requested, with the cohort input's field names: admissionYearFrom, admissionYearTo, "
        "facilities, offenseClasses, sexes.",
    )
    granted_fields: list[str] | None = classified(R, "Fields granted, once approved.")
    granted_cohort: JSON | None = classified(R, "Cohort granted, once approved (as requestedCohort).")
    starts_on: date | None = classified(R, "First day of access.")
    ends_on: date | None = classified(R, "Last day of access.")
    tier: AgreementTier = classified(R, "AGGREGATE (statistics only) or RECORD (k-anonymous records).")
    small_cell_threshold: int = classified(
        R,
        "AGGREGATE tier: counts from 1 to this minus 1 are suppressed. RECORD tier: the release's k (every "
        "equivalence class holds at least this many records).",
    )
    status: AgreementStatus = classified(R, "Submitted, approved, rejected, revoked or expired.")
    decided_at: datetime | None = classified(R, "When the department decided.")
    decided_by: str | None = classified(R, "Who decided.")
    decision_note: str | None = classified(R, "The decision's reasons.")
    version: int = classified(R, "Changes with every decision.")

    @resolves(R, "Opaque global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("ResearchAgreement", self.pk))

    @resolves(R, "Extracts released under it, oldest first.")
    async def extracts(self, info: Info) -> list[ResearchExtract]:
        rows = await info.context.loaders.research_extracts_by_agreement_id.load(self.pk)
        return [ResearchExtract.from_row(r) for r in rows]

    @classmethod
    def from_row(cls, row: AgreementView) -> ResearchAgreement:
        return cls(
            pk=row.id,
            reference=row.reference,
            partner=row.partner_name,
            title=row.title,
            investigator=row.investigator,
            institution=row.institution,
            irb_number=row.irb_number,
            irb_expires_on=row.irb_expires_on,
            purpose=row.purpose,
            requested_fields=list(row.requested_fields),
            requested_cohort=_cohort(row.requested_cohort),
            granted_fields=None if row.granted_fields is None else list(row.granted_fields),
            granted_cohort=_cohort(row.granted_cohort),
            starts_on=row.starts_on,
            ends_on=row.ends_on,
            tier=AgreementTier(row.tier),
            small_cell_threshold=row.small_cell_threshold,
            status=AgreementStatus(row.status),
            decided_at=row.decided_at,
            decided_by=row.decided_by,
            decision_note=row.decision_note,
            version=row.version,
        )


@strawberry.type
class Query:
    @resolves(R, "Research agreements you may see, oldest first.")
    async def research_agreements(
        self, info: Info, first: PageSize = None, after: After = None, status: AgreementStatus | None = None
    ) -> Connection[ResearchAgreement]:
        page = await data.list_research_agreements(
            info.context.db, info.context.principal, status.value if status else None, first, after
        )
        return connection(page, ResearchAgreement.from_row)

    @resolves(R, "One research agreement by global id.")
    async def research_agreement(self, info: Info, id: strawberry.ID) -> ResearchAgreement | None:
        row = await info.context.loaders.research_agreements_by_id.load(
            from_global_id("ResearchAgreement", id)
        )
        return None if row is None else ResearchAgreement.from_row(row)
