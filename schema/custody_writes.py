"""The ``recordCustodyEvent`` mutation that moves a person through custody (the transitions are
``resolvers/custody_writes.py``)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import strawberry

from auth.classes import FieldClass
from resolvers import custody_writes
from resolvers.models.custody import (
    AdmissionType,
    CustodyEventKind,
    HearingDecision,
    HearingType,
    ReleaseType,
)
from resolvers.models.partners import Audience
from schema.context import Info
from schema.custody import CustodyEvent
from schema.fields import classified, mutation
from schema.ids import from_global_id
from schema.mutations import IdempotencyKey, Payload, run_mutation
from schema.people import Person


@strawberry.input(description="A custody event to record; which fields are required depends on `kind`.")
class CustodyEventInput:
    person_id: strawberry.ID
    kind: CustodyEventKind
    occurred_at: datetime = strawberry.field(description="When it happened; not in the future.")
    facility_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="ADMISSION: the admitting institution; TRANSFER: the receiving institution; "
        "RETURN: the institution returned to; HEARING_SCHEDULED: where (default: the person's facility).",
    )
    admission_type: AdmissionType | None = strawberry.field(default=None, description="ADMISSION only.")
    projected_release_on: date | None = strawberry.field(default=None, description="ADMISSION only.")
    release_type: ReleaseType | None = strawberry.field(default=None, description="RELEASE only.")
    supervision_office_id: strawberry.ID | None = strawberry.field(
        default=None, description="RELEASE to parole, conditional release or probation: the office."
    )
    hearing_type: HearingType | None = strawberry.field(default=None, description="HEARING_SCHEDULED only.")
    scheduled_for: datetime | None = strawberry.field(default=None, description="HEARING_SCHEDULED only.")
    hearing_id: strawberry.ID | None = strawberry.field(default=None, description="HEARING_DECIDED only.")
    decision: HearingDecision | None = strawberry.field(default=None, description="HEARING_DECIDED only.")
    notes: str | None = strawberry.field(default=None, description="Up to 2,000 characters.")
    person_version: int | None = strawberry.field(
        default=None, description="The person's version you read; a stale one is refused."
    )


@strawberry.type(description="The result of recording a custody event.")
class CustodyEventPayload(Payload):
    event: CustodyEvent | None = classified(FieldClass.STRUCTURE, "The recorded event; null when refused.")
    person: Person | None = classified(FieldClass.STRUCTURE, "The person as they are now; null when refused.")


def _optional_id(type_name: str, value: strawberry.ID | None, field: str) -> int | None:
    return None if value is None else from_global_id(type_name, value, field)


def _value(member: enum.Enum | None) -> Any:
    return None if member is None else member.value


@strawberry.type
class Mutation:
    @mutation(
        FieldClass.PUBLIC_PERSON,
        "Record an admission, transfer, release, escape, return, death, or a parole hearing scheduled "
        "or decided; the person's status, facility and periods follow in the same transaction.",
        audiences=(Audience.ADMIN,),
    )
    async def record_custody_event(
        self,
        info: Info,
        input: CustodyEventInput,
        idempotency_key: IdempotencyKey = None,
    ) -> CustodyEventPayload:
        ctx = info.context

        async def write() -> dict[str, int]:
            event = custody_writes.NewCustodyEvent(
                person_id=from_global_id("Person", input.person_id, "personId"),
                kind=input.kind,
                occurred_at=input.occurred_at,
                facility_id=_optional_id("Facility", input.facility_id, "facilityId"),
                admission_type=_value(input.admission_type),
                release_type=_value(input.release_type),
                supervision_office_id=_optional_id(
                    "Facility", input.supervision_office_id, "supervisionOfficeId"
                ),
                projected_release_on=input.projected_release_on,
                hearing_id=_optional_id("ParoleHearing", input.hearing_id, "hearingId"),
                hearing_type=_value(input.hearing_type),
                scheduled_for=input.scheduled_for,
                decision=_value(input.decision),
                notes=input.notes,
                person_version=input.person_version,
            )
            event_id = await custody_writes.record_custody_event(ctx.db, ctx.principal, event, ctx.now)
            return {"event": event_id, "person": event.person_id}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        event_row = person_row = None
        if outcome.refs is not None:
            event_row = await ctx.loaders.custody_events_by_id.load(outcome.refs["event"])
            person_row = await ctx.loaders.people_by_id.load(outcome.refs["person"])
        return CustodyEventPayload(
            event=None if event_row is None else CustodyEvent.from_row(event_row),
            person=None if person_row is None else Person.from_row(person_row),
            errors=outcome.errors,
            replayed=outcome.replayed,
        )
