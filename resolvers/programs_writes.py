"""Programs' writes: enrol a person in an offering, end an enrollment, record reparative hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select, update

from auth.principal import Principal
from resolvers import validation as v
from resolvers.batching import existing_row
from resolvers.errors import Conflict, InvalidInput
from resolvers.models.people import Person, PersonStatus
from resolvers.models.programs import (
    Enrollment,
    EnrollmentStatus,
    OfferingStatus,
    Program,
    ProgramOffering,
    ReparativeActivity,
)
from resolvers.rows import EnrollmentRow, PersonRow, ProgramOfferingRow, ProgramRow
from resolvers.session import RequestDb
from resolvers.versioned import at_version, update_versioned

#: One entry of reparative work covers at most a day.
MAX_HOURS_PER_ENTRY = Decimal("24")


@dataclass(frozen=True, slots=True)
class NewEnrollment:
    person_id: int
    program_id: int | None
    offering_id: int | None
    enrolled_on: date


async def enrol_person(db: RequestDb, principal: Principal, new: NewEnrollment, now: datetime) -> int:
    person = await existing_row(db, principal, Person, PersonRow, new.person_id, "Person", "personId")
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
        offering = await existing_row(
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
    await existing_row(db, principal, Program, ProgramRow, program_id, "Program", "programId")
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
    enrollment = await existing_row(
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
    enrollment = await existing_row(
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
    program = await existing_row(
        db, principal, Program, ProgramRow, enrollment.program_id, "Program", "enrollmentId"
    )
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
