"""Custody records of a person: sentences, periods, hearings, events, conduct, health needs (the
``recordCustodyEvent`` mutation is ``schema/custody_writes.py``)."""

from __future__ import annotations

import enum
from datetime import date, datetime

import strawberry

from auth.classes import FieldClass
from resolvers.models import custody as models
from resolvers.models.custody import (
    AdmissionType,
    ConductOutcome,
    CustodyEventKind,
    HearingDecision,
    HearingStatus,
    HearingType,
    OffenseCategory,
    ReleaseType,
    SentenceStatus,
    SentenceType,
    SupervisionEnd,
    SupervisionKind,
)
from resolvers.models.custody import OffenseClass as OffenseClass  # registered below, read from here
from resolvers.rows import CustodyPeriodRow
from schema.compiled.sources import GlobalId, Many, One, table
from schema.context import Info
from schema.fields import classified, resolves
from schema.ids import from_global_id, to_global_id
from schema.people import Facility
from schema.rows import FromRow

strawberry.enum(AdmissionType, description="How a custody period began.")
strawberry.enum(ReleaseType, description="How a custody period ended.")
strawberry.enum(SupervisionKind, description="Probation, parole or conditional release.")
strawberry.enum(SupervisionEnd, description="How a supervision period ended.")
strawberry.enum(SentenceType, description="What the court imposed.")
strawberry.enum(SentenceStatus, description="Whether a sentence is being served.")
strawberry.enum(OffenseClass, description="Statutory class of an offense.")
strawberry.enum(OffenseCategory, description="Broad category of an offense.")
strawberry.enum(HearingType, description="Kind of parole board hearing.")
strawberry.enum(HearingStatus, description="Where a hearing stands.")
strawberry.enum(HearingDecision, description="The board's decision.")
strawberry.enum(CustodyEventKind, description="What happened to a person's custody.")
strawberry.enum(ConductOutcome, description="Outcome of a conduct report.")


@strawberry.enum(description="What a health need is about.")
class HealthNeedKind(enum.Enum):
    MENTAL_HEALTH = "mental_health"
    MEDICAL = "medical"
    SUBSTANCE_USE = "substance_use"


async def _facility(info: Info, pk: int | None) -> Facility | None:
    if pk is None:
        return None
    row = await info.context.loaders.facilities_by_id.load(pk)
    return None if row is None else Facility.from_row(row)


@table(models.Charge)
@strawberry.type(description="One offense a sentence was imposed for.")
class Charge(FromRow):
    statute: str = classified(FieldClass.PUBLIC_PERSON, "Statute cited.")
    offense: str = classified(FieldClass.PUBLIC_PERSON, "The offense, in words.")
    offense_class: OffenseClass = classified(FieldClass.PUBLIC_PERSON, "Statutory class.")
    category: OffenseCategory = classified(FieldClass.PUBLIC_PERSON, "Broad category.")


@table(models.Sentence)
@strawberry.type(description="A sentence imposed by a court: the public sentence summary.")
class Sentence(FromRow):
    pk: strawberry.Private[int]
    cause_number: str = classified(FieldClass.PUBLIC_PERSON, "Court cause number.")
    county: str = classified(FieldClass.PUBLIC_PERSON, "Sentencing county.")
    sentenced_on: date = classified(FieldClass.PUBLIC_PERSON, "Date of sentencing.")
    sentence_type: SentenceType = classified(FieldClass.PUBLIC_PERSON, "Prison, probation, shock, treatment.")
    term_months: int | None = classified(FieldClass.PUBLIC_PERSON, "Term in months; null for life.")
    status: SentenceStatus = classified(FieldClass.PUBLIC_PERSON, "Active, completed or vacated.")

    @resolves(FieldClass.PUBLIC_PERSON, "Opaque global id.", source=GlobalId("Sentence"))
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Sentence", self.pk))

    @resolves(
        FieldClass.PUBLIC_PERSON,
        "The offenses of this sentence.",
        source=Many("Charge", "sentence_id", ("id",)),
    )
    async def charges(self, info: Info) -> list[Charge]:
        rows = await info.context.loaders.charges_by_sentence_id.load(self.pk)
        return [Charge.from_row(r) for r in rows]


