"""Data access for the program catalog, offerings, enrollments and reparative hours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select, update

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers import validation as v
from resolvers.batching import row_by_id, rows_by_id, rows_by_key
from resolvers.errors import Conflict, InvalidInput, NotFound
from resolvers.models.base import Base
from resolvers.models.people import Person, PersonStatus
from resolvers.models.programs import (
    Enrollment,
    EnrollmentStatus,
    OfferingStatus,
    Program,
    ProgramOffering,
    ReparativeActivity,
)
from resolvers.pagination import Page, paginate
from resolvers.parent_pages import ChildPage, pages_by_parent
from resolvers.rows import EnrollmentRow, PersonRow, ProgramOfferingRow, ProgramRow, ReparativeActivityRow
from resolvers.session import R, RequestDb
from resolvers.versioned import at_version, update_versioned

#: One entry of reparative work covers at most a day.
MAX_HOURS_PER_ENTRY = Decimal("24")


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


# --- Writes -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewEnrollment:
    person_id: int
    program_id: int | None
    offering_id: int | None
    enrolled_on: date


async def _one(
    db: RequestDb,
    principal: Principal,
    model: type[Base],
    row: type[R],
    pk: int,
    what: str,
    field: str,
    *,
    lock: bool = False,
) -> R:
    found = await row_by_id(db, principal, model, row, pk, lock=lock)
    if found is None:
        raise NotFound(what, field)
    return found


async def enrol_person(db: RequestDb, principal: Principal, new: NewEnrollment, now: datetime) -> int:
    person = await _one(db, principal, Person, PersonRow, new.person_id, "Person", "personId")
    v.not_future("enrolledOn", new.enrolled_on, now.date())
    if person.status not in (PersonStatus.INCARCERATED, PersonStatus.SUPERVISED):
        raise Conflict(
            "personId", f"only people in custody or under supervision can enrol (is {person.status})"
        )
    if new.offering_id is None and new.program_id is None:
        raise InvalidInput("programId", "is required when no offeringId is given")
    program_id = new.program_id
    if new.offering_id is not None:
        # FOR UPDATE (PostgreSQL): concurrent enrolments into one offering take turns, so each counts
        # the places the previous ones took (SQLite serializes writers anyway).
        offering = await _one(
            db,
            principal,
            ProgramOffering,
            ProgramOfferingRow,
            new.offering_id,
            "ProgramOffering",
            "offeringId",
            lock=True,
        )
        if program_id is not None and program_id != offering.program_id:
            raise InvalidInput("programId", "must be the offering's program")
        program_id = offering.program_id
        if offering.status == OfferingStatus.CLOSED:
            raise Conflict("offeringId", "the offering is closed")
        v.not_before("enrolledOn", new.enrolled_on, "the offering's start", offering.starts_on)
        if offering.ends_on is not None and new.enrolled_on > offering.ends_on:
            raise InvalidInput("enrolledOn", f"must not be after the offering's end ({offering.ends_on})")
        taken = await db.scalar(
            select(func.count())
            .select_from(Enrollment)
            .where(Enrollment.offering_id == offering.id, Enrollment.status == EnrollmentStatus.ENROLLED)
        )
        if (taken or 0) >= offering.capacity:
            raise Conflict("offeringId", f"the offering is full ({offering.capacity} places)")
    assert program_id is not None
    await _one(db, principal, Program, ProgramRow, program_id, "Program", "programId")
    already = await db.scalar(
        select(func.count())
        .select_from(Enrollment)
        .where(
            Enrollment.person_id == person.id,
            Enrollment.program_id == program_id,
            Enrollment.status == EnrollmentStatus.ENROLLED,
        )
    )
    if already:
        # Also the answer to a concurrent enrolment that lost the race: uq_enrollments_one_enrolled
        # refuses its row, and run_mutation runs the write again, which then stops here.
        raise Conflict("programId", "the person is already enrolled in this program")
    enrollment = Enrollment(
        person_id=person.id,
        program_id=program_id,
        offering_id=new.offering_id,
        enrolled_on=new.enrolled_on,
        status=EnrollmentStatus.ENROLLED,
        reparative_hours=Decimal("0"),
    )
    db.add(enrollment)
    await db.flush()
    return enrollment.id


async def end_enrollment(
    db: RequestDb,
    principal: Principal,
    enrollment_id: int,
    version: int,
    outcome: EnrollmentStatus,
    ended_on: date,
    now: datetime,
) -> int:
    """Record a completion or a withdrawal of an enrollment that is still open."""
    enrollment = await _one(
        db, principal, Enrollment, EnrollmentRow, enrollment_id, "Enrollment", "enrollmentId"
    )
    verb = "complete" if outcome is EnrollmentStatus.COMPLETED else "withdraw"
    if enrollment.status != EnrollmentStatus.ENROLLED:
        raise Conflict(
            "enrollmentId",
            f"cannot {verb}: the person is not enrolled (the enrollment is {enrollment.status})",
        )
    v.check_version("enrollment", enrollment.version, version)
    v.not_future("endedOn", ended_on, now.date())
    v.not_before("endedOn", ended_on, "enrolledOn", enrollment.enrolled_on)
    await update_versioned(
        db,
        Enrollment,
        enrollment.id,
        version,
        {"status": outcome, "ended_on": ended_on},
        entity="enrollment",
        field="enrollmentId",
        stale=at_version,
    )
    return int(enrollment.id)


@dataclass(frozen=True, slots=True)
class NewReparativeHours:
    enrollment_id: int
    performed_on: date
    hours: Decimal
    description: str


async def record_reparative_hours(
    db: RequestDb, principal: Principal, new: NewReparativeHours, now: datetime
) -> int:
    enrollment = await _one(
        db, principal, Enrollment, EnrollmentRow, new.enrollment_id, "Enrollment", "enrollmentId"
    )
    hours = v.positive_amount("hours", new.hours, max_value=MAX_HOURS_PER_ENTRY)
    description = v.text("description", new.description, max_length=200)
    v.not_future("performedOn", new.performed_on, now.date())
    v.not_before("performedOn", new.performed_on, "the enrollment", enrollment.enrolled_on)
    if enrollment.status != EnrollmentStatus.ENROLLED:
        raise Conflict(
            "enrollmentId", f"hours are logged on open enrollments (this one is {enrollment.status})"
        )
    program = await _one(db, principal, Program, ProgramRow, enrollment.program_id, "Program", "enrollmentId")
    if not program.reparative:
        raise Conflict("enrollmentId", f"{program.name} is not a reparative program")
    activity = ReparativeActivity(
        enrollment_id=enrollment.id, performed_on=new.performed_on, hours=hours, description=description
    )
    db.add(activity)
    # Added in SQL so two concurrent entries never lose one another's hours.
    await db.execute(
        update(Enrollment)
        .where(Enrollment.id == enrollment.id)
        .values(reparative_hours=Enrollment.reparative_hours + hours, version=Enrollment.version + 1)
    )
    await db.flush()
    return activity.id
