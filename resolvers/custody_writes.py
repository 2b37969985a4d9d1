"""Custody events: the one place a person's custody status, location and periods change.

``record_custody_event`` is the single entry point. It checks the event against the person's
current state, writes the event, and moves the person and their custody, supervision and hearing
records in the same transaction; anything that must happen with an event (a victim notification)
hooks in here. Each kind of event is one entry of ``TRANSITIONS``: the person's states it may be
recorded in, and its handler, which checks the event's own rules, writes the periods and hearings it
moves and returns the person's changes; the person's row is then updated under the version read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import select, update

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers import validation as v
from resolvers.batching import row_by_id, table_select
from resolvers.errors import Conflict, InvalidInput, NotFound
from resolvers.models.custody import (
    CustodyEvent,
    CustodyEventKind,
    CustodyPeriod,
    HearingStatus,
    HearingType,
    ParoleHearing,
    ReleaseType,
    SupervisionEnd,
    SupervisionKind,
    SupervisionPeriod,
)
from resolvers.models.people import Facility, FacilityKind, Person, PersonStatus
from resolvers.rows import CustodyPeriodRow, FacilityRow, PersonRow, SupervisionPeriodRow
from resolvers.session import RequestDb
from resolvers.versioned import update_versioned
from resolvers.victims_notifications import create_notifications

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


def _changed_meanwhile(entity: str, current: int, expected: int) -> Conflict:
    # A plain CONFLICT on personVersion, not STALE_VERSION: the caller need not have sent a version.
    return Conflict("personVersion", f"the {entity} changed while this event was recorded; retry")


def _require(field: str, value: Any, kind: CustodyEventKind) -> Any:
    if value is None:
        raise InvalidInput(field, f"is required for a {kind.value} event")
    return value


async def _facility(db: RequestDb, principal: Principal, facility_id: int, field: str) -> FacilityRow:
    facility = await row_by_id(db, principal, Facility, FacilityRow, facility_id)
    if facility is None:
        raise NotFound("Facility", field)
    return facility


def _institution(facility: FacilityRow, field: str) -> None:
    if facility.kind != FacilityKind.INSTITUTION:
        raise InvalidInput(field, f"must be an institution (got a {facility.kind.replace('_', ' ')})")


async def _open_period(db: RequestDb, pid: int) -> CustodyPeriodRow | None:
    """The person's open custody period (the latest, should there be more)."""
    rows = await db.rows_as(
        table_select(CustodyPeriod, CustodyPeriodRow)
        .where(CustodyPeriod.person_id == pid, CustodyPeriod.released_on.is_(None))
        .order_by(CustodyPeriod.id.desc()),
        CustodyPeriodRow,
    )
    return rows[0] if rows else None


@dataclass(frozen=True, slots=True)
class Pending:
    """An event being recorded: what its handler reads."""

    db: RequestDb
    principal: Principal
    event: NewCustodyEvent
    #: The person's row as read (in the caller's scope) before anything was written.
    person: PersonRow
    status: PersonStatus
    #: The day the event occurred on.
    day: date

    @property
    def kind(self) -> CustodyEventKind:
        return self.event.kind

    def applied(self, changes: dict[str, Any] | None = None, **recorded: Any) -> Applied:
        """What the handler did: ``changes`` to the person's row, and the event row's references where
        they differ from the caller's (``facility_id``, ``to_facility_id``, ``hearing_id``)."""
        defaults: dict[str, Any] = {
            "facility_id": self.event.facility_id,
            "to_facility_id": None,
            "hearing_id": self.event.hearing_id,
        }
        return Applied(changes=changes or {}, **(defaults | recorded))


@dataclass(frozen=True, slots=True)
class Applied:
    """A handler's outcome: the person's new state and what the event row records."""

    #: Columns of the person's row to set (under their version); empty: the person is unchanged.
    changes: dict[str, Any]
    facility_id: int | None
    to_facility_id: int | None
    hearing_id: int | None


