"""Custody events: the one place a person's custody status, location and periods change.

``record_custody_event`` is the single entry point. It checks the event against the person's
current state, writes the event, and moves the person and their custody, supervision and hearing
records in the same transaction; anything that must happen with an event (a victim notification)
hooks in here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, select, update

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers import validation as v
from resolvers.batching import rows_by_id
from resolvers.errors import Conflict, InvalidInput, NotFound
from resolvers.models.people import (
    CustodyEvent,
    CustodyEventKind,
    CustodyPeriod,
    Facility,
    FacilityKind,
    HearingStatus,
    HearingType,
    ParoleHearing,
    Person,
    PersonStatus,
    ReleaseType,
    SupervisionEnd,
    SupervisionKind,
    SupervisionPeriod,
)
from resolvers.notifications import create_notifications
from resolvers.session import RequestDb
from resolvers.versioned import update_versioned

MAX_NOTES = 2_000

#: Releases that put a person under the department's supervision, and the kind of supervision.
SUPERVISED_RELEASES = {
    ReleaseType.PAROLE: SupervisionKind.PAROLE,
    ReleaseType.CONDITIONAL_RELEASE: SupervisionKind.CONDITIONAL_RELEASE,
    ReleaseType.PROBATION: SupervisionKind.PROBATION,
}


@dataclass(frozen=True, slots=True)
class NewCustodyEvent:
    person_id: int
    kind: CustodyEventKind
    occurred_at: datetime
    facility_id: int | None = None
    admission_type: str | None = None
    release_type: str | None = None
    supervision_office_id: int | None = None
    projected_release_on: date | None = None
    hearing_id: int | None = None
    hearing_type: str | None = None
    scheduled_for: datetime | None = None
    decision: str | None = None
    notes: str | None = None
    person_version: int | None = None


async def custody_events_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[Row[Any] | None]:
    return await rows_by_id(db, principal, CustodyEvent, ids)


async def parole_hearings_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[Row[Any] | None]:
    return await rows_by_id(db, principal, ParoleHearing, ids)


def _changed_meanwhile(entity: str, current: int, expected: int) -> Conflict:
    # A plain CONFLICT on personVersion, not STALE_VERSION: the caller need not have sent a version.
    return Conflict("personVersion", f"the {entity} changed while this event was recorded; retry")


def _require(field: str, value: Any, kind: CustodyEventKind) -> Any:
    if value is None:
        raise InvalidInput(field, f"is required for a {kind.value} event")
    return value


async def _facility(db: RequestDb, principal: Principal, facility_id: int, field: str) -> Row[Any]:
    rows = await db.rows(
        select(*Facility.__table__.columns).where(row_scope(principal, Facility), Facility.id == facility_id)
    )
    if not rows:
        raise NotFound("Facility", field)
    return rows[0]


def _institution(facility: Row[Any], field: str) -> None:
    if facility.kind != FacilityKind.INSTITUTION:
        raise InvalidInput(field, f"must be an institution (got a {facility.kind.replace('_', ' ')})")


async def _open_period(db: RequestDb, model: type[CustodyPeriod] | type[SupervisionPeriod], pid: int) -> Any:
    end = CustodyPeriod.released_on if model is CustodyPeriod else SupervisionPeriod.ended_on
    rows = await db.rows(
        select(*model.__table__.columns)
        .where(model.person_id == pid, end.is_(None))
        .order_by(model.id.desc())
    )
    return rows[0] if rows else None


async def record_custody_event(
    db: RequestDb, principal: Principal, event: NewCustodyEvent, now: datetime
) -> int:
    """Check ``event`` against the person's state, record it and apply it; returns the event's id."""
    people = await db.rows(
        select(*Person.__table__.columns).where(row_scope(principal, Person), Person.id == event.person_id)
    )
    if not people:
        raise NotFound("Person", "personId")
    person = people[0]
    if event.person_version is not None:
        v.check_version("person", person.version, event.person_version)
    if event.occurred_at.tzinfo is None:
        raise InvalidInput("occurredAt", "must carry a time zone offset")
    if event.occurred_at > now:
        raise InvalidInput("occurredAt", f"must not be in the future (got {event.occurred_at.isoformat()})")
    notes = v.optional_text("notes", event.notes, max_length=MAX_NOTES)
    day = event.occurred_at.date()
    status = PersonStatus(person.status)
    if status is PersonStatus.DECEASED:
        raise Conflict("personId", "the person is deceased; no further custody events can be recorded")

    changes: dict[str, Any] = {}
    facility_id = event.facility_id
    to_facility_id: int | None = None
    hearing_id = event.hearing_id
    kind = event.kind

    if kind is CustodyEventKind.ADMISSION:
        if status in (PersonStatus.INCARCERATED, PersonStatus.ESCAPED):
            raise Conflict("kind", f"cannot admit a person who is already in custody ({status.value})")
        fid = _require("facilityId", facility_id, kind)
        _institution(await _facility(db, principal, fid, "facilityId"), "facilityId")
        admission_type = _require("admissionType", event.admission_type, kind)
        last = await db.scalar(
            select(CustodyPeriod.released_on)
            .where(CustodyPeriod.person_id == person.id, CustodyPeriod.released_on.is_not(None))
            .order_by(CustodyPeriod.released_on.desc())
            .limit(1)
        )
        v.not_before("occurredAt", day, "the last release", last)
        if event.projected_release_on is not None:
            v.not_before("projectedReleaseOn", event.projected_release_on, "occurredAt", day)
        supervision = await _open_period(db, SupervisionPeriod, person.id)
        if supervision is not None:
            v.not_before("occurredAt", day, "the start of supervision", supervision.started_on)
            await _end_supervision(db, supervision.id, day, SupervisionEnd.REVOKED)
        db.add(
            CustodyPeriod(
                person_id=person.id,
                facility_id=fid,
                admission_type=admission_type,
                admitted_on=day,
                projected_release_on=event.projected_release_on,
            )
        )
        changes = {
            "status": PersonStatus.INCARCERATED,
            "current_facility_id": fid,
            "supervision_office_id": None,
            "discharged_on": None,
        }

    elif kind in (CustodyEventKind.TRANSFER, CustodyEventKind.RELEASE, CustodyEventKind.ESCAPE):
        if status is not PersonStatus.INCARCERATED:
            raise Conflict(
                "kind", f"cannot record a {kind.value}: the person is not in custody ({status.value})"
            )
        period = await _open_period(db, CustodyPeriod, person.id)
        if period is None:
            raise Conflict("kind", f"cannot record a {kind.value}: the person has no open custody period")
        v.not_before("occurredAt", day, "the admission", period.admitted_on)
        if kind is CustodyEventKind.TRANSFER:
            to_id = _require("facilityId", facility_id, kind)
            _institution(await _facility(db, principal, to_id, "facilityId"), "facilityId")
            if to_id == person.current_facility_id:
                raise InvalidInput("facilityId", "must differ from the facility the person is in")
            facility_id, to_facility_id = person.current_facility_id, to_id
            await db.execute(
                update(CustodyPeriod)
                .where(CustodyPeriod.id == period.id)
                .values(facility_id=to_id, version=CustodyPeriod.version + 1)
            )
            changes = {"current_facility_id": to_id}
        elif kind is CustodyEventKind.ESCAPE:
            facility_id = person.current_facility_id
            changes = {"status": PersonStatus.ESCAPED, "current_facility_id": None}
        else:
            changes = await _release(db, principal, event, person, period, day)
            facility_id = person.current_facility_id

    elif kind is CustodyEventKind.RETURN:
        if status is not PersonStatus.ESCAPED:
            raise Conflict("kind", f"cannot record a return: the person has not escaped ({status.value})")
        fid = _require("facilityId", facility_id, kind)
        _institution(await _facility(db, principal, fid, "facilityId"), "facilityId")
        period = await _open_period(db, CustodyPeriod, person.id)
        if period is not None:
            v.not_before("occurredAt", day, "the admission", period.admitted_on)
            await db.execute(
                update(CustodyPeriod)
                .where(CustodyPeriod.id == period.id)
                .values(facility_id=fid, version=CustodyPeriod.version + 1)
            )
        changes = {"status": PersonStatus.INCARCERATED, "current_facility_id": fid}

    elif kind is CustodyEventKind.DEATH:
        if status is PersonStatus.DISCHARGED:
            raise Conflict("kind", "cannot record a death: the person is no longer under the department")
        facility_id = person.current_facility_id or person.supervision_office_id
        period = await _open_period(db, CustodyPeriod, person.id)
        if period is not None:
            v.not_before("occurredAt", day, "the admission", period.admitted_on)
            await _close_custody(db, period.id, day, ReleaseType.DEATH)
        supervision = await _open_period(db, SupervisionPeriod, person.id)
        if supervision is not None:
            v.not_before("occurredAt", day, "the start of supervision", supervision.started_on)
            await _end_supervision(db, supervision.id, day, SupervisionEnd.DEATH)
        changes = {
            "status": PersonStatus.DECEASED,
            "current_facility_id": None,
            "supervision_office_id": None,
            "discharged_on": day,
        }

    elif kind is CustodyEventKind.HEARING_SCHEDULED:
        hearing_type = HearingType(_require("hearingType", event.hearing_type, kind))
        scheduled_for = _require("scheduledFor", event.scheduled_for, kind)
        if scheduled_for.tzinfo is None:
            raise InvalidInput("scheduledFor", "must carry a time zone offset")
        if scheduled_for < event.occurred_at:
            raise InvalidInput("scheduledFor", "must not be before occurredAt")
        needed = (
            PersonStatus.SUPERVISED if hearing_type is HearingType.REVOCATION else PersonStatus.INCARCERATED
        )
        if status is not needed:
            raise Conflict(
                "hearingType",
                f"a {hearing_type.value} hearing needs a person who is {needed.value} (is {status.value})",
            )
        where = facility_id or person.current_facility_id or person.supervision_office_id
        where = _require("facilityId", where, kind)
        await _facility(db, principal, where, "facilityId")
        hearing = ParoleHearing(
            person_id=person.id,
            facility_id=where,
            hearing_type=hearing_type,
            scheduled_for=scheduled_for,
            status=HearingStatus.SCHEDULED,
        )
        db.add(hearing)
        await db.flush()
        hearing_id, facility_id = hearing.id, where

    elif kind is CustodyEventKind.HEARING_DECIDED:
        hid = _require("hearingId", hearing_id, kind)
        decision = _require("decision", event.decision, kind)
        hearings = await db.rows(
            select(*ParoleHearing.__table__.columns).where(
                row_scope(principal, ParoleHearing), ParoleHearing.id == hid
            )
        )
        if not hearings or hearings[0].person_id != person.id:
            raise NotFound("ParoleHearing", "hearingId")
        hearing_row = hearings[0]
        if hearing_row.status != HearingStatus.SCHEDULED:
            raise Conflict("hearingId", f"the hearing is not scheduled (it is {hearing_row.status})")
        if event.occurred_at < hearing_row.scheduled_for:
            raise InvalidInput("occurredAt", "must not be before the hearing's scheduled time")
        await db.execute(
            update(ParoleHearing)
            .where(ParoleHearing.id == hid)
            .values(
                status=HearingStatus.HELD,
                decision=decision,
                decided_on=day,
                version=ParoleHearing.version + 1,
            )
        )
        facility_id = hearing_row.facility_id

    if changes:
        await update_versioned(
            db,
            Person,
            person.id,
            person.version,
            changes,
            entity="person",
            field="personId",
            stale=_changed_meanwhile,
        )

    recorded = CustodyEvent(
        person_id=person.id,
        kind=kind,
        occurred_at=event.occurred_at,
        facility_id=facility_id,
        to_facility_id=to_facility_id,
        hearing_id=hearing_id,
        notes=notes,
        # The request's time, as its notifications get: the victims-first embargo counts from it.
        created_at=now,
    )
    db.add(recorded)
    await db.flush()
    await create_notifications(db, recorded.id, person.id, kind, now)
    return recorded.id


async def _release(
    db: RequestDb, principal: Principal, event: NewCustodyEvent, person: Row[Any], period: Row[Any], day: date
) -> dict[str, Any]:
    release_type = ReleaseType(_require("releaseType", event.release_type, event.kind))
    if release_type is ReleaseType.DEATH:
        raise InvalidInput("releaseType", "must not be DEATH: record a death event instead")
    await _close_custody(db, period.id, day, release_type)
    supervision_kind = SUPERVISED_RELEASES.get(release_type)
    if supervision_kind is None:
        if event.supervision_office_id is not None:
            raise InvalidInput("supervisionOfficeId", f"must be empty for a {release_type.value} release")
        return {
            "status": PersonStatus.DISCHARGED,
            "current_facility_id": None,
            "supervision_office_id": None,
            "discharged_on": day,
        }
    office_id = _require("supervisionOfficeId", event.supervision_office_id, event.kind)
    office = await _facility(db, principal, office_id, "supervisionOfficeId")
    if office.kind != FacilityKind.PROBATION_PAROLE_OFFICE:
        raise InvalidInput("supervisionOfficeId", "must be a probation and parole office")
    db.add(SupervisionPeriod(person_id=person.id, office_id=office_id, kind=supervision_kind, started_on=day))
    return {
        "status": PersonStatus.SUPERVISED,
        "current_facility_id": None,
        "supervision_office_id": office_id,
    }


async def _close_custody(db: RequestDb, period_id: int, day: date, release_type: ReleaseType) -> None:
    await db.execute(
        update(CustodyPeriod)
        .where(CustodyPeriod.id == period_id)
        .values(released_on=day, release_type=release_type, version=CustodyPeriod.version + 1)
    )


async def _end_supervision(db: RequestDb, period_id: int, day: date, reason: SupervisionEnd) -> None:
    await db.execute(
        update(SupervisionPeriod)
        .where(SupervisionPeriod.id == period_id)
        .values(ended_on=day, end_reason=reason, version=SupervisionPeriod.version + 1)
    )
