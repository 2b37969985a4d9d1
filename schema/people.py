"""People and facilities: the public record, identity and location."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import ColumnElement, FromClause, func, select

from auth.classes import FieldClass
from resolvers import people as data
from resolvers.models import custody as custody_models
from resolvers.models import people as models
from resolvers.models.people import FacilityKind as FacilityKind  # registered below, read from here
from resolvers.models.people import PersonStatus
from resolvers.models.people import Race as Race  # registered below, read from here
from resolvers.models.people import Sex as Sex  # registered below, read from here
from resolvers.parent_pages import ChildPage
from resolvers.rows import PersonRow
from schema.compiled.sources import Computed, GlobalId, Many, One, Paged, table
from schema.context import Info
from schema.fields import classified, resolves
from schema.ids import from_global_id, to_global_id
from schema.pagination import Connection, connection
from schema.rows import FromRow

if TYPE_CHECKING:
    from schema.compiled.compiler import Level
    from schema.custody import (
        ConductReport,
        CustodyEvent,
        CustodyPeriod,
        HealthNeed,
        ParoleHearing,
        Sentence,
        SupervisionPeriod,
    )
    from schema.programs import Enrollment
    from schema.reentry import Consent, Referral

strawberry.enum(FacilityKind, description="What kind of site a facility is.")
strawberry.enum(Sex, description="Sex as recorded at admission.")
strawberry.enum(Race, description="Race as recorded at admission.")
strawberry.enum(PersonStatus, description="Where a person stands with the department.")


PageSize = Annotated[int | None, strawberry.argument(description="Rows per page, at most 100 (default 20).")]
After = Annotated[str | None, strawberry.argument(description="`pageInfo.endCursor` of the previous page.")]

Custody = strawberry.lazy("schema.custody")
Programs = strawberry.lazy("schema.programs")
Reentry = strawberry.lazy("schema.reentry")


#: The kind of health need released only under a consent that names it (42 CFR Part 2).
SUBSTANCE_USE = "substance_use"


def _age(birth: date, today: date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def _age_sql(level: Level, person: FromClause) -> ColumnElement[Any]:
    identity = models.PersonIdentity.__table__.alias()
    born = (
        select(identity.c.birth_date)
        .where(identity.c.person_id == person.c.id)
        .correlate(person)
        .scalar_subquery()
    )
    return level.dialect.years_between(born, level.today)


def _location(level: Level, person: FromClause) -> ColumnElement[Any]:
    return func.coalesce(person.c.current_facility_id, person.c.supervision_office_id)


def _projected_release_sql(level: Level, person: FromClause) -> ColumnElement[Any]:
    period = custody_models.CustodyPeriod.__table__.alias()
    return (
        select(period.c.projected_release_on)
        .where(
            period.c.person_id == person.c.id,
            period.c.released_on.is_(None),
            level.scope(custody_models.CustodyPeriod, period),
        )
        .order_by(period.c.admitted_on.desc(), period.c.id.desc())
        .limit(1)
        .correlate(person)
        .scalar_subquery()
    )


def _population(args: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    status = args.get("status")
    return [data.population_condition(status.value if status is not None else None)]


@table(models.Facility)
@strawberry.type(
    description="A site of the department: an institution, a probation and parole office or a "
    "community release center."
)
class Facility(FromRow):
    pk: strawberry.Private[int]
    code: str = classified(FieldClass.REFERENCE, "Short code of the facility.")
    name: str = classified(FieldClass.REFERENCE, "Name of the facility.")
    kind: FacilityKind = classified(FieldClass.REFERENCE, "Institution, office or release center.")
    county: str = classified(FieldClass.REFERENCE, "County the facility is in.")
    region: str = classified(FieldClass.REFERENCE, "Department region.")
    capacity: int | None = classified(FieldClass.REFERENCE, "Beds, for institutions and release centers.")
    serves_women: bool = classified(FieldClass.REFERENCE, "Whether the facility houses or supervises women.")
    address: str = classified(FieldClass.REFERENCE, "Street address of the facility.")

    @resolves(FieldClass.REFERENCE, "Opaque global id.", source=GlobalId("Facility"))
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Facility", self.pk))

    @resolves(
        FieldClass.PUBLIC_PERSON,
        "Who is here now, by name: the people an institution or release center holds, or the people an "
        "office supervises (by default incarcerated, supervised or escaped; or one status).",
        source=Paged("Person", lambda: data.LOCATION, data.POPULATION_ORDER, _population),
    )
    async def population(
        self, info: Info, first: PageSize = None, after: After = None, status: PersonStatus | None = None
    ) -> Connection[Person]:
        filters = (("status", status.value if status else None),)
        page = await info.context.loaders.population_by_facility_id.load(
            (self.pk, ChildPage(first, after, filters))
        )
        return connection(page, Person.from_row)


@table(models.PersonIdentity)
@strawberry.type(description="Identity details of a person: date of birth, address and phone.")
class PersonIdentity(FromRow):
    birth_date: date = classified(FieldClass.IDENTITY, "Date of birth.")
    address_line: str | None = classified(FieldClass.IDENTITY, "Last known street address.")
    city: str | None = classified(FieldClass.IDENTITY, "City of the last known address.")
    county: str | None = classified(FieldClass.IDENTITY, "County of the last known address.")
    state: str | None = classified(FieldClass.IDENTITY, "State of the last known address.")
    postal_code: str | None = classified(FieldClass.IDENTITY, "Postal code of the last known address.")
    phone: str | None = classified(FieldClass.IDENTITY, "Phone number.")


@strawberry.type(description="Identifiers of a person held apart: SSN, FBI and state ids.")
class PersonIdentifiers:
    ssn: str | None = classified(FieldClass.IDENTIFIERS, "Social Security number.")
    fbi_number: str | None = classified(FieldClass.IDENTIFIERS, "FBI number.")
    state_id: str | None = classified(FieldClass.IDENTIFIERS, "State identification number.")


@table(models.Person)
@strawberry.type(description="A person in the department's custody or under its supervision, now or before.")
class Person:
    pk: strawberry.Private[int]
    facility_pk: strawberry.Private[int | None]
    doc_id: str = classified(FieldClass.PUBLIC_PERSON, "Department of Corrections number.")
    first_name: str = classified(FieldClass.PUBLIC_PERSON, "First name.")
    middle_name: str | None = classified(FieldClass.PUBLIC_PERSON, "Middle name.")
    last_name: str = classified(FieldClass.PUBLIC_PERSON, "Last name.")
    sex: Sex = classified(FieldClass.PUBLIC_PERSON, "Sex.")
    race: Race = classified(FieldClass.PUBLIC_PERSON, "Race.")
    status: PersonStatus = classified(
        FieldClass.PUBLIC_PERSON, "Incarcerated, supervised, escaped, discharged."
    )
    version: int = classified(
        FieldClass.PUBLIC_PERSON,
        "Send this back as `personVersion` with a custody event; a stale one is refused.",
    )

    @resolves(FieldClass.PUBLIC_PERSON, "Opaque global id.", source=GlobalId("Person"))
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Person", self.pk))

    @resolves(FieldClass.PUBLIC_PERSON, "Age in whole years today.", source=Computed(_age_sql))
    async def age(self, info: Info) -> int | None:
        born = await info.context.loaders.birth_dates_by_person_id.load(self.pk)
        return None if born is None else _age(born, info.context.now.date())

    @resolves(
        FieldClass.PUBLIC_PERSON,
        "Where the person is now: an institution, a release center or, "
        "for people under supervision, their probation and parole office.",
        source=One("Facility", _location),
    )
    async def facility(self, info: Info) -> Facility | None:
        if self.facility_pk is None:
            return None
        row = await info.context.loaders.facilities_by_id.load(self.facility_pk)
        return None if row is None else Facility.from_row(row)

    @resolves(
        FieldClass.IDENTITY,
        "Date of birth, address and phone.",
        source=One("PersonIdentity", "id", target_key="person_id"),
    )
    async def identity(self, info: Info) -> PersonIdentity | None:
        row = await info.context.loaders.identities_by_person_id.load(self.pk)
        return None if row is None else PersonIdentity.from_row(row)

    @resolves(FieldClass.IDENTIFIERS, "SSN, FBI and state ids.")
    async def identifiers(self, info: Info) -> PersonIdentifiers | None:
        row = await info.context.loaders.identifiers_by_person_id.load(self.pk)
        if row is None:
            return None
        return PersonIdentifiers(ssn=row.ssn, fbi_number=row.fbi_number, state_id=row.state_id)

    @resolves(
        FieldClass.IDENTITY,
        "Other names the person is known by.",
        source=Many(models.PersonAlias, "person_id", ("alias", "id"), scalar="alias"),
    )
    async def aliases(self, info: Info) -> list[str]:
        return [row.alias for row in await info.context.loaders.aliases_by_person_id.load(self.pk)]

    @resolves(
        FieldClass.PUBLIC_PERSON,
        "Sentences, earliest first, with their charges.",
        source=Many("Sentence", "person_id", ("sentenced_on", "id")),
    )
    async def sentences(self, info: Info) -> list[Annotated[Sentence, Custody]]:
        from schema.custody import Sentence

        return [Sentence.from_row(r) for r in await info.context.loaders.sentences_by_person_id.load(self.pk)]

    @resolves(
        FieldClass.PUBLIC_PERSON,
        "Custody periods, earliest first.",
        source=Many("CustodyPeriod", "person_id", ("admitted_on", "id")),
    )
    async def custody_periods(self, info: Info) -> list[Annotated[CustodyPeriod, Custody]]:
        from schema.custody import CustodyPeriod

        rows = await info.context.loaders.custody_periods_by_person_id.load(self.pk)
        return [CustodyPeriod.from_row(r) for r in rows]

    @resolves(
        FieldClass.RELEASE,
        "Projected release date of the open custody period.",
        source=Computed(_projected_release_sql),
    )
    async def projected_release_on(self, info: Info) -> date | None:
        rows = await info.context.loaders.custody_periods_by_person_id.load(self.pk)
        open_periods = [r for r in rows if r.released_on is None]
        return open_periods[-1].projected_release_on if open_periods else None

    @resolves(
        FieldClass.RELEASE,
        "Supervision periods, earliest first.",
        source=Many("SupervisionPeriod", "person_id", ("started_on", "id")),
    )
    async def supervision_periods(self, info: Info) -> list[Annotated[SupervisionPeriod, Custody]]:
        from schema.custody import SupervisionPeriod

        rows = await info.context.loaders.supervision_periods_by_person_id.load(self.pk)
        return [SupervisionPeriod.from_row(r) for r in rows]

    @resolves(
        FieldClass.RELEASE,
        "Parole hearings, earliest first.",
        source=Many("ParoleHearing", "person_id", ("scheduled_for", "id")),
    )
    async def parole_hearings(self, info: Info) -> list[Annotated[ParoleHearing, Custody]]:
        from schema.custody import ParoleHearing

        rows = await info.context.loaders.parole_hearings_by_person_id.load(self.pk)
        return [ParoleHearing.from_row(r) for r in rows]

    @resolves(
        FieldClass.PUBLIC_PERSON,
        "Custody events, earliest first.",
        source=Many("CustodyEvent", "person_id", ("occurred_at", "id")),
    )
    async def custody_events(self, info: Info) -> list[Annotated[CustodyEvent, Custody]]:
        from schema.custody import CustodyEvent

        rows = await info.context.loaders.custody_events_by_person_id.load(self.pk)
        return [CustodyEvent.from_row(r) for r in rows]

    @resolves(
        FieldClass.CUSTODY_DETAIL,
        "Conduct reports, earliest first.",
        source=Many("ConductReport", "person_id", ("occurred_on", "id")),
    )
    async def conduct_reports(self, info: Info) -> list[Annotated[ConductReport, Custody]]:
        from schema.custody import ConductReport

        rows = await info.context.loaders.conduct_reports_by_person_id.load(self.pk)
        return [ConductReport.from_row(r) for r in rows]

    @resolves(
        FieldClass.HEALTH,
        "Mental health and medical needs, earliest assessed first.",
        source=Many(
            "HealthNeed", "person_id", ("assessed_on", "id"), where=lambda n: n.c.kind != SUBSTANCE_USE
        ),
    )
    async def health_needs(self, info: Info) -> list[Annotated[HealthNeed, Custody]]:
        from schema.custody import HealthNeed

        rows = await info.context.loaders.health_needs_by_person_id.load(self.pk)
        return [HealthNeed.from_row(r) for r in rows if r.kind != SUBSTANCE_USE]

    @resolves(
        FieldClass.SUBSTANCE_USE,
        "Substance-use needs (released only under their own consent).",
        source=Many(
            "HealthNeed", "person_id", ("assessed_on", "id"), where=lambda n: n.c.kind == SUBSTANCE_USE
        ),
    )
    async def substance_use_needs(self, info: Info) -> list[Annotated[HealthNeed, Custody]]:
        from schema.custody import HealthNeed

        rows = await info.context.loaders.health_needs_by_person_id.load(self.pk)
        return [HealthNeed.from_row(r) for r in rows if r.kind == SUBSTANCE_USE]

    @resolves(
        FieldClass.PROGRAMS,
        "Program enrollments, earliest first.",
        source=Many("Enrollment", "person_id", ("enrolled_on", "id")),
    )
    async def enrollments(self, info: Info) -> list[Annotated[Enrollment, Programs]]:
        from schema.programs import Enrollment

        rows = await info.context.loaders.enrollments_by_person_id.load(self.pk)
        return [Enrollment.from_row(r) for r in rows]

    @resolves(
        FieldClass.REFERRALS,
        "Referrals to reentry partners, earliest first.",
        source=Many("Referral", "person_id", ("referred_on", "id")),
    )
    async def referrals(self, info: Info) -> list[Annotated[Referral, Reentry]]:
        from schema.reentry import Referral

        rows = await info.context.loaders.referrals_by_person_id.load(self.pk)
        return [Referral.from_row(r) for r in rows]

    @resolves(
        FieldClass.REFERRALS,
        "Release-of-information consents, earliest signed first.",
        source=Many("Consent", "person_id", ("signed_on", "id")),
    )
    async def consents(self, info: Info) -> list[Annotated[Consent, Reentry]]:
        from schema.reentry import Consent

        rows = await info.context.loaders.consents_by_person_id.load(self.pk)
        return [Consent.from_row(r) for r in rows]

    @classmethod
    def from_row(cls, row: PersonRow) -> Person:
        return cls(
            pk=row.id,
            facility_pk=row.current_facility_id
            if row.current_facility_id is not None
            else row.supervision_office_id,
            doc_id=row.doc_id,
            first_name=row.first_name,
            middle_name=row.middle_name,
            last_name=row.last_name,
            sex=models.Sex(row.sex),
            race=models.Race(row.race),
            status=models.PersonStatus(row.status),
            version=row.version,
        )


@strawberry.type
class Query:
    @resolves(
        FieldClass.PUBLIC_PERSON,
        "People, by name, DOC id, status, facility, supervision office or "
        "projected release window, in a stable order.",
    )
    async def people(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        name: Annotated[str | None, strawberry.argument(description="Part of a first or last name.")] = None,
        doc_id: Annotated[str | None, strawberry.argument(description="Exact DOC number.")] = None,
        status: PersonStatus | None = None,
        facility_id: strawberry.ID | None = None,
        supervision_office_id: strawberry.ID | None = None,
        release_from: date | None = None,
        release_to: date | None = None,
    ) -> Connection[Person]:
        f = data.PeopleFilter(
            name=name,
            doc_id=doc_id,
            status=status.value if status else None,
            facility_id=from_global_id("Facility", facility_id, "facilityId") if facility_id else None,
            supervision_office_id=(
                from_global_id("Facility", supervision_office_id, "supervisionOfficeId")
                if supervision_office_id
                else None
            ),
            release_from=release_from,
            release_to=release_to,
        )
        page = await data.list_people(info.context.db, info.context.principal, f, first, after)
        return connection(page, Person.from_row)

    @resolves(FieldClass.PUBLIC_PERSON, "One person by global id; null when there is none you may see.")
    async def person(self, info: Info, id: strawberry.ID) -> Person | None:
        row = await info.context.loaders.people_by_id.load(from_global_id("Person", id))
        return None if row is None else Person.from_row(row)

    @resolves(FieldClass.REFERENCE, "One facility by global id.")
    async def facility(self, info: Info, id: strawberry.ID) -> Facility | None:
        row = await info.context.loaders.facilities_by_id.load(from_global_id("Facility", id))
        return None if row is None else Facility.from_row(row)

    @resolves(FieldClass.REFERENCE, "The department's facilities, optionally of one kind.")
    async def facilities(
        self, info: Info, first: PageSize = None, after: After = None, kind: FacilityKind | None = None
    ) -> Connection[Facility]:
        page = await data.list_facilities(
            info.context.db, info.context.principal, kind.value if kind else None, first, after
        )
        return connection(page, Facility.from_row)