Handler = Callable[[Pending], Awaitable[Applied]]


@dataclass(frozen=True, slots=True)
class Transition:
    """How one kind of event applies, and the person's states it may be recorded in."""

    handler: Handler
    allowed_from: frozenset[PersonStatus]
    #: The refusal in any other state (``{kind}`` and ``{status}`` are filled in), on ``kind``.
    refused: str = "cannot record a {kind}: the person is {status}"


async def record_custody_event(
    db: RequestDb, principal: Principal, event: NewCustodyEvent, now: datetime
) -> int:
    """Check ``event`` against the person's state, record it and apply it; returns the event's id."""
    person = await row_by_id(db, principal, Person, PersonRow, event.person_id)
    if person is None:
        raise NotFound("Person", "personId")
    if event.person_version is not None:
        v.check_version("person", person.version, event.person_version)
    if event.occurred_at.tzinfo is None:
        raise InvalidInput("occurredAt", "must carry a time zone offset")
    if event.occurred_at > now:
        raise InvalidInput("occurredAt", f"must not be in the future (got {event.occurred_at.isoformat()})")
    notes = v.optional_text("notes", event.notes, max_length=MAX_NOTES)
    status = PersonStatus(person.status)
    if status is PersonStatus.DECEASED:
        raise Conflict("personId", "the person is deceased; no further custody events can be recorded")
    transition = TRANSITIONS[event.kind]
    if status not in transition.allowed_from:
        raise Conflict("kind", transition.refused.format(kind=event.kind.value, status=status.value))
    pending = Pending(db, principal, event, person, status, event.occurred_at.date())
    applied = await transition.handler(pending)

    if applied.changes:
        await update_versioned(
            db,
            Person,
            person.id,
            person.version,
            applied.changes,
            entity="person",
            field="personId",
            stale=_changed_meanwhile,
        )

    recorded = CustodyEvent(
        person_id=person.id,
        kind=event.kind,
        occurred_at=event.occurred_at,
        facility_id=applied.facility_id,
        to_facility_id=applied.to_facility_id,
        hearing_id=applied.hearing_id,
        notes=notes,
        # The request's time, as its notifications get: the victims-first embargo counts from it.
        created_at=now,
    )
    db.add(recorded)
    await db.flush()
    await create_notifications(db, recorded.id, person.id, event.kind, now)
    return recorded.id


# --- The transitions, one handler per kind of event ----------------------------------------------------


async def _open_supervision(db: RequestDb, pid: int) -> SupervisionPeriodRow | None:
    """The person's open supervision period (the latest, should there be more)."""
    rows = await db.rows_as(
        table_select(SupervisionPeriod, SupervisionPeriodRow)
        .where(SupervisionPeriod.person_id == pid, SupervisionPeriod.ended_on.is_(None))
        .order_by(SupervisionPeriod.id.desc()),
        SupervisionPeriodRow,
    )
    return rows[0] if rows else None


async def _admission(e: Pending) -> Applied:
    fid = _require("facilityId", e.event.facility_id, e.kind)
    _institution(await _facility(e.db, e.principal, fid, "facilityId"), "facilityId")
    admission_type = _require("admissionType", e.event.admission_type, e.kind)
    last = await e.db.scalar(
        select(CustodyPeriod.released_on)
        .where(CustodyPeriod.person_id == e.person.id, CustodyPeriod.released_on.is_not(None))
        .order_by(CustodyPeriod.released_on.desc())
        .limit(1)
    )
    v.not_before("occurredAt", e.day, "the last release", last)
    if e.event.projected_release_on is not None:
        v.not_before("projectedReleaseOn", e.event.projected_release_on, "occurredAt", e.day)
    supervision = await _open_supervision(e.db, e.person.id)
    if supervision is not None:
        v.not_before("occurredAt", e.day, "the start of supervision", supervision.started_on)
        await _end_supervision(e.db, supervision.id, e.day, SupervisionEnd.REVOKED)
    e.db.add(
        CustodyPeriod(
            person_id=e.person.id,
            facility_id=fid,
            admission_type=admission_type,
            admitted_on=e.day,
            projected_release_on=e.event.projected_release_on,
        )
    )
    return e.applied(
        {
            "status": PersonStatus.INCARCERATED,
            "current_facility_id": fid,
            "supervision_office_id": None,
            "discharged_on": None,
        }
    )


