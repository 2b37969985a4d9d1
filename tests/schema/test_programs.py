"""Programs through HTTP: the catalog, a program's offerings and enrollments, and the writes of
enrollment (enrol, complete, withdraw, reparative hours) with each refusal writing nothing."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.partners import Audience
from resolvers.models.programs import Enrollment, ReparativeActivity
from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.factories.people import make_facility, make_inmate, make_person
from tests.factories.programs import make_enrollment, make_offering, make_program

PROGRAM = """
query($id: ID!, $status: EnrollmentStatus) {
  program(id: $id) {
    name category reparative
    offerings(first: 5) { totalCount nodes { startsOn capacity status facility { name } program { name } } }
    enrollments(first: 5, status: $status) { totalCount nodes { status person { lastName } } }
  }
}
"""


async def test_a_program_with_its_offerings_and_enrollments(gql: GraphQL, session: AsyncSession) -> None:
    program = await make_program(session, name="Impact of Crime on Victims", category="restorative_justice")
    facility = await make_facility(session, name="Women's Eastern")
    await make_offering(session, program, facility)
    for name, status in [("Ames", "enrolled"), ("Bell", "completed"), ("Cole", "enrolled")]:
        person, _ = await make_inmate(session, facility, last_name=name)
        await make_enrollment(
            session,
            person,
            program,
            status=status,
            ended_on=date(2024, 6, 1) if status == "completed" else None,
        )
    body = (
        await gql(PROGRAM, {"id": to_global_id("Program", program.id)}, audience=Audience.PROGRAMS)
    ).json()
    assert "errors" not in body, body
    p = body["data"]["program"]
    assert p["category"] == "RESTORATIVE_JUSTICE"
    assert p["offerings"]["totalCount"] == 1
    assert p["offerings"]["nodes"][0]["facility"]["name"] == "Women's Eastern"
    assert p["enrollments"]["totalCount"] == 3
    completed = (
        await gql(
            PROGRAM,
            {"id": to_global_id("Program", program.id), "status": "COMPLETED"},
            audience=Audience.PROGRAMS,
        )
    ).json()
    assert [n["person"]["lastName"] for n in completed["data"]["program"]["enrollments"]["nodes"]] == ["Bell"]


async def test_program_catalog_and_enrollment_lists(gql: GraphQL, session: AsyncSession) -> None:
    women = await make_program(
        session,
        name="AAA Gender Responsive Test",
        category="gender_responsive",
        gender_responsive=True,
        reparative=False,
    )
    person, _ = await make_inmate(session)
    await make_enrollment(session, person, women)
    catalog = (await gql("{ programs(first: 100, genderResponsive: true) { nodes { name } } }")).json()
    assert "AAA Gender Responsive Test" in [n["name"] for n in catalog["data"]["programs"]["nodes"]]
    query = "query($p: ID) { enrollments(personId: $p) { totalCount nodes { program { name } } } }"
    listed = (await gql(query, {"p": to_global_id("Person", person.id)})).json()["data"]["enrollments"]
    assert listed["totalCount"] == 1
    offerings = (
        await gql(
            "query($p: ID) { programOfferings(programId: $p) { totalCount } }",
            {"p": to_global_id("Program", women.id)},
        )
    ).json()
    assert offerings["data"]["programOfferings"]["totalCount"] == 0


async def test_enrollments_are_confidential_to_other_audiences(gql: GraphQL, session: AsyncSession) -> None:
    program = await make_program(session)
    person, _ = await make_inmate(session)
    await make_enrollment(session, person, program)
    query = "query($p: ID) { enrollments(personId: $p) { totalCount } }"
    body = (
        await gql(query, {"p": to_global_id("Person", person.id)}, audience=Audience.CONSTITUENT_SERVICES)
    ).json()
    if "errors" not in body:
        assert body["data"]["enrollments"]["totalCount"] == 0


# --- Writes -----------------------------------------------------------------------------------------

ENROL = """
mutation($input: EnrolPersonInput!, $key: String) {
  enrolPerson(input: $input, idempotencyKey: $key) {
    enrollment { id status enrolledOn version reparativeHours program { name } offering { capacity } }
    errors { code field message } replayed
  }
}
"""
COMPLETE = """
mutation($input: EndEnrollmentInput!) {
  completeEnrollment(input: $input) { enrollment { status endedOn version } errors { code field message } }
}
"""
WITHDRAW = """
mutation($input: EndEnrollmentInput!) {
  withdrawEnrollment(input: $input) { enrollment { status endedOn version } errors { code field message } }
}
"""
HOURS = """
mutation($input: ReparativeHoursInput!) {
  recordReparativeHours(input: $input) {
    enrollment { reparativeHours reparativeActivities { hours description } } errors { code field message }
  }
}
"""


async def run(gql: GraphQL, document: str, name: str, **variables: Any) -> Any:
    body = (await gql(document, variables, audience=Audience.PROGRAMS)).json()
    assert "errors" not in body, body
    return body["data"][name]


async def rows(session: AsyncSession) -> tuple[int, int]:
    enrollments = await session.scalar(select(func.count()).select_from(Enrollment)) or 0
    activities = await session.scalar(select(func.count()).select_from(ReparativeActivity)) or 0
    return enrollments, activities


def only_error(payload: Any, code: str, field: str, rule: str = "") -> None:
    assert len(payload["errors"]) == 1, payload
    error = payload["errors"][0]
    assert (error["code"], error["field"]) == (code, field), error
    assert rule in error["message"], error


async def test_enrol_complete_and_log_hours(gql: GraphQL, session: AsyncSession) -> None:
    program = await make_program(session, name="Restorative Justice Garden", reparative=True)
    person, facility = await make_inmate(session)
    offering = await make_offering(session, program, facility, capacity=5)
    enrolled = await run(
        gql,
        ENROL,
        "enrolPerson",
        input={
            "personId": to_global_id("Person", person.id),
            "offeringId": to_global_id("ProgramOffering", offering.id),
            "enrolledOn": "2024-02-01",
        },
        key="enrol-1",
    )
    assert enrolled["errors"] == []
    e = enrolled["enrollment"]
    assert (e["status"], e["version"], e["program"]["name"], e["offering"]["capacity"]) == (
        "ENROLLED",
        1,
        "Restorative Justice Garden",
        5,
    )
    replay = await run(
        gql,
        ENROL,
        "enrolPerson",
        input={
            "personId": to_global_id("Person", person.id),
            "offeringId": to_global_id("ProgramOffering", offering.id),
            "enrolledOn": "2024-02-01",
        },
        key="enrol-1",
    )
    assert replay["replayed"] is True
    assert replay["enrollment"]["id"] == e["id"]
    logged = await run(
        gql,
        HOURS,
        "recordReparativeHours",
        input={
            "enrollmentId": e["id"],
            "performedOn": "2024-03-01",
            "hours": "3.5",
            "description": "Community garden",
        },
    )
    assert logged["errors"] == []
    assert logged["enrollment"]["reparativeHours"] == "3.50"
    assert logged["enrollment"]["reparativeActivities"] == [
        {"hours": "3.50", "description": "Community garden"}
    ]
    # Logging hours is a change: the version moved on, and the old one is refused.
    stale = await run(
        gql,
        COMPLETE,
        "completeEnrollment",
        input={"enrollmentId": e["id"], "version": 1, "endedOn": "2024-05-01"},
    )
    only_error(stale, "STALE_VERSION", "version")
    done = await run(
        gql,
        COMPLETE,
        "completeEnrollment",
        input={"enrollmentId": e["id"], "version": 2, "endedOn": "2024-05-01"},
    )
    assert done["enrollment"] == {"status": "COMPLETED", "endedOn": "2024-05-01", "version": 3}
    before = await rows(session)
    again = await run(
        gql,
        COMPLETE,
        "completeEnrollment",
        input={"enrollmentId": e["id"], "version": 3, "endedOn": "2024-05-02"},
    )
    only_error(again, "CONFLICT", "enrollmentId", "not enrolled (the enrollment is completed)")
    assert await rows(session) == before


async def test_withdraw_then_complete_is_refused(gql: GraphQL, session: AsyncSession) -> None:
    program = await make_program(session)
    person, _ = await make_inmate(session)
    enrollment = await make_enrollment(session, person, program)
    gid = to_global_id("Enrollment", enrollment.id)
    out = await run(
        gql,
        WITHDRAW,
        "withdrawEnrollment",
        input={"enrollmentId": gid, "version": 1, "endedOn": "2024-04-01"},
    )
    assert out["enrollment"]["status"] == "WITHDRAWN"
    refused = await run(
        gql,
        COMPLETE,
        "completeEnrollment",
        input={"enrollmentId": gid, "version": 2, "endedOn": "2024-04-02"},
    )
    only_error(refused, "CONFLICT", "enrollmentId", "cannot complete: the person is not enrolled")


async def test_enrol_refusals_write_nothing(gql: GraphQL, session: AsyncSession) -> None:
    program = await make_program(session)
    person, facility = await make_inmate(session)
    closed = await make_offering(session, program, facility, status="closed")
    full = await make_offering(session, program, facility, capacity=0)
    discharged = await make_person(session, status="discharged")
    await make_enrollment(session, person, await make_program(session, name="Already In"))
    already = (
        await session.scalars(select(Enrollment.program_id).where(Enrollment.person_id == person.id))
    ).one()
    pid = to_global_id("Person", person.id)
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    cases = [
        (
            {
                "personId": to_global_id("Person", 99_999_999),
                "programId": to_global_id("Program", program.id),
            },
            "NOT_FOUND",
            "personId",
            "",
        ),
        ({"personId": pid, "programId": to_global_id("Program", 99_999_999)}, "NOT_FOUND", "programId", ""),
        ({"personId": pid}, "INVALID", "programId", "is required"),
        (
            {"personId": pid, "offeringId": to_global_id("ProgramOffering", closed.id)},
            "CONFLICT",
            "offeringId",
            "closed",
        ),
        (
            {"personId": pid, "offeringId": to_global_id("ProgramOffering", full.id)},
            "CONFLICT",
            "offeringId",
            "full",
        ),
        (
            {"personId": pid, "programId": to_global_id("Program", program.id), "enrolledOn": tomorrow},
            "INVALID",
            "enrolledOn",
            "future",
        ),
        (
            {
                "personId": pid,
                "offeringId": to_global_id("ProgramOffering", full.id),
                "enrolledOn": "2023-01-01",
            },
            "INVALID",
            "enrolledOn",
            "offering's start",
        ),
        (
            {
                "personId": to_global_id("Person", discharged.id),
                "programId": to_global_id("Program", program.id),
            },
            "CONFLICT",
            "personId",
            "custody",
        ),
        (
            {"personId": pid, "programId": to_global_id("Program", already)},
            "CONFLICT",
            "programId",
            "already enrolled",
        ),
    ]
    before = await rows(session)
    for fields, code, field, rule in cases:
        payload = await run(gql, ENROL, "enrolPerson", input={"enrolledOn": "2024-06-01", **fields})
        only_error(payload, code, field, rule)
        assert payload["enrollment"] is None
    assert await rows(session) == before


async def test_hours_refusals_write_nothing(gql: GraphQL, session: AsyncSession) -> None:
    reparative = await make_program(session, reparative=True)
    classroom = await make_program(
        session, name="Adult Basic Education", reparative=False, category="education"
    )
    person, _ = await make_inmate(session)
    open_one = await make_enrollment(session, person, reparative)
    not_reparative = await make_enrollment(session, person, classroom)
    ended = await make_enrollment(
        session, person, reparative, status="withdrawn", ended_on=date(2024, 4, 1), program_id=reparative.id
    )
    gid = to_global_id("Enrollment", open_one.id)
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    cases = [
        ({"enrollmentId": gid, "hours": "-1"}, "INVALID", "hours", "more than zero"),
        ({"enrollmentId": gid, "hours": "0"}, "INVALID", "hours", "more than zero"),
        ({"enrollmentId": gid, "hours": "25"}, "INVALID", "hours", "at most 24"),
        ({"enrollmentId": gid, "hours": "1.234"}, "INVALID", "hours", "two decimal"),
        ({"enrollmentId": gid, "performedOn": tomorrow}, "INVALID", "performedOn", "future"),
        (
            {"enrollmentId": gid, "performedOn": "2024-01-01"},
            "INVALID",
            "performedOn",
            "before the enrollment",
        ),
        ({"enrollmentId": gid, "description": "x" * 201}, "INVALID", "description", "at most 200"),
        (
            {"enrollmentId": to_global_id("Enrollment", not_reparative.id)},
            "CONFLICT",
            "enrollmentId",
            "not a reparative program",
        ),
        (
            {"enrollmentId": to_global_id("Enrollment", ended.id)},
            "CONFLICT",
            "enrollmentId",
            "open enrollments",
        ),
        ({"enrollmentId": to_global_id("Enrollment", 99_999_999)}, "NOT_FOUND", "enrollmentId", ""),
    ]
    before = await rows(session)
    for fields, code, field, rule in cases:
        values = {"performedOn": "2024-04-01", "hours": "2", "description": "Litter pick", **fields}
        payload = await run(gql, HOURS, "recordReparativeHours", input=values)
        only_error(payload, code, field, rule)
    assert await rows(session) == before


async def test_end_enrollment_refusals(gql: GraphQL, session: AsyncSession) -> None:
    program = await make_program(session)
    person, _ = await make_inmate(session)
    enrollment = await make_enrollment(session, person, program)
    gid = to_global_id("Enrollment", enrollment.id)
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    for values, code, field, rule in [
        ({"endedOn": "2024-01-01"}, "INVALID", "endedOn", "must not be before enrolledOn"),
        ({"endedOn": tomorrow}, "INVALID", "endedOn", "future"),
        ({"enrollmentId": to_global_id("Enrollment", 99_999_999)}, "NOT_FOUND", "enrollmentId", ""),
        ({"enrollmentId": to_global_id("Person", person.id)}, "NOT_FOUND", "enrollmentId", ""),
    ]:
        payload = await run(
            gql,
            COMPLETE,
            "completeEnrollment",
            input={"enrollmentId": gid, "version": 1, "endedOn": "2024-05-01", **values},
        )
        only_error(payload, code, field, rule)
    status = await session.scalar(select(Enrollment.status).where(Enrollment.id == enrollment.id))
    assert status == "enrolled"


async def test_nested_pages_are_cut_per_program(gql: GraphQL, session: AsyncSession) -> None:
    first = await make_program(session, category="parenting", name="Parenting Nested A")
    second = await make_program(session, category="parenting", name="Parenting Nested B")
    for program, n in ((first, 3), (second, 1)):
        for _ in range(n):
            person, _ = await make_inmate(session)
            await make_enrollment(session, person, program)
    query = """
    query($after: String) {
      programs(category: PARENTING, first: 10) {
        nodes { name enrollments(first: 2, after: $after) { totalCount pageInfo { hasNextPage } nodes { id } } }
      }
    }
    """
    body = (await gql(query, {}, audience=Audience.PROGRAMS)).json()
    assert "errors" not in body, body
    pages = {p["name"]: p["enrollments"] for p in body["data"]["programs"]["nodes"]}
    assert (pages["Parenting Nested A"]["totalCount"], len(pages["Parenting Nested A"]["nodes"])) == (3, 2)
    assert pages["Parenting Nested A"]["pageInfo"]["hasNextPage"] is True
    assert (pages["Parenting Nested B"]["totalCount"], len(pages["Parenting Nested B"]["nodes"])) == (1, 1)
    assert pages["Parenting Nested B"]["pageInfo"]["hasNextPage"] is False
    bad = (await gql(query, {"after": "not-a-cursor"}, audience=Audience.PROGRAMS)).json()
    assert bad["errors"][0]["extensions"]["field"] == "after"
