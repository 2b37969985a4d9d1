"""Data access for the program catalog, offerings, enrollments and reparative hours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers.batching import rows_by_id, rows_by_key
from resolvers.models.programs import (
    Enrollment,
    Program,
    ProgramOffering,
    ReparativeActivity,
)
from resolvers.pagination import Page, paginate
from resolvers.parent_pages import ChildPage, pages_by_parent
from resolvers.rows import EnrollmentRow, ProgramOfferingRow, ProgramRow, ReparativeActivityRow
from resolvers.session import RequestDb


@dataclass(frozen=True, slots=True)
class ProgramFilter:
    category: str | None = None
    reparative: bool | None = None
    gender_responsive: bool | None = None


@dataclass(frozen=True, slots=True)
class EnrollmentFilter:
    person_id: int | None = None
    program_id: int | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class OfferingFilter:
    program_id: int | None = None
    facility_id: int | None = None
    status: str | None = None


#: Each list's keyset order (the last column unique), shared with the compiled reads.
PROGRAM_ORDER = ("name", "id")
OFFERING_ORDER = ("starts_on", "id")
ENROLLMENT_ORDER = ("enrolled_on", "id")


def program_conditions(f: ProgramFilter) -> list[ColumnElement[bool]]:
    """The filter's conditions (the row scope is the caller's to add), here and in compiled reads."""
    conditions: list[ColumnElement[bool]] = []
    if f.category is not None:
        conditions.append(Program.category == f.category)
    if f.reparative is not None:
        conditions.append(Program.reparative == f.reparative)
    if f.gender_responsive is not None:
        conditions.append(Program.gender_responsive == f.gender_responsive)
    return conditions


async def list_programs(
    db: RequestDb, principal: Principal, f: ProgramFilter, first: int | None, after: str | None
) -> Page[ProgramRow]:
    c = Program.__table__.c
    stmt = select(*c).where(row_scope(principal, Program), *program_conditions(f))
    return await paginate(
        db, stmt, [c[name] for name in PROGRAM_ORDER], row=ProgramRow, first=first, after=after
    )


def offering_conditions(f: OfferingFilter) -> list[ColumnElement[bool]]:
    """The filter's conditions (the row scope is the caller's to add)."""
    conditions: list[ColumnElement[bool]] = []
    if f.program_id is not None:
        conditions.append(ProgramOffering.program_id == f.program_id)
    if f.facility_id is not None:
        conditions.append(ProgramOffering.facility_id == f.facility_id)
    if f.status is not None:
        conditions.append(ProgramOffering.status == f.status)
    return conditions


async def list_offerings(
    db: RequestDb, principal: Principal, f: OfferingFilter, first: int | None, after: str | None
) -> Page[ProgramOfferingRow]:
    c = ProgramOffering.__table__.c
    stmt = select(*c).where(row_scope(principal, ProgramOffering), *offering_conditions(f))
    return await paginate(
        db, stmt, [c[name] for name in OFFERING_ORDER], row=ProgramOfferingRow, first=first, after=after
    )


def enrollment_conditions(f: EnrollmentFilter) -> list[ColumnElement[bool]]:
    """The filter's conditions (the row scope is the caller's to add)."""
    conditions: list[ColumnElement[bool]] = []
    if f.person_id is not None:
        conditions.append(Enrollment.person_id == f.person_id)
    if f.program_id is not None:
        conditions.append(Enrollment.program_id == f.program_id)
    if f.status is not None:
        conditions.append(Enrollment.status == f.status)
    return conditions


async def list_enrollments(
    db: RequestDb, principal: Principal, f: EnrollmentFilter, first: int | None, after: str | None
) -> Page[EnrollmentRow]:
    c = Enrollment.__table__.c
    stmt = select(*c).where(row_scope(principal, Enrollment), *enrollment_conditions(f))
    return await paginate(
        db, stmt, [c[name] for name in ENROLLMENT_ORDER], row=EnrollmentRow, first=first, after=after
    )


async def programs_by_id(db: RequestDb, principal: Principal, ids: Sequence[int]) -> list[ProgramRow | None]:
    return await rows_by_id(db, principal, Program, ProgramRow, ids)


async def offerings_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[ProgramOfferingRow | None]:
    return await rows_by_id(db, principal, ProgramOffering, ProgramOfferingRow, ids)


async def enrollments_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[EnrollmentRow | None]:
    return await rows_by_id(db, principal, Enrollment, EnrollmentRow, ids)


async def enrollments_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[EnrollmentRow]]:
    return await rows_by_key(
        db, principal, Enrollment, EnrollmentRow, "person_id", ids, ("enrolled_on", "id")
    )


async def reparative_activities_by_enrollment_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[ReparativeActivityRow]]:
    return await rows_by_key(
        db, principal, ReparativeActivity, ReparativeActivityRow, "enrollment_id", ids, ("performed_on", "id")
    )


async def offerings_by_program_id(
    db: RequestDb, principal: Principal, keys: Sequence[tuple[int, ChildPage]]
) -> list[Page[ProgramOfferingRow]]:
    c = ProgramOffering.__table__.c
    stmt = select(*c, c.program_id.label("parent_key")).where(row_scope(principal, ProgramOffering))
    return await pages_by_parent(db, stmt, c.program_id, OFFERING_ORDER, keys, ProgramOfferingRow)


async def enrollments_by_program_id(
    db: RequestDb, principal: Principal, keys: Sequence[tuple[int, ChildPage]]
) -> list[Page[EnrollmentRow]]:
    c = Enrollment.__table__.c
    found: dict[tuple[int, ChildPage], Page[EnrollmentRow]] = {}
    # The status filter changes the statement, so keys are batched per status (one statement each).
    for status in {page.filter("status") for _, page in keys}:
        batch = [key for key in keys if key[1].filter("status") == status]
        f = EnrollmentFilter(status=status)
        stmt = select(*c, c.program_id.label("parent_key")).where(
            row_scope(principal, Enrollment), *enrollment_conditions(f)
        )
        pages = await pages_by_parent(db, stmt, c.program_id, ENROLLMENT_ORDER, batch, EnrollmentRow)
        found.update(zip(batch, pages, strict=True))
    return [found[key] for key in keys]
