"""The research root: an approved agreement's de-identified records, statistics and extract.

``research(agreementId)`` is open to researchers (their own agreements) and the research unit, and
only while the agreement is in force: approved, within its dates, its key not destroyed. Every
response through it names the agreement as its authority in the disclosure ledger. A field the
agreement does not grant is refused by name (``FIELD_NOT_GRANTED``) before any record is read.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import strawberry

from auth.classes import FieldClass
from resolvers import research_records as records
from resolvers import research_statistics as stats
from resolvers.models.partners import Audience
from resolvers.research_records import Agreement, Record
from resolvers.research_release import Release
from resolvers.research_terms import Dimension, NotGranted, ResearchField
from schema.context import Info
from schema.custody import OffenseClass
from schema.fields import classified, resolves
from schema.ids import from_global_id
from schema.pagination import PageInfo
from schema.people import After, FacilityKind, PageSize, Race, Sex
from schema.research import AgreementTier

RR = FieldClass.RESEARCH_RECORDS

strawberry.enum(
    Dimension, name="ResearchDimension", description="What research statistics can be grouped by."
)

#: The record fields a researcher may select, and the agreement field each needs.
RECORD_FIELDS: dict[str, ResearchField] = {
    "birthYear": ResearchField.BIRTH_YEAR,
    "sex": ResearchField.SEX,
    "race": ResearchField.RACE,
    "offenseClass": ResearchField.OFFENSE_CLASS,
    "admissionMonth": ResearchField.ADMISSION_MONTH,
    "releaseMonth": ResearchField.RELEASE_MONTH,
    "facilityType": ResearchField.FACILITY_TYPE,
    "programsCompleted": ResearchField.PROGRAMS_COMPLETED,
    "returnedWithin1Year": ResearchField.RETURNED_1Y,
    "returnedWithin3Years": ResearchField.RETURNED_3Y,
}
#: The statistics measures that need an agreement field.
MEASURE_FIELDS: dict[str, ResearchField] = {
    "observed1Year": ResearchField.RETURNED_1Y,
    "returned1Year": ResearchField.RETURNED_1Y,
    "returnRate1Year": ResearchField.RETURNED_1Y,
    "observed3Years": ResearchField.RETURNED_3Y,
    "returned3Years": ResearchField.RETURNED_3Y,
    "returnRate3Years": ResearchField.RETURNED_3Y,
}


def _selected(selections: Iterable[Any], under: str) -> set[str]:
    """Names selected inside ``under`` (through fragments too), anywhere below the given selections."""
    found: set[str] = set()
    for s in selections:
        name = getattr(s, "name", None)
        if isinstance(s, strawberry.types.nodes.SelectedField) and name == under:
            found |= _names(s.selections)
        else:
            found |= _selected(getattr(s, "selections", ()), under)
    return found


def _names(selections: Iterable[Any]) -> set[str]:
    out: set[str] = set()
    for s in selections:
        if isinstance(s, strawberry.types.nodes.SelectedField):
            out.add(s.name)
        else:
            out |= _names(s.selections)
    return out


def _refuse_ungranted(agreement: Agreement, asked: set[str], needs: dict[str, ResearchField]) -> None:
    for name in sorted(asked):
        needed = needs.get(name)
        if needed is not None and needed not in agreement.fields:
            raise NotGranted(
                name, f"is not granted by agreement {agreement.reference} (it needs the field {needed.value})"
            )


@strawberry.type(description="One person of the agreement's cohort, de-identified, at their index admission.")
class ResearchRecord:
    pseudonym: str = classified(
        RR,
        "The person under this agreement only: the same in all its records, unrelated to any other agreement's.",
    )
    birth_year: str | None = classified(
        RR, 'Year of birth ("1983"), or the range the release generalized it to ("1980-1984").'
    )
    sex: Sex | None = classified(RR, "Sex as recorded at admission.")
    race: Race | None = classified(RR, "Race as recorded at admission.")
    offense_class: OffenseClass | None = classified(RR, "Most serious offense class of the person's charges.")
    admission_month: str | None = classified(
        RR, 'Index admission, as YYYY-MM, or as generalized by the release ("2019", "2015-2019").'
    )
    release_month: str | None = classified(
        RR,
        "Release from that custody, as YYYY-MM (or generalized like admissionMonth); null while in custody.",
    )
    facility_type: FacilityKind | None = classified(RR, "Kind of facility admitted to.")
    programs_completed: list[str] | None = classified(
        RR, "Codes of the programs completed during that custody (e.g. ICVC)."
    )
    returned_within_1_year: bool | None = classified(
        RR,
        "Admitted to custody again within a year of release; null until a year has passed or if not released.",
        name="returnedWithin1Year",
    )
    returned_within_3_years: bool | None = classified(
        RR,
        "Admitted to custody again within three years of release; null until three years have passed.",
        name="returnedWithin3Years",
    )

    @classmethod
    def from_record(cls, r: Record) -> ResearchRecord:
        return cls(
            pseudonym=r.pseudonym,
            birth_year=r.birth_year,
            sex=None if r.sex is None else Sex(r.sex),
            race=None if r.race is None else Race(r.race),
            offense_class=None if r.offense_class is None else OffenseClass(r.offense_class),
            admission_month=r.admission_month,
            release_month=r.release_month,
            facility_type=None if r.facility_type is None else FacilityKind(r.facility_type),
            programs_completed=r.programs_completed,
            returned_within_1_year=r.returned_1y,
            returned_within_3_years=r.returned_3y,
        )


@strawberry.type(description="A page of de-identified records, in an order of the agreement's own.")
class ResearchRecordConnection:
    nodes: list[ResearchRecord] = classified(FieldClass.STRUCTURE, "The records of this page.")
    total_count: int = classified(
        FieldClass.STRUCTURE,
        "Records in the release (the cohort less the records a k-anonymous release left out).",
    )
    page_info: PageInfo = classified(FieldClass.STRUCTURE, "Cursors for the next page.")


@strawberry.type(description="One entry of a statistics table: a cell, or a margin where a value is null.")
class ResearchCell:
    entry: strawberry.Private[stats.Entry]
    values: list[str | None] = classified(
        RR, "The entry's value of each groupBy dimension, in order; null means all of them (a total)."
    )

    def _count(self, measure: str) -> int | None:
        return self.entry.counts.get(measure)

    @resolves(RR, "People; null when suppressed.")
    def people(self) -> int | None:
        return self._count("people")

    @resolves(RR, "People released at least a year ago; null when suppressed.", name="observed1Year")
    def observed_1_year(self) -> int | None:
        return self._count("observed_1y")

    @resolves(RR, "Of those, admitted again within a year; null when suppressed.", name="returned1Year")
    def returned_1_year(self) -> int | None:
        return self._count("returned_1y")

    @resolves(RR, "returned1Year / observed1Year; null when either is suppressed.", name="returnRate1Year")
    def return_rate_1_year(self) -> float | None:
        return self.entry.rate("returned_1y", "observed_1y")

    @resolves(RR, "People released at least three years ago; null when suppressed.", name="observed3Years")
    def observed_3_years(self) -> int | None:
        return self._count("observed_3y")

    @resolves(RR, "Of those, admitted again within three years; null when suppressed.", name="returned3Years")
    def returned_3_years(self) -> int | None:
        return self._count("returned_3y")

    @resolves(RR, "returned3Years / observed3Years; null when either is suppressed.", name="returnRate3Years")
    def return_rate_3_years(self) -> float | None:
        return self.entry.rate("returned_3y", "observed_3y")


@strawberry.type(description="Counts over the cohort by up to two dimensions, with every margin.")
class ResearchTable:
    dimensions: list[Dimension] = classified(RR, "The groupBy dimensions, in order.")
    suppression_threshold: int | None = classified(
        RR, "Counts from 1 to this minus 1 are suppressed, with complementary cells; null when unsuppressed."
    )
    entries: list[ResearchCell] = classified(RR, "Every cell and margin; a suppressed count is null.")


@strawberry.type(description="The level one quasi-identifier is released at.")
class ResearchGeneralization:
    field: str = classified(RR, "The agreement's field name (e.g. birth_year).")
    level: str = classified(
        RR, "Its rung on the generalization ladder: year, month or exact; a range; or withheld."
    )


@strawberry.type(
    description="What a record-tier agreement's k-anonymous release generalized and suppressed: every "
    "combination of released quasi-identifier values is shared by at least k records."
)
class ResearchRelease:
    k: int = classified(RR, "Every equivalence class of the release holds at least this many records.")
    quasi_identifiers: list[str] = classified(
        RR, "The granted fields the release treats as quasi-identifiers."
    )
    levels: list[ResearchGeneralization] = classified(RR, "The level each quasi-identifier is released at.")
    generalized: list[str] = classified(RR, "The quasi-identifiers released at other than their exact level.")
    cohort: int = classified(RR, "People in the cohort.")
    released: int = classified(RR, "Records released.")
    suppressed: int = classified(RR, "Records left out: their class was still smaller than k.")
    classes: int = classified(RR, "Equivalence classes released.")
    smallest_class: int | None = classified(RR, "Records in the smallest released class; null when none.")

    @classmethod
    def of(cls, release: Release) -> ResearchRelease:
        return cls(
            k=release.k,
            quasi_identifiers=[f.value for f in release.fields],
            levels=[ResearchGeneralization(field=f.value, level=release.level_of(f)) for f in release.fields],
            generalized=sorted(release.generalized),
            cohort=release.cohort,
            released=release.released,
            suppressed=release.suppressed,
            classes=len(release.classes),
            smallest_class=release.smallest_class,
        )


@strawberry.type(description="What an agreement in force gives access to.")
class ResearchAccess:
    agreement: strawberry.Private[Agreement]

    @resolves(
        RR, "AGGREGATE: statistics only; RECORD: k-anonymous records, extracts and statistics over them."
    )
    def tier(self) -> AgreementTier:
        return self.agreement.tier

    @resolves(RR, "What the release generalized and suppressed; null under an aggregate-tier agreement.")
    async def release(self, info: Info) -> ResearchRelease | None:
        if self.agreement.tier is not AgreementTier.RECORD:
            return None
        db = info.context.db
        release = await db.alone(lambda: records.release_plan(db.session, self.agreement))
        return ResearchRelease.of(release)

    @resolves(RR, "The agreement's reference.")
    def reference(self) -> str:
        return self.agreement.reference

    @resolves(RR, "The fields the agreement grants (the vocabulary of grantedFields and of the CSV columns).")
    def granted_fields(self) -> list[str]:
        return sorted(f.value for f in self.agreement.fields)

    @resolves(
        RR,
        "The k-anonymous release of the cohort's de-identified records, with only the granted fields "
        "(refused with RECORDS_NOT_RELEASED under an aggregate-tier agreement).",
    )
    async def records(
        self, info: Info, first: PageSize = None, after: After = None
    ) -> ResearchRecordConnection:
        _refuse_ungranted(self.agreement, _selected(info.selected_fields, "nodes"), RECORD_FIELDS)
        page = await records.record_page(
            info.context.db, self.agreement, first, after, info.context.now.date()
        )
        return ResearchRecordConnection(
            nodes=[ResearchRecord.from_record(r) for r in page.records],
            total_count=page.total_count,
            page_info=PageInfo(
                has_next_page=page.has_next_page, end_cursor=page.end_cursor, start_cursor=page.start_cursor
            ),
        )

    @resolves(
        RR,
        "Counts and return rates grouped by up to two granted dimensions: small cells suppressed under an "
        "aggregate-tier agreement; counted over the released records under a record-tier one.",
    )
    async def statistics(
        self,
        info: Info,
        group_by: Annotated[
            list[Dimension],
            strawberry.argument(description="None, one or two dimensions the agreement grants."),
        ],
    ) -> ResearchTable:
        _refuse_ungranted(self.agreement, _selected(info.selected_fields, "entries"), MEASURE_FIELDS)
        dimensions = stats.check_dimensions(self.agreement, group_by)
        db = info.context.db
        researcher = info.context.principal.audience is not Audience.RESEARCH_UNIT
        over_release = researcher and self.agreement.tier is AgreementTier.RECORD
        today = info.context.now.date()

        async def work() -> stats.Table:
            # The whole cohort streams through one server-side cursor, the request's session held for it.
            if over_release:
                # Counting the released records: nothing here that the records do not show already.
                release = await records.release_plan(db.session, self.agreement)
                batches = records.stream_records(db.session, self.agreement, today, release=release)
                return await stats.tabulate(batches, self.agreement, dimensions, False, release)
            batches = records.stream_records(db.session, self.agreement, today)
            return await stats.tabulate(batches, self.agreement, dimensions, researcher)

        table = await db.alone(work)
        return ResearchTable(
            dimensions=list(table.dimensions),
            suppression_threshold=table.threshold,
            entries=[ResearchCell(entry=e, values=list(e.values)) for e in table.entries],
        )

    @resolves(
        RR,
        "Where to download the release as CSV (GET, with your bearer token); null under an aggregate-tier one.",
    )
    def extract_url(self) -> str | None:
        if self.agreement.tier is not AgreementTier.RECORD:
            return None
        return f"/research/extracts/{self.agreement.id}.csv"


@strawberry.type
class Query:
    @resolves(RR, "Access under one of your research agreements, while it is in force.")
    async def research(self, info: Info, agreement_id: strawberry.ID) -> ResearchAccess:
        ctx = info.context
        pk = from_global_id("ResearchAgreement", agreement_id, "agreementId")
        agreement = await records.agreement_in_force_by_id(ctx.db, ctx.principal, pk, ctx.now.date())
        ctx.authority["research_agreement"] = agreement.id
        return ResearchAccess(agreement=agreement)