@table(models.CustodyPeriod)
@strawberry.type(description="A continuous stretch of custody, from admission to release.")
class CustodyPeriod:
    facility_pk: strawberry.Private[int]
    office_pk: strawberry.Private[int | None]
    admission_type: AdmissionType = classified(FieldClass.PUBLIC_PERSON, "How the period began.")
    admitted_on: date = classified(FieldClass.PUBLIC_PERSON, "Date of admission.")
    released_on: date | None = classified(FieldClass.PUBLIC_PERSON, "Date of release; null while in custody.")
    release_type: ReleaseType | None = classified(FieldClass.PUBLIC_PERSON, "How the period ended.")
    projected_release_on: date | None = classified(FieldClass.RELEASE, "Projected release date.")
    release_plan: str | None = classified(FieldClass.RELEASE, "The release plan.")
    release_county: str | None = classified(FieldClass.RELEASE, "County the person releases to.")
    housing_unit: str | None = classified(FieldClass.CUSTODY_DETAIL, "Housing unit.")
    custody_level: int | None = classified(FieldClass.CUSTODY_DETAIL, "Custody level (1 lowest to 5).")
    version: int = classified(FieldClass.PUBLIC_PERSON, "Send this back with an update.")

    @resolves(
        FieldClass.PUBLIC_PERSON,
        "The institution the person is (or was last) held in.",
        source=One("Facility", "facility_id"),
    )
    async def facility(self, info: Info) -> Facility | None:
        return await _facility(info, self.facility_pk)

    @resolves(
        FieldClass.RELEASE,
        "The office that will supervise the person after release.",
        source=One("Facility", "supervision_office_id"),
    )
    async def supervision_office(self, info: Info) -> Facility | None:
        return await _facility(info, self.office_pk)

    @classmethod
    def from_row(cls, row: CustodyPeriodRow) -> CustodyPeriod:
        return cls(
            facility_pk=row.facility_id,
            office_pk=row.supervision_office_id,
            admission_type=AdmissionType(row.admission_type),
            admitted_on=row.admitted_on,
            released_on=row.released_on,
            release_type=ReleaseType(row.release_type) if row.release_type else None,
            projected_release_on=row.projected_release_on,
            release_plan=row.release_plan,
            release_county=row.release_county,
            housing_unit=row.housing_unit,
            custody_level=row.custody_level,
            version=row.version,
        )


@table(models.SupervisionPeriod)
@strawberry.type(description="A stretch of probation, parole or conditional release supervision.")
class SupervisionPeriod(FromRow):
    office_pk: strawberry.Private[int]
    kind: SupervisionKind = classified(FieldClass.RELEASE, "Probation, parole or conditional release.")
    started_on: date = classified(FieldClass.RELEASE, "First day of supervision.")
    ended_on: date | None = classified(FieldClass.RELEASE, "Last day; null while supervised.")
    end_reason: SupervisionEnd | None = classified(FieldClass.RELEASE, "How supervision ended.")

    @resolves(
        FieldClass.RELEASE,
        "The supervising probation and parole office.",
        source=One("Facility", "office_id"),
    )
    async def office(self, info: Info) -> Facility | None:
        return await _facility(info, self.office_pk)