async def _custody_period(e: Pending) -> CustodyPeriodRow:
    """The open custody period a transfer, release or escape leaves from."""
    period = await _open_period(e.db, e.person.id)
    if period is None:
        raise Conflict("kind", f"cannot record a {e.kind.value}: the person has no open custody period")
    v.not_before("occurredAt", e.day, "the admission", period.admitted_on)
    return period


async def _transfer(e: Pending) -> Applied:
    period = await _custody_period(e)
    to_id = _require("facilityId", e.event.facility_id, e.kind)
    _institution(await _facility(e.db, e.principal, to_id, "facilityId"), "facilityId")
    if to_id == e.person.current_facility_id:
        raise InvalidInput("facilityId", "must differ from the facility the person is in")
    await e.db.execute(
        update(CustodyPeriod)
        .where(CustodyPeriod.id == period.id)
        .values(facility_id=to_id, version=CustodyPeriod.version + 1)
    )
    return e.applied(
        {"current_facility_id": to_id}, facility_id=e.person.current_facility_id, to_facility_id=to_id
    )


async def _escape(e: Pending) -> Applied:
    await _custody_period(e)
    return e.applied(
        {"status": PersonStatus.ESCAPED, "current_facility_id": None},
        facility_id=e.person.current_facility_id,
    )


async def _release_event(e: Pending) -> Applied:
    period = await _custody_period(e)
    changes = await _release(e.db, e.principal, e.event, e.person, period, e.day)
    return e.applied(changes, facility_id=e.person.current_facility_id)


async def _return(e: Pending) -> Applied:
    fid = _require("facilityId", e.event.facility_id, e.kind)
    _institution(await _facility(e.db, e.principal, fid, "facilityId"), "facilityId")
    period = await _open_period(e.db, e.person.id)
    if period is not None:
        v.not_before("occurredAt", e.day, "the admission", period.admitted_on)
        await e.db.execute(
            update(CustodyPeriod)
            .where(CustodyPeriod.id == period.id)
            .values(facility_id=fid, version=CustodyPeriod.version + 1)
        )
    return e.applied({"status": PersonStatus.INCARCERATED, "current_facility_id": fid})


async def _death(e: Pending) -> Applied:
    period = await _open_period(e.db, e.person.id)
    if period is not None:
        v.not_before("occurredAt", e.day, "the admission", period.admitted_on)
        await _close_custody(e.db, period.id, e.day, ReleaseType.DEATH)
    supervision = await _open_supervision(e.db, e.person.id)
    if supervision is not None:
        v.not_before("occurredAt", e.day, "the start of supervision", supervision.started_on)
        await _end_supervision(e.db, supervision.id, e.day, SupervisionEnd.DEATH)
    return e.applied(
        {
            "status": PersonStatus.DECEASED,
            "current_facility_id": None,
            "supervision_office_id": None,
            "discharged_on": e.day,
        },
        facility_id=e.person.current_facility_id or e.person.supervision_office_id,
    )


