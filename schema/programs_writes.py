"""Programs' mutations: enrol a person, end an enrollment, record reparative hours."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from auth.classes import FieldClass
from resolvers import programs_writes
from resolvers.models.partners import Audience
from resolvers.models.programs import EnrollmentStatus
from schema.context import Info
from schema.fields import classified, mutation
from schema.ids import from_global_id
from schema.mutations import IdempotencyKey, Outcome, Payload, run_mutation
from schema.programs import Enrollment, optional_id


@strawberry.input(description="Enrol a person in a program, or in one offering of it.")
class EnrolPersonInput:
    person_id: strawberry.ID
    enrolled_on: date = strawberry.field(description="Not in the future; within the offering's dates.")
    program_id: strawberry.ID | None = strawberry.field(
        default=None, description="Needed without offeringId."
    )
    offering_id: strawberry.ID | None = strawberry.field(default=None, description="An open offering.")


@strawberry.input(description="End an open enrollment.")
class EndEnrollmentInput:
    enrollment_id: strawberry.ID
    version: int = strawberry.field(description="The enrollment's version you read.")
    ended_on: date = strawberry.field(description="Not in the future; not before the enrollment.")


@strawberry.input(description="Hours of reparative work on an open enrollment in a reparative program.")
class ReparativeHoursInput:
    enrollment_id: strawberry.ID
    performed_on: date = strawberry.field(description="Not in the future; not before the enrollment.")
    hours: Decimal = strawberry.field(description="More than 0, at most 24, two decimals at most.")
    description: str = strawberry.field(description="The work done, up to 200 characters.")


@strawberry.type(description="The result of a write to an enrollment.")
class EnrollmentPayload(Payload):
    enrollment: Enrollment | None = classified(
        FieldClass.STRUCTURE, "The enrollment as it is now; null when refused."
    )


async def _enrollment_payload(info: Info, outcome: Outcome) -> EnrollmentPayload:
    enrollment = None
    if outcome.refs is not None:
        row = await info.context.loaders.enrollments_by_id.load(outcome.refs["enrollment"])
        enrollment = None if row is None else Enrollment.from_row(row)
    return EnrollmentPayload(enrollment=enrollment, errors=outcome.errors, replayed=outcome.replayed)


async def _end(
    info: Info, input: EndEnrollmentInput, key: str | None, outcome: EnrollmentStatus
) -> EnrollmentPayload:
    ctx = info.context

    async def write() -> dict[str, int]:
        pk = from_global_id("Enrollment", input.enrollment_id, "enrollmentId")
        await programs_writes.end_enrollment(
            ctx.db, ctx.principal, pk, input.version, outcome, input.ended_on, ctx.now
        )
        return {"enrollment": pk}

    return await _enrollment_payload(info, await run_mutation(info, strawberry.asdict(input), key, write))


@strawberry.type
class Mutation:
    @mutation(
        FieldClass.PROGRAMS,
        "Enrol a person in a program or one of its offerings.",
        audiences=(Audience.PROGRAMS, Audience.ADMIN),
    )
    async def enrol_person(
        self, info: Info, input: EnrolPersonInput, idempotency_key: IdempotencyKey = None
    ) -> EnrollmentPayload:
        ctx = info.context

        async def write() -> dict[str, int]:
            new = programs_writes.NewEnrollment(
                person_id=from_global_id("Person", input.person_id, "personId"),
                program_id=optional_id("Program", input.program_id, "programId"),
                offering_id=optional_id("ProgramOffering", input.offering_id, "offeringId"),
                enrolled_on=input.enrolled_on,
            )
            return {"enrollment": await programs_writes.enrol_person(ctx.db, ctx.principal, new, ctx.now)}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _enrollment_payload(info, outcome)

    @mutation(
        FieldClass.PROGRAMS,
        "Record that a person completed the program of an open enrollment.",
        audiences=(Audience.PROGRAMS, Audience.ADMIN),
    )
    async def complete_enrollment(
        self, info: Info, input: EndEnrollmentInput, idempotency_key: IdempotencyKey = None
    ) -> EnrollmentPayload:
        return await _end(info, input, idempotency_key, EnrollmentStatus.COMPLETED)

    @mutation(
        FieldClass.PROGRAMS,
        "Record that a person withdrew from an open enrollment.",
        audiences=(Audience.PROGRAMS, Audience.ADMIN),
    )
    async def withdraw_enrollment(
        self, info: Info, input: EndEnrollmentInput, idempotency_key: IdempotencyKey = None
    ) -> EnrollmentPayload:
        return await _end(info, input, idempotency_key, EnrollmentStatus.WITHDRAWN)

    @mutation(
        FieldClass.PROGRAMS,
        "Log hours of reparative work on an enrollment.",
        audiences=(Audience.PROGRAMS, Audience.ADMIN),
    )
    async def record_reparative_hours(
        self,
        info: Info,
        input: ReparativeHoursInput,
        idempotency_key: IdempotencyKey = None,
    ) -> EnrollmentPayload:
        ctx = info.context

        async def write() -> dict[str, int]:
            pk = from_global_id("Enrollment", input.enrollment_id, "enrollmentId")
            new = programs_writes.NewReparativeHours(pk, input.performed_on, input.hours, input.description)
            activity = await programs_writes.record_reparative_hours(ctx.db, ctx.principal, new, ctx.now)
            return {"enrollment": pk, "activity": activity}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _enrollment_payload(info, outcome)