@table(models.ParoleHearing)
@strawberry.type(description="A parole board hearing.")
class ParoleHearing(FromRow):
    pk: strawberry.Private[int]
    facility_pk: strawberry.Private[int]
    hearing_type: HearingType = classified(FieldClass.RELEASE, "Initial, reconsideration or revocation.")
    scheduled_for: datetime = classified(FieldClass.RELEASE, "When the hearing is (or was) held.")
    status: HearingStatus = classified(FieldClass.RELEASE, "Scheduled, held, postponed or cancelled.")
    decision: HearingDecision | None = classified(FieldClass.RELEASE, "The board's decision, once held.")
    decided_on: date | None = classified(FieldClass.RELEASE, "Date of the decision.")

    @resolves(
        FieldClass.RELEASE,
        "Opaque global id (pass it as `hearingId` to record a decision).",
        source=GlobalId("ParoleHearing"),
    )
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("ParoleHearing", self.pk))

    @resolves(FieldClass.RELEASE, "Where the hearing is held.", source=One("Facility", "facility_id"))
    async def facility(self, info: Info) -> Facility | None:
        return await _facility(info, self.facility_pk)


@table(models.CustodyEvent)
@strawberry.type(description="Something that happened to a person's custody, as recorded.")
class CustodyEvent(FromRow):
    pk: strawberry.Private[int]
    facility_pk: strawberry.Private[int | None]
    to_facility_pk: strawberry.Private[int | None]
    hearing_pk: strawberry.Private[int | None]
    kind: CustodyEventKind = classified(FieldClass.PUBLIC_PERSON, "What happened.")
    occurred_at: datetime = classified(FieldClass.PUBLIC_PERSON, "When it happened.")
    notes: str | None = classified(FieldClass.CUSTODY_DETAIL, "Staff notes.")

    @resolves(FieldClass.PUBLIC_PERSON, "Opaque global id.", source=GlobalId("CustodyEvent"))
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("CustodyEvent", self.pk))

    @resolves(
        FieldClass.PUBLIC_PERSON,
        "Where it happened (for a transfer, the facility left).",
        source=One("Facility", "facility_id"),
    )
    async def facility(self, info: Info) -> Facility | None:
        return await _facility(info, self.facility_pk)

    @resolves(
        FieldClass.PUBLIC_PERSON,
        "For a transfer, the facility the person went to.",
        source=One("Facility", "to_facility_id"),
    )
    async def to_facility(self, info: Info) -> Facility | None:
        return await _facility(info, self.to_facility_pk)

    @resolves(
        FieldClass.RELEASE, "For a hearing event, the hearing.", source=One("ParoleHearing", "hearing_id")
    )
    async def hearing(self, info: Info) -> ParoleHearing | None:
        if self.hearing_pk is None:
            return None
        row = await info.context.loaders.parole_hearings_by_id.load(self.hearing_pk)
        return None if row is None else ParoleHearing.from_row(row)


@table(models.ConductReport)
@strawberry.type(description="A conduct violation report and its outcome.")
class ConductReport(FromRow):
    facility_pk: strawberry.Private[int]
    occurred_on: date = classified(FieldClass.CUSTODY_DETAIL, "Date of the incident.")
    violation: str = classified(FieldClass.CUSTODY_DETAIL, "The rule broken.")
    outcome: ConductOutcome = classified(FieldClass.CUSTODY_DETAIL, "Dismissed, sanctioned or pending.")

    @resolves(FieldClass.CUSTODY_DETAIL, "Where it happened.", source=One("Facility", "facility_id"))
    async def facility(self, info: Info) -> Facility | None:
        return await _facility(info, self.facility_pk)


@table(models.HealthNeed)
@strawberry.type(description="An assessed health need (0 none to 5 acute).")
class HealthNeed(FromRow):
    kind: HealthNeedKind = classified(FieldClass.HEALTH, "Mental health, medical or substance use.")
    level: int = classified(FieldClass.HEALTH, "0 (none) to 5 (acute).")
    assessed_on: date = classified(FieldClass.HEALTH, "Date of the assessment.")


@strawberry.type
class Query:
    @resolves(FieldClass.RELEASE, "One parole hearing by global id; null when there is none you may see.")
    async def parole_hearing(self, info: Info, id: strawberry.ID) -> ParoleHearing | None:
        row = await info.context.loaders.parole_hearings_by_id.load(from_global_id("ParoleHearing", id))
        return None if row is None else ParoleHearing.from_row(row)
