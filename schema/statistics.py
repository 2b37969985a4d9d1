"""Statistics the department reads every week: population, program enrollments and completions,
reparative hours. Each breakdown is one ``GROUP BY`` statement, run only when it is asked for."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from auth.classes import FieldClass
from resolvers import statistics as data
from resolvers.models.people import PersonStatus, Race, Sex
from resolvers.models.programs import ProgramCategory
from schema.context import Info
from schema.fields import classified, resolves
from schema.ids import from_global_id
from schema.people import Facility
from schema.programs import Program
from schema.statistics_suppression import SUPPRESSED, PopulationTables, suppressed_for


async def _facility(info: Info, pk: int | None) -> Facility | None:
    if pk is None:
        return None
    row = await info.context.loaders.facilities_by_id.load(pk)
    return None if row is None else Facility.from_row(row)


async def _program(info: Info, pk: int) -> Program | None:
    row = await info.context.loaders.programs_by_id.load(pk)
    return None if row is None else Program.from_row(row)


@strawberry.type(description="How many people a facility holds or supervises.")
class FacilityCount:
    facility_pk: strawberry.Private[int | None]
    count: int | None = classified(FieldClass.AGGREGATES_PEOPLE, SUPPRESSED)

    @resolves(FieldClass.AGGREGATES_PEOPLE, "The facility (an office, for people under supervision).")
    async def facility(self, info: Info) -> Facility | None:
        return await _facility(info, self.facility_pk)


@strawberry.type(description="How many people have a status.")
class StatusCount:
    status: PersonStatus = classified(FieldClass.AGGREGATES_PEOPLE, "The status.")
    count: int | None = classified(FieldClass.AGGREGATES_PEOPLE, SUPPRESSED)


@strawberry.type(description="How many people of a sex, in all and per facility.")
class SexCount:
    sex: Sex = classified(FieldClass.AGGREGATES_PEOPLE, "The sex.")
    count: int | None = classified(FieldClass.AGGREGATES_PEOPLE, SUPPRESSED)
    by_facility: list[FacilityCount] = classified(
        FieldClass.AGGREGATES_PEOPLE, "The same people per facility."
    )


@strawberry.type(description="How many people of a race.")
class RaceCount:
    race: Race = classified(FieldClass.AGGREGATES_PEOPLE, "The race.")
    count: int | None = classified(FieldClass.AGGREGATES_PEOPLE, SUPPRESSED)


@strawberry.type(
    description="The population, counted several ways; each breakdown is computed when asked for. For "
    "partners, counts from 1 to 10 are suppressed (null), with complementary cells so none can be recovered, "
    "unless the partner reads every person counted row by row (then the counts are of exactly those rows)."
)
class PopulationStatistics:
    filter: strawberry.Private[data.PopulationFilter]

    @resolves(FieldClass.AGGREGATES_PEOPLE, "People counted, all together; null when suppressed.")
    async def total(self, info: Info) -> int | None:
        total = await data.population_total(info.context.db, info.context.principal, self.filter)
        return PopulationTables(suppressed_for(info.context.principal, self.filter)).total(total)

    @resolves(FieldClass.AGGREGATES_PEOPLE, "People per facility (offices for people under supervision).")
    async def by_facility(self, info: Info) -> list[FacilityCount]:
        tables = PopulationTables(suppressed_for(info.context.principal, self.filter))
        if tables.threshold is not None:
            # Partners: the per-facility counts are the margins of the sex-by-facility table, so that
            # they are suppressed consistently with bySex.
            rows = await data.population_by(
                info.context.db, info.context.principal, self.filter, ["sex", "facility"]
            )
            return [FacilityCount(facility_pk=f, count=c) for f, c in tables.sex_by_facility(rows).facilities]
        rows = await data.population_by(info.context.db, info.context.principal, self.filter, ["facility"])
        return [FacilityCount(facility_pk=r.facility, count=r.people) for r in rows]

    @resolves(FieldClass.AGGREGATES_PEOPLE, "People per status.")
    async def by_status(self, info: Info) -> list[StatusCount]:
        rows = await data.population_by(info.context.db, info.context.principal, self.filter, ["status"])
        tables = PopulationTables(suppressed_for(info.context.principal, self.filter))
        return [StatusCount(status=PersonStatus(k), count=c) for k, c in tables.line(rows, "status")]

    @resolves(
        FieldClass.AGGREGATES_PEOPLE,
        "People per sex, each with its per-facility breakdown (the women's programs status report).",
    )
    async def by_sex(self, info: Info) -> list[SexCount]:
        rows = await data.population_by(
            info.context.db, info.context.principal, self.filter, ["sex", "facility"]
        )
        table = PopulationTables(suppressed_for(info.context.principal, self.filter)).sex_by_facility(rows)
        return [
            SexCount(
                sex=Sex(sex),
                count=count,
                by_facility=[FacilityCount(facility_pk=f, count=c) for f, c in cells],
            )
            for sex, count, cells in table.sexes
        ]

    @resolves(FieldClass.AGGREGATES_PEOPLE, "People per race.")
    async def by_race(self, info: Info) -> list[RaceCount]:
        rows = await data.population_by(info.context.db, info.context.principal, self.filter, ["race"])
        tables = PopulationTables(suppressed_for(info.context.principal, self.filter))
        return [RaceCount(race=Race(k), count=c) for k, c in tables.line(rows, "race")]


@strawberry.type(description="A program's enrollments begun, and completions and withdrawals, in one year.")
class ProgramYearStatistics:
    program_pk: strawberry.Private[int]
    year: int = classified(FieldClass.AGGREGATES_PROGRAMS, "Calendar year.")
    enrolled: int = classified(FieldClass.AGGREGATES_PROGRAMS, "Enrollments that began in the year.")
    completed: int = classified(FieldClass.AGGREGATES_PROGRAMS, "Enrollments completed in the year.")
    withdrawn: int = classified(FieldClass.AGGREGATES_PROGRAMS, "Withdrawals in the year.")

    @resolves(FieldClass.AGGREGATES_PROGRAMS, "The program.")
    async def program(self, info: Info) -> Program | None:
        return await _program(info, self.program_pk)


@strawberry.type(description="Reparative hours of one program at one site in one year.")
class ReparativeHoursStatistics:
    program_pk: strawberry.Private[int]
    facility_pk: strawberry.Private[int | None]
    year: int = classified(FieldClass.AGGREGATES_PROGRAMS, "Calendar year the work was done.")
    hours: Decimal = classified(FieldClass.AGGREGATES_PROGRAMS, "Hours worked.")
    participants: int = classified(FieldClass.AGGREGATES_PROGRAMS, "People who logged hours.")
    entries: int = classified(FieldClass.AGGREGATES_PROGRAMS, "Entries logged.")

    @resolves(FieldClass.AGGREGATES_PROGRAMS, "The program.")
    async def program(self, info: Info) -> Program | None:
        return await _program(info, self.program_pk)

    @resolves(
        FieldClass.AGGREGATES_PROGRAMS, "The offering's site; null for enrollments outside an offering."
    )
    async def facility(self, info: Info) -> Facility | None:
        return await _facility(info, self.facility_pk)


Year = Annotated[int | None, strawberry.argument(description="A calendar year, 1900 to 2200.")]


@strawberry.type
class Query:
    @resolves(FieldClass.AGGREGATES_PEOPLE, "The population by facility, status, sex and race.")
    async def population_statistics(
        self,
        info: Info,
        statuses: Annotated[
            list[PersonStatus] | None,
            strawberry.argument(description="Statuses counted; default: incarcerated, supervised, escaped."),
        ] = None,
        facility_id: strawberry.ID | None = None,
        sex: Sex | None = None,
    ) -> PopulationStatistics:
        f = data.PopulationFilter(
            statuses=tuple(s.value for s in statuses)
            if statuses is not None
            else data.PopulationFilter().statuses,
            facility_id=from_global_id("Facility", facility_id, "facilityId") if facility_id else None,
            sex=sex.value if sex else None,
        )
        return PopulationStatistics(filter=f)

    @resolves(FieldClass.AGGREGATES_PROGRAMS, "Enrollments and completions by program and year.")
    async def program_statistics(
        self,
        info: Info,
        program_id: strawberry.ID | None = None,
        category: ProgramCategory | None = None,
        year_from: Year = None,
        year_to: Year = None,
    ) -> list[ProgramYearStatistics]:
        cells = await data.program_statistics(
            info.context.db,
            info.context.principal,
            from_global_id("Program", program_id, "programId") if program_id else None,
            category.value if category else None,
            year_from,
            year_to,
        )
        return [
            ProgramYearStatistics(
                program_pk=c.program_id,
                year=c.year,
                enrolled=c.enrolled,
                completed=c.completed,
                withdrawn=c.withdrawn,
            )
            for c in cells
        ]

    @resolves(FieldClass.AGGREGATES_PROGRAMS, "Reparative hours by program, site and year.")
    async def reparative_hours_statistics(
        self,
        info: Info,
        program_id: strawberry.ID | None = None,
        facility_id: strawberry.ID | None = None,
        year_from: Year = None,
        year_to: Year = None,
    ) -> list[ReparativeHoursStatistics]:
        cells = await data.reparative_hours(
            info.context.db,
            info.context.principal,
            from_global_id("Program", program_id, "programId") if program_id else None,
            from_global_id("Facility", facility_id, "facilityId") if facility_id else None,
            year_from,
            year_to,
        )
        return [
            ReparativeHoursStatistics(
                program_pk=c.program_id,
                facility_pk=c.facility_id,
                year=c.year,
                hours=c.hours,
                participants=c.participants,
                entries=c.entries,
            )
            for c in cells
        ]
