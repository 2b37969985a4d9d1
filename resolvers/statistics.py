"""Statistics of people, programs and reparative work, counted in SQL (``GROUP BY``).

Every statistic adds ``aggregate_scope``: an audience counts the rows it could read, and
legislative offices count every class but victims (the matrix's aggregates rule). Suppressing
small cells for partners belongs to the field policy, not here; what it needs from here is
``countable_by_rows``: whether a partner could count the same population row by row anyway (then
nothing is suppressed, and the population is counted over exactly the rows it reads).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Integer, Row, cast, extract, func, select

from auth.classes import FieldClass
from auth.policy import MATRIX, Access
from auth.principal import Principal
from auth.scopes import aggregate_scope, row_scope
from resolvers.errors import InvalidInput
from resolvers.models.partners import Audience
from resolvers.models.people import Person, PersonStatus
from resolvers.models.programs import (
    Enrollment,
    EnrollmentStatus,
    Program,
    ProgramOffering,
    ReparativeActivity,
)
from resolvers.people import CURRENT, LOCATION
from resolvers.session import RequestDb

#: The dimensions population can be counted by, and the column each one groups.
POPULATION_DIMENSIONS: dict[str, Any] = {
    "facility": LOCATION,
    "status": Person.status,
    "sex": Person.sex,
    "race": Person.race,
}


@dataclass(frozen=True, slots=True)
class PopulationFilter:
    statuses: tuple[str, ...] = tuple(CURRENT)
    facility_id: int | None = None
    sex: str | None = None


#: The statuses of the people a legislative office reads row by row: the public tier of
#: ``auth/scopes.py`` (everyone not discharged). Its aggregates count discharged people too.
LEGISLATIVE_ROW_STATUSES = frozenset(s.value for s in PersonStatus if s is not PersonStatus.DISCHARGED)
#: The fields population statistics are broken down by (``POPULATION_DIMENSIONS``), as ``Person`` fields.
POPULATION_FIELDS_CLASS = FieldClass.PUBLIC_PERSON


def countable_by_rows(principal: Principal, f: PopulationFilter) -> bool:
    """Whether ``principal`` could count this population row by row: every person it counts is a
    row the audience reads, with every dimension (facility, status, sex, race: public-tier fields).
    Then suppressing a cell protects nothing: ``people(status: ESCAPED) { totalCount }`` gives the
    count away. Department units are not asked (they read every count anyway)."""
    grant = MATRIX[POPULATION_FIELDS_CLASS].get(principal.audience)
    if grant is None or grant.access not in (Access.ALL, Access.SCOPED):
        return False
    if principal.audience is Audience.LEGISLATIVE:
        return set(f.statuses) <= LEGISLATIVE_ROW_STATUSES
    # Every other audience's aggregates count only the rows it could read.
    return True


def _population_conditions(principal: Principal, f: PopulationFilter) -> list[ColumnElement[bool]]:
    if not f.statuses:
        raise InvalidInput("statuses", "must name at least one status")
    # Counted row by row, a population is exactly the rows the audience reads (so a person under the
    # victims-first embargo is not counted where the rows do not show them either).
    scope = row_scope if principal.is_partner and countable_by_rows(principal, f) else aggregate_scope
    conditions: list[ColumnElement[bool]] = [
        scope(principal, Person),
        Person.status.in_(f.statuses),
    ]
    if f.facility_id is not None:
        conditions.append(LOCATION.in_([f.facility_id]))
    if f.sex is not None:
        conditions.append(Person.sex == f.sex)
    return conditions


async def population_total(db: RequestDb, principal: Principal, f: PopulationFilter) -> int:
    stmt = select(func.count()).select_from(Person).where(*_population_conditions(principal, f))
    return int(await db.scalar(stmt) or 0)


async def population_by(
    db: RequestDb, principal: Principal, f: PopulationFilter, dimensions: Sequence[str]
) -> Sequence[Row[Any]]:
    """Counts per combination of ``dimensions`` (columns named after them, then ``people``)."""
    columns = [POPULATION_DIMENSIONS[d].label(d) for d in dimensions]
    stmt = (
        select(*columns, func.count().label("people"))
        .select_from(Person)
        .where(*_population_conditions(principal, f))
        .group_by(*columns)
        .order_by(*columns)
    )
    return await db.rows(stmt)


def _year(column: Any) -> ColumnElement[int]:
    return cast(extract("year", column), Integer)


def _check_years(year_from: int | None, year_to: int | None) -> None:
    for name, year in (("yearFrom", year_from), ("yearTo", year_to)):
        if year is not None and not 1900 <= year <= 2200:
            raise InvalidInput(name, "must be a year between 1900 and 2200")
    if year_from is not None and year_to is not None and year_to < year_from:
        raise InvalidInput("yearTo", "must not be before yearFrom")


class _Began(NamedTuple):
    """Enrolments per program and year they began."""

    program_id: int
    year: int
    n: int


class _Finished(NamedTuple):
    """Enrolments per program, year they ended and how (completed or withdrawn)."""

    program_id: int
    year: int
    status: str
    n: int


@dataclass(slots=True)
class ProgramYear:
    program_id: int
    year: int
    enrolled: int = 0
    completed: int = 0
    withdrawn: int = 0


async def program_statistics(
    db: RequestDb,
    principal: Principal,
    program_id: int | None,
    category: str | None,
    year_from: int | None,
    year_to: int | None,
) -> list[ProgramYear]:
    """Enrollments by the year they began; completions and withdrawals by the year they ended."""
    _check_years(year_from, year_to)
    base: list[ColumnElement[bool]] = [aggregate_scope(principal, Enrollment)]
    if program_id is not None:
        base.append(Enrollment.program_id == program_id)
    if category is not None:
        base.append(Enrollment.program_id.in_(select(Program.id).where(Program.category == category)))

    def within(year: ColumnElement[int]) -> list[ColumnElement[bool]]:
        bounds = []
        if year_from is not None:
            bounds.append(year >= year_from)
        if year_to is not None:
            bounds.append(year <= year_to)
        return bounds

    started = _year(Enrollment.enrolled_on).label("year")
    ended = _year(Enrollment.ended_on).label("year")
    began = (
        select(Enrollment.program_id, started, func.count().label("n"))
        .where(*base, *within(_year(Enrollment.enrolled_on)))
        .group_by(Enrollment.program_id, started)
    )
    finished = (
        select(Enrollment.program_id, ended, Enrollment.status, func.count().label("n"))
        .where(
            *base,
            Enrollment.status.in_((EnrollmentStatus.COMPLETED, EnrollmentStatus.WITHDRAWN)),
            Enrollment.ended_on.is_not(None),
            *within(_year(Enrollment.ended_on)),
        )
        .group_by(Enrollment.program_id, ended, Enrollment.status)
    )
    cells: dict[tuple[int, int], ProgramYear] = {}

    def cell(row: _Began | _Finished) -> ProgramYear:
        key = (row.program_id, int(row.year))
        return cells.setdefault(key, ProgramYear(program_id=key[0], year=key[1]))

    for row in await db.rows_as(began, _Began):
        cell(row).enrolled += row.n
    for done in await db.rows_as(finished, _Finished):
        if done.status == EnrollmentStatus.COMPLETED:
            cell(done).completed += done.n
        else:
            cell(done).withdrawn += done.n
    return [cells[key] for key in sorted(cells)]


@dataclass(slots=True)
class HoursCell:
    program_id: int
    facility_id: int | None
    year: int
    hours: Decimal
    participants: int
    entries: int = field(default=0)


async def reparative_hours(
    db: RequestDb,
    principal: Principal,
    program_id: int | None,
    facility_id: int | None,
    year_from: int | None,
    year_to: int | None,
) -> list[HoursCell]:
    """Hours of reparative work by program, facility (the offering's site) and year performed."""
    _check_years(year_from, year_to)
    year = _year(ReparativeActivity.performed_on).label("year")
    site = ProgramOffering.facility_id.label("facility_id")
    conditions = [aggregate_scope(principal, ReparativeActivity), aggregate_scope(principal, Enrollment)]
    if program_id is not None:
        conditions.append(Enrollment.program_id == program_id)
    if facility_id is not None:
        conditions.append(ProgramOffering.facility_id == facility_id)
    if year_from is not None:
        conditions.append(_year(ReparativeActivity.performed_on) >= year_from)
    if year_to is not None:
        conditions.append(_year(ReparativeActivity.performed_on) <= year_to)
    stmt = (
        select(
            Enrollment.program_id,
            site,
            year,
            func.sum(ReparativeActivity.hours).label("hours"),
            func.count(func.distinct(Enrollment.person_id)).label("participants"),
            func.count().label("entries"),
        )
        .select_from(ReparativeActivity)
        .join(Enrollment, Enrollment.id == ReparativeActivity.enrollment_id)
        .outerjoin(ProgramOffering, ProgramOffering.id == Enrollment.offering_id)
        .where(*conditions)
        .group_by(Enrollment.program_id, site, year)
        .order_by(Enrollment.program_id, site, year)
    )
    return [
        HoursCell(
            program_id=row.program_id,
            facility_id=row.facility_id,
            year=int(row.year),
            hours=Decimal(row.hours).quantize(Decimal("0.01")),
            participants=row.participants,
            entries=row.entries,
        )
        for row in await db.rows(stmt)
    ]
