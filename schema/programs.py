"""The program catalog, offerings by site, enrollments and reparative hours."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy import ColumnElement

from auth.classes import FieldClass
from resolvers import programs as data
from resolvers.models import programs as models
from resolvers.models.programs import EnrollmentStatus, OfferingStatus, ProgramCategory
from resolvers.parent_pages import ChildPage
from schema.compiled.sources import GlobalId, One, Paged, table
from schema.context import Info
from schema.fields import classified, resolves
from schema.ids import from_global_id, to_global_id
from schema.pagination import Connection, connection
from schema.people import After, Facility, PageSize, Person
from schema.rows import FromRow

strawberry.enum(ProgramCategory, description="What kind of program it is.")
strawberry.enum(OfferingStatus, description="Whether an offering takes enrollments.")
strawberry.enum(EnrollmentStatus, description="Enrolled, completed or withdrawn.")


def _enrollments(args: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    status = args.get("status")
    return data.enrollment_conditions(
        data.EnrollmentFilter(status=status.value if status is not None else None)
    )


@table(models.Program)
@strawberry.type(description="A program of the department's catalog.")
class Program(FromRow):
    pk: strawberry.Private[int]
    code: str = classified(FieldClass.REFERENCE, "Short code, e.g. ICVC.")
    name: str = classified(FieldClass.REFERENCE, "Name of the program.")
    category: ProgramCategory = classified(FieldClass.REFERENCE, "Kind of program.")
    description: str = classified(FieldClass.REFERENCE, "What the program does.")
    reparative: bool = classified(FieldClass.REFERENCE, "Whether participants log reparative hours.")
    gender_responsive: bool = classified(FieldClass.REFERENCE, "A gender-responsive program for women.")

    @resolves(FieldClass.REFERENCE, "Opaque global id.", source=GlobalId("Program"))
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Program", self.pk))

    @resolves(
        FieldClass.REFERENCE,
        "Where and when the program is offered, earliest first.",
        source=Paged(
            "ProgramOffering", lambda: models.ProgramOffering.__table__.c.program_id, data.OFFERING_ORDER
        ),
    )
    async def offerings(
        self, info: Info, first: PageSize = None, after: After = None
    ) -> Connection[ProgramOffering]:
        page = await info.context.loaders.offerings_by_program_id.load((self.pk, ChildPage(first, after)))
        return connection(page, ProgramOffering.from_row)

    @resolves(
        FieldClass.PROGRAMS,
        "Enrollments in the program, earliest first.",
        source=Paged(
            "Enrollment",
            lambda: models.Enrollment.__table__.c.program_id,
            data.ENROLLMENT_ORDER,
            _enrollments,
        ),
    )
    async def enrollments(
        self, info: Info, first: PageSize = None, after: After = None, status: EnrollmentStatus | None = None
    ) -> Connection[Enrollment]:
        filters = (("status", status.value if status else None),)
        page = await info.context.loaders.enrollments_by_program_id.load(
            (self.pk, ChildPage(first, after, filters))
        )
        return connection(page, Enrollment.from_row)


async def _program(info: Info, pk: int) -> Program | None:
    row = await info.context.loaders.programs_by_id.load(pk)
    return None if row is None else Program.from_row(row)


@table(models.ProgramOffering)
@strawberry.type(description="A program offered at one site for a stretch of time.")
class ProgramOffering(FromRow):
    pk: strawberry.Private[int]
    program_pk: strawberry.Private[int]
    facility_pk: strawberry.Private[int]
    starts_on: date = classified(FieldClass.REFERENCE, "First day.")
    ends_on: date | None = classified(FieldClass.REFERENCE, "Last day; null when open-ended.")
    capacity: int = classified(FieldClass.REFERENCE, "Places.")
    status: OfferingStatus = classified(FieldClass.REFERENCE, "Planned, open or closed.")

    @resolves(FieldClass.REFERENCE, "Opaque global id.", source=GlobalId("ProgramOffering"))
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("ProgramOffering", self.pk))

    @resolves(FieldClass.REFERENCE, "The program offered.", source=One("Program", "program_id"))
    async def program(self, info: Info) -> Program | None:
        return await _program(info, self.program_pk)

    @resolves(FieldClass.REFERENCE, "The site.", source=One("Facility", "facility_id"))
    async def facility(self, info: Info) -> Facility | None:
        row = await info.context.loaders.facilities_by_id.load(self.facility_pk)
        return None if row is None else Facility.from_row(row)


@strawberry.type(description="Hours of reparative work logged on an enrollment.")
class ReparativeActivity(FromRow):
    performed_on: date = classified(FieldClass.PROGRAMS, "Day the work was done.")
    hours: Decimal = classified(FieldClass.PROGRAMS, "Hours worked.")
    description: str = classified(FieldClass.PROGRAMS, "The work done.")


@table(models.Enrollment)
@strawberry.type(description="A person's participation in a program.")
class Enrollment(FromRow):
    pk: strawberry.Private[int]
    person_pk: strawberry.Private[int]
    program_pk: strawberry.Private[int]
    offering_pk: strawberry.Private[int | None]
    enrolled_on: date = classified(FieldClass.PROGRAMS, "Date of enrollment.")
    status: EnrollmentStatus = classified(FieldClass.PROGRAMS, "Enrolled, completed or withdrawn.")
    ended_on: date | None = classified(FieldClass.PROGRAMS, "Date of completion or withdrawal.")
    reparative_hours: Decimal = classified(FieldClass.PROGRAMS, "Reparative hours logged in total.")
    version: int = classified(FieldClass.PROGRAMS, "Send this back with an update; a stale one is refused.")

    @resolves(FieldClass.PROGRAMS, "Opaque global id.", source=GlobalId("Enrollment"))
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Enrollment", self.pk))

    @resolves(FieldClass.PROGRAMS, "The program.", source=One("Program", "program_id"))
    async def program(self, info: Info) -> Program | None:
        return await _program(info, self.program_pk)

    @resolves(
        FieldClass.PROGRAMS,
        "The offering (site and dates), when enrolled in one.",
        source=One("ProgramOffering", "offering_id"),
    )
    async def offering(self, info: Info) -> ProgramOffering | None:
        if self.offering_pk is None:
            return None
        row = await info.context.loaders.offerings_by_id.load(self.offering_pk)
        return None if row is None else ProgramOffering.from_row(row)

    @resolves(FieldClass.PUBLIC_PERSON, "The participant.", source=One("Person", "person_id"))
    async def person(self, info: Info) -> Person | None:
        row = await info.context.loaders.people_by_id.load(self.person_pk)
        return None if row is None else Person.from_row(row)

    @resolves(FieldClass.PROGRAMS, "Reparative work logged, earliest first.")
    async def reparative_activities(self, info: Info) -> list[ReparativeActivity]:
        rows = await info.context.loaders.reparative_activities_by_enrollment_id.load(self.pk)
        return [ReparativeActivity.from_row(r) for r in rows]


def optional_id(type_name: str, value: strawberry.ID | None, field: str) -> int | None:
    return None if value is None else from_global_id(type_name, value, field)


@strawberry.type
class Query:
    @resolves(FieldClass.REFERENCE, "The program catalog, by name.")
    async def programs(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        category: ProgramCategory | None = None,
        reparative: bool | None = None,
        gender_responsive: bool | None = None,
    ) -> Connection[Program]:
        f = data.ProgramFilter(category.value if category else None, reparative, gender_responsive)
        page = await data.list_programs(info.context.db, info.context.principal, f, first, after)
        return connection(page, Program.from_row)

    @resolves(FieldClass.REFERENCE, "One program by global id.")
    async def program(self, info: Info, id: strawberry.ID) -> Program | None:
        return await _program(info, from_global_id("Program", id))

    @resolves(FieldClass.REFERENCE, "Program offerings, earliest first.")
    async def program_offerings(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        program_id: strawberry.ID | None = None,
        facility_id: strawberry.ID | None = None,
        status: OfferingStatus | None = None,
    ) -> Connection[ProgramOffering]:
        f = data.OfferingFilter(
            program_id=optional_id("Program", program_id, "programId"),
            facility_id=optional_id("Facility", facility_id, "facilityId"),
            status=status.value if status else None,
        )
        page = await data.list_offerings(info.context.db, info.context.principal, f, first, after)
        return connection(page, ProgramOffering.from_row)

    @resolves(FieldClass.PROGRAMS, "Enrollments you may see, earliest first.")
    async def enrollments(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        person_id: strawberry.ID | None = None,
        program_id: strawberry.ID | None = None,
        status: EnrollmentStatus | None = None,
    ) -> Connection[Enrollment]:
        f = data.EnrollmentFilter(
            person_id=optional_id("Person", person_id, "personId"),
            program_id=optional_id("Program", program_id, "programId"),
            status=status.value if status else None,
        )
        page = await data.list_enrollments(info.context.db, info.context.principal, f, first, after)
        return connection(page, Enrollment.from_row)

    @resolves(FieldClass.PROGRAMS, "One enrollment by global id; null when there is none you may see.")
    async def enrollment(self, info: Info, id: strawberry.ID) -> Enrollment | None:
        row = await info.context.loaders.enrollments_by_id.load(from_global_id("Enrollment", id))
        return None if row is None else Enrollment.from_row(row)
