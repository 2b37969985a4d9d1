"""recordCustodyEvent through HTTP: each kind of event moves the person and their periods together,
and each invalid transition is refused with the field and rule named, writing nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.custody import CustodyEvent, CustodyPeriod, ParoleHearing, SupervisionPeriod
from resolvers.models.partners import Audience
from resolvers.models.people import Person
from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.factories.people import make_facility, make_inmate, make_person

RECORD = """
mutation($input: CustodyEventInput!, $key: String) {
  recordCustodyEvent(input: $input, idempotencyKey: $key) {
    event { id kind occurredAt facility { name } toFacility { name } hearing { id status decision } }
    person { id status version facility { name } }
    errors { code field message }
    replayed
  }
}
"""

PAST = "2025-06-01T10:00:00+00:00"


def gid(kind: str, pk: int) -> str:
    return to_global_id(kind, pk)


async def record(
    gql: GraphQL, audience: Audience = Audience.ADMIN, key: str | None = None, **fields: Any
) -> Any:
    fields.setdefault("occurredAt", PAST)
    response = await gql(RECORD, {"input": fields, "key": key}, audience=audience)
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["recordCustodyEvent"]


async def counts(session: AsyncSession) -> tuple[int, ...]:
    out = []
    for model in (CustodyEvent, CustodyPeriod, SupervisionPeriod, ParoleHearing):
        out.append((await session.scalar(select(func.count()).select_from(model))) or 0)
    return tuple(out)


async def status_of(session: AsyncSession, person: Person) -> tuple[str, int | None, int | None]:
    row = (
        await session.execute(
            select(Person.status, Person.current_facility_id, Person.supervision_office_id).where(
                Person.id == person.id
            )
        )
    ).one()
    return row.status, row.current_facility_id, row.supervision_office_id


async def refused(
    gql: GraphQL, session: AsyncSession, code: str, field: str, rule: str | None = None, **fields: Any
) -> None:
    before = await counts(session)
    payload = await record(gql, **fields)
    assert payload["event"] is None
    assert payload["person"] is None
    assert len(payload["errors"]) == 1, payload
    error = payload["errors"][0]
    assert (error["code"], error["field"]) == (code, field), error
    if rule is not None:
        assert rule in error["message"], error
    assert await counts(session) == before


# --- Each kind of event -----------------------------------------------------------------------------


async def test_admission_opens_a_period_and_puts_the_person_in_the_facility(
    gql: GraphQL, session: AsyncSession
) -> None:
    prison = await make_facility(session, name="Admitting Center")
    person = await make_person(session, status="supervised")
    office = await make_facility(session, kind="probation_parole_office")
    session.add(
        SupervisionPeriod(
            person_id=person.id, office_id=office.id, kind="probation", started_on=datetime(2024, 1, 1).date()
        )
    )
    await session.flush()
    before = await counts(session)
    payload = await record(
        gql,
        personId=gid("Person", person.id),
        kind="ADMISSION",
        facilityId=gid("Facility", prison.id),
        admissionType="PROBATION_REVOCATION",
        projectedReleaseOn="2027-01-01",
    )
    assert payload["errors"] == []
    assert payload["event"]["kind"] == "ADMISSION"
    assert payload["person"]["status"] == "INCARCERATED"
    assert payload["person"]["facility"]["name"] == "Admitting Center"
    assert payload["person"]["version"] == 2
    assert await status_of(session, person) == ("incarcerated", prison.id, None)
    assert await counts(session) == (before[0] + 1, before[1] + 1, before[2], before[3])
    ended = await session.scalar(
        select(SupervisionPeriod.end_reason).where(SupervisionPeriod.person_id == person.id)
    )
    assert ended == "revoked"


async def test_transfer_moves_the_person_and_the_open_period(gql: GraphQL, session: AsyncSession) -> None:
    person, origin = await make_inmate(session)
    target = await make_facility(session, name="Receiving Center")
    payload = await record(
        gql, personId=gid("Person", person.id), kind="TRANSFER", facilityId=gid("Facility", target.id)
    )
    assert payload["errors"] == []
    assert payload["event"]["facility"]["name"] == origin.name
    assert payload["event"]["toFacility"]["name"] == "Receiving Center"
    assert await status_of(session, person) == ("incarcerated", target.id, None)
    facility = await session.scalar(
        select(CustodyPeriod.facility_id).where(CustodyPeriod.person_id == person.id)
    )
    assert facility == target.id


async def test_release_to_parole_closes_custody_and_opens_supervision(
    gql: GraphQL, session: AsyncSession
) -> None:
    person, _ = await make_inmate(session)
    office = await make_facility(session, kind="probation_parole_office", name="District 9 Office")
    payload = await record(
        gql,
        personId=gid("Person", person.id),
        kind="RELEASE",
        releaseType="PAROLE",
        supervisionOfficeId=gid("Facility", office.id),
    )
    assert payload["errors"] == []
    assert payload["person"]["status"] == "SUPERVISED"
    assert payload["person"]["facility"]["name"] == "District 9 Office"
    assert await status_of(session, person) == ("supervised", None, office.id)
    period = (
        await session.execute(select(CustodyPeriod).where(CustodyPeriod.person_id == person.id))
    ).scalar_one()
    assert (period.released_on, period.release_type) == (date(2025, 6, 1), "parole")
    kind = await session.scalar(
        select(SupervisionPeriod.kind).where(SupervisionPeriod.person_id == person.id)
    )
    assert kind == "parole"


async def test_release_at_sentence_end_discharges(gql: GraphQL, session: AsyncSession) -> None:
    person, _ = await make_inmate(session)
    payload = await record(
        gql, personId=gid("Person", person.id), kind="RELEASE", releaseType="SENTENCE_COMPLETED"
    )
    assert payload["errors"] == []
    assert await status_of(session, person) == ("discharged", None, None)


async def test_escape_and_return(gql: GraphQL, session: AsyncSession) -> None:
    person, facility = await make_inmate(session)
    escaped = await record(gql, personId=gid("Person", person.id), kind="ESCAPE")
    assert escaped["person"]["status"] == "ESCAPED"
    back = await record(
        gql,
        personId=gid("Person", person.id),
        kind="RETURN",
        facilityId=gid("Facility", facility.id),
        occurredAt="2025-06-03T08:00:00+00:00",
    )
    assert back["errors"] == []
    assert await status_of(session, person) == ("incarcerated", facility.id, None)


async def test_death_closes_the_open_period(gql: GraphQL, session: AsyncSession) -> None:
    person, _ = await make_inmate(session)
    payload = await record(gql, personId=gid("Person", person.id), kind="DEATH")
    assert payload["person"]["status"] == "DECEASED"
    release_type = await session.scalar(
        select(CustodyPeriod.release_type).where(CustodyPeriod.person_id == person.id)
    )
    assert release_type == "death"


async def test_hearing_scheduled_then_decided(gql: GraphQL, session: AsyncSession) -> None:
    person, _ = await make_inmate(session)
    scheduled = await record(
        gql,
        personId=gid("Person", person.id),
        kind="HEARING_SCHEDULED",
        hearingType="INITIAL",
        scheduledFor="2025-07-01T09:00:00+00:00",
    )
    assert scheduled["errors"] == []
    hearing = scheduled["event"]["hearing"]
    assert hearing["status"] == "SCHEDULED"
    decided = await record(
        gql,
        personId=gid("Person", person.id),
        kind="HEARING_DECIDED",
        hearingId=hearing["id"],
        decision="GRANTED",
        occurredAt="2025-07-01T11:00:00+00:00",
    )
    assert decided["errors"] == []
    assert decided["event"]["hearing"] == {"id": hearing["id"], "status": "HELD", "decision": "GRANTED"}
    # A hearing is decided once.
    await refused(
        gql,
        session,
        "CONFLICT",
        "hearingId",
        "not scheduled",
        personId=gid("Person", person.id),
        kind="HEARING_DECIDED",
        hearingId=hearing["id"],
        decision="DENIED",
        occurredAt="2025-07-02T11:00:00+00:00",
    )


async def test_a_retry_with_the_same_key_records_one_event(gql: GraphQL, session: AsyncSession) -> None:
    person, _ = await make_inmate(session)
    before = await counts(session)
    fields: dict[str, Any] = {"personId": gid("Person", person.id), "kind": "ESCAPE"}
    first = await record(gql, key="escape-1", **fields)
    second = await record(gql, key="escape-1", **fields)
    assert second["replayed"] is True
    assert second["event"]["id"] == first["event"]["id"]
    assert (await counts(session))[0] == before[0] + 1


# --- Refusals ---------------------------------------------------------------------------------------


async def test_release_of_someone_not_in_custody(gql: GraphQL, session: AsyncSession) -> None:
    person = await make_person(session, status="supervised")
    await refused(
        gql,
        session,
        "CONFLICT",
        "kind",
        "not in custody",
        personId=gid("Person", person.id),
        kind="RELEASE",
        releaseType="SENTENCE_COMPLETED",
    )


async def test_transfer_to_an_unknown_facility(gql: GraphQL, session: AsyncSession) -> None:
    person, _ = await make_inmate(session)
    await refused(
        gql,
        session,
        "NOT_FOUND",
        "facilityId",
        personId=gid("Person", person.id),
        kind="TRANSFER",
        facilityId=gid("Facility", 99_999_999),
    )


async def test_transfer_to_a_non_institution(gql: GraphQL, session: AsyncSession) -> None:
    person, _ = await make_inmate(session)
    office = await make_facility(session, kind="probation_parole_office")
    await refused(
        gql,
        session,
        "INVALID",
        "facilityId",
        "must be an institution",
        personId=gid("Person", person.id),
        kind="TRANSFER",
        facilityId=gid("Facility", office.id),
    )


async def test_transfer_to_the_same_facility(gql: GraphQL, session: AsyncSession) -> None:
    person, facility = await make_inmate(session)
    await refused(
        gql,
        session,
        "INVALID",
        "facilityId",
        "must differ",
        personId=gid("Person", person.id),
        kind="TRANSFER",
        facilityId=gid("Facility", facility.id),
    )


async def test_hearing_decision_without_a_scheduled_hearing(gql: GraphQL, session: AsyncSession) -> None:
    person, facility = await make_inmate(session)
    held = ParoleHearing(
        person_id=person.id,
        facility_id=facility.id,
        hearing_type="initial",
        scheduled_for=datetime(2025, 5, 1, 9, tzinfo=UTC),
        status="cancelled",
    )
    session.add(held)
    await session.flush()
    await refused(
        gql,
        session,
        "CONFLICT",
        "hearingId",
        "not scheduled",
        personId=gid("Person", person.id),
        kind="HEARING_DECIDED",
        hearingId=gid("ParoleHearing", held.id),
        decision="DENIED",
    )


async def test_hearing_decision_for_another_persons_hearing(gql: GraphQL, session: AsyncSession) -> None:
    person, facility = await make_inmate(session)
    other, _ = await make_inmate(session)
    theirs = ParoleHearing(
        person_id=other.id,
        facility_id=facility.id,
        hearing_type="initial",
        scheduled_for=datetime(2025, 5, 1, 9, tzinfo=UTC),
        status="scheduled",
    )
    session.add(theirs)
    await session.flush()
    await refused(
        gql,
        session,
        "NOT_FOUND",
        "hearingId",
        personId=gid("Person", person.id),
        kind="HEARING_DECIDED",
        hearingId=gid("ParoleHearing", theirs.id),
        decision="DENIED",
    )


async def test_death_of_someone_deceased(gql: GraphQL, session: AsyncSession) -> None:
    person = await make_person(session, status="deceased")
    await refused(
        gql, session, "CONFLICT", "personId", "deceased", personId=gid("Person", person.id), kind="DEATH"
    )


async def test_admission_of_someone_in_custody(gql: GraphQL, session: AsyncSession) -> None:
    person, facility = await make_inmate(session)
    await refused(
        gql,
        session,
        "CONFLICT",
        "kind",
        "already in custody",
        personId=gid("Person", person.id),
        kind="ADMISSION",
        facilityId=gid("Facility", facility.id),
        admissionType="NEW_COMMITMENT",
    )


async def test_return_of_someone_who_has_not_escaped(gql: GraphQL, session: AsyncSession) -> None:
    person, facility = await make_inmate(session)
    await refused(
        gql,
        session,
        "CONFLICT",
        "kind",
        "not escaped",
        personId=gid("Person", person.id),
        kind="RETURN",
        facilityId=gid("Facility", facility.id),
    )


async def test_future_event_date(gql: GraphQL, session: AsyncSession) -> None:
    person, _ = await make_inmate(session)
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    await refused(
        gql,
        session,
        "INVALID",
        "occurredAt",
        "future",
        personId=gid("Person", person.id),
        kind="ESCAPE",
        occurredAt=future,
    )


async def test_event_before_the_admission(gql: GraphQL, session: AsyncSession) -> None:
    person, _ = await make_inmate(session)  # admitted 2020-02-01
    await refused(
        gql,
        session,
        "INVALID",
        "occurredAt",
        "must not be before the admission",
        personId=gid("Person", person.id),
        kind="ESCAPE",
        occurredAt="2019-12-31T00:00:00+00:00",
    )


async def test_missing_field_for_the_kind(gql: GraphQL, session: AsyncSession) -> None:
    person, _ = await make_inmate(session)
    await refused(
        gql,
        session,
        "INVALID",
        "releaseType",
        "is required for a release event",
        personId=gid("Person", person.id),
        kind="RELEASE",
    )


async def test_parole_release_needs_an_office(gql: GraphQL, session: AsyncSession) -> None:
    person, facility = await make_inmate(session)
    await refused(
        gql,
        session,
        "INVALID",
        "supervisionOfficeId",
        "probation and parole office",
        personId=gid("Person", person.id),
        kind="RELEASE",
        releaseType="PAROLE",
        supervisionOfficeId=gid("Facility", facility.id),
    )


async def test_unknown_person(gql: GraphQL, session: AsyncSession) -> None:
    await refused(gql, session, "NOT_FOUND", "personId", personId=gid("Person", 99_999_999), kind="ESCAPE")


async def test_over_long_notes(gql: GraphQL, session: AsyncSession) -> None:
    person, _ = await make_inmate(session)
    await refused(
        gql,
        session,
        "INVALID",
        "notes",
        "at most 2000",
        personId=gid("Person", person.id),
        kind="ESCAPE",
        notes="x" * 2001,
    )


async def test_stale_person_version(gql: GraphQL, session: AsyncSession) -> None:
    person, _ = await make_inmate(session)
    await refused(
        gql,
        session,
        "STALE_VERSION",
        "version",
        personId=gid("Person", person.id),
        kind="ESCAPE",
        personVersion=7,
    )


async def test_revocation_hearing_needs_a_supervised_person(gql: GraphQL, session: AsyncSession) -> None:
    person, _ = await make_inmate(session)
    await refused(
        gql,
        session,
        "CONFLICT",
        "hearingType",
        "supervised",
        personId=gid("Person", person.id),
        kind="HEARING_SCHEDULED",
        hearingType="REVOCATION",
        scheduledFor="2025-07-01T09:00:00+00:00",
    )


async def test_a_legislative_office_cannot_reach_a_discharged_person(
    gql: GraphQL, session: AsyncSession
) -> None:
    person = await make_person(session, status="discharged")
    before = await counts(session)
    # The public tier stops at discharge: the person is not found by id...
    found = await gql(
        "query($id: ID!) { person(id: $id) { docId } }",
        {"id": gid("Person", person.id)},
        audience=Audience.LEGISLATIVE,
    )
    assert found.json()["data"]["person"] is None
    # ...and recording custody events is not in a legislative office's schema at all.
    response = await gql(
        "mutation($input: RecordCustodyEventInput!) { recordCustodyEvent(input: $input) { replayed } }",
        {
            "input": {
                "personId": gid("Person", person.id),
                "kind": "DEATH",
                "occurredAt": "2026-01-01T00:00:00Z",
            }
        },
        audience=Audience.LEGISLATIVE,
    )
    assert response.status_code == 200  # a request error (application/json): nothing ran
    assert "data" not in response.json()
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert await counts(session) == before