async def _hearing_scheduled(e: Pending) -> Applied:
    hearing_type = HearingType(_require("hearingType", e.event.hearing_type, e.kind))
    scheduled_for = _require("scheduledFor", e.event.scheduled_for, e.kind)
    if scheduled_for.tzinfo is None:
        raise InvalidInput("scheduledFor", "must carry a time zone offset")
    if scheduled_for < e.event.occurred_at:
        raise InvalidInput("scheduledFor", "must not be before occurredAt")
    # Which state a hearing needs depends on its type, so the table lets every living person through.
    needed = PersonStatus.SUPERVISED if hearing_type is HearingType.REVOCATION else PersonStatus.INCARCERATED
    if e.status is not needed:
        raise Conflict(
            "hearingType",
            f"a {hearing_type.value} hearing needs a person who is {needed.value} (is {e.status.value})",
        )
    where = e.event.facility_id or e.person.current_facility_id or e.person.supervision_office_id
    where = _require("facilityId", where, e.kind)
    await _facility(e.db, e.principal, where, "facilityId")
    hearing = ParoleHearing(
        person_id=e.person.id,
        facility_id=where,
        hearing_type=hearing_type,
        scheduled_for=scheduled_for,
        status=HearingStatus.SCHEDULED,
    )
    e.db.add(hearing)
    await e.db.flush()
    return e.applied(hearing_id=hearing.id, facility_id=where)


async def _hearing_decided(e: Pending) -> Applied:
    hid = _require("hearingId", e.event.hearing_id, e.kind)
    decision = _require("decision", e.event.decision, e.kind)
    hearings = await e.db.rows(
        select(*ParoleHearing.__table__.columns).where(
            row_scope(e.principal, ParoleHearing), ParoleHearing.id == hid
        )
    )
    if not hearings or hearings[0].person_id != e.person.id:
        raise NotFound("ParoleHearing", "hearingId")
    hearing_row = hearings[0]
    if hearing_row.status != HearingStatus.SCHEDULED:
        raise Conflict("hearingId", f"the hearing is not scheduled (it is {hearing_row.status})")
    if e.event.occurred_at < hearing_row.scheduled_for:
        raise InvalidInput("occurredAt", "must not be before the hearing's scheduled time")
    await e.db.execute(
        update(ParoleHearing)
        .where(ParoleHearing.id == hid)
        .values(
            status=HearingStatus.HELD,
            decision=decision,
            decided_on=e.day,
            version=ParoleHearing.version + 1,
        )
    )
    return e.applied(facility_id=hearing_row.facility_id)


_LIVING = frozenset(PersonStatus) - {PersonStatus.DECEASED}


_IN_CUSTODY = frozenset({PersonStatus.INCARCERATED})


_NOT_IN_CUSTODY = "cannot record a {kind}: the person is not in custody ({status})"


#: Every kind of custody event: its handler, the states it may be recorded in (a deceased person
#: takes none, refused before the table is read) and the refusal in the others.
TRANSITIONS: Mapping[CustodyEventKind, Transition] = MappingProxyType(
    {
        CustodyEventKind.ADMISSION: Transition(
            _admission,
            frozenset({PersonStatus.SUPERVISED, PersonStatus.DISCHARGED}),
            "cannot admit a person who is already in custody ({status})",
        ),
        CustodyEventKind.TRANSFER: Transition(_transfer, _IN_CUSTODY, _NOT_IN_CUSTODY),
        CustodyEventKind.RELEASE: Transition(_release_event, _IN_CUSTODY, _NOT_IN_CUSTODY),
        CustodyEventKind.ESCAPE: Transition(_escape, _IN_CUSTODY, _NOT_IN_CUSTODY),
        CustodyEventKind.RETURN: Transition(
            _return,
            frozenset({PersonStatus.ESCAPED}),
            "cannot record a return: the person has not escaped ({status})",
        ),
        CustodyEventKind.DEATH: Transition(
            _death,
            _LIVING - {PersonStatus.DISCHARGED},
            "cannot record a death: the person is no longer under the department",
        ),
        # A hearing's state rule depends on its type: the handler checks it (on hearingType).
        CustodyEventKind.HEARING_SCHEDULED: Transition(_hearing_scheduled, _LIVING),
        CustodyEventKind.HEARING_DECIDED: Transition(_hearing_decided, _LIVING),
    }
)


async def _release(
    db: RequestDb,
    principal: Principal,
    event: NewCustodyEvent,
    person: PersonRow,
    period: CustodyPeriodRow,
    day: date,
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
