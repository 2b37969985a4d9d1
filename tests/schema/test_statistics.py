"""Statistics through HTTP: population by facility, status, sex and race; enrollments and completions
by program and year; reparative hours by program, site and year."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.partners import Audience, Partner
from resolvers.models.programs import ReparativeActivity
from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.factories.people import make_facility, make_inmate, make_person
from tests.factories.programs import make_enrollment, make_offering, make_program
from tests.factories.reentry import make_referral

POPULATION = """
query($facilityId: ID, $statuses: [PersonStatus!]) {
  populationStatistics(facilityId: $facilityId, statuses: $statuses) {
    total
    byFacility { facility { name } count }
    byStatus { status count }
    bySex { sex count byFacility { facility { name } count } }
    byRace { race count }
  }
}
"""


async def test_population_by_facility_status_sex_and_race(gql: GraphQL, session: AsyncSession) -> None:
    women = await make_facility(session, name="Stats Women's Center", serves_women=True)
    men = await make_facility(session, name="Stats Men's Center")
    office = await make_facility(session, kind="probation_parole_office", name="Stats Office")
    for sex, race, facility in [("F", "black", women), ("F", "white", women), ("M", "white", men)]:
        await make_inmate(session, facility, sex=sex, race=race)
    await make_person(session, status="supervised", supervision_office_id=office.id, sex="F", race="white")
    await make_person(session, status="discharged", sex="M", race="white")
    stats = {}
    for f in (women, men, office):
        body = (await gql(POPULATION, {"facilityId": to_global_id("Facility", f.id)})).json()
        assert "errors" not in body, body
        stats[f.name] = body["data"]["populationStatistics"]
    assert stats["Stats Women's Center"]["total"] == 2
    assert stats["Stats Women's Center"]["bySex"] == [
        {
            "sex": "FEMALE",
            "count": 2,
            "byFacility": [{"facility": {"name": "Stats Women's Center"}, "count": 2}],
        }
    ]
    assert stats["Stats Women's Center"]["byRace"] == [
        {"race": "BLACK", "count": 1},
        {"race": "WHITE", "count": 1},
    ]
    assert stats["Stats Men's Center"]["byStatus"] == [{"status": "INCARCERATED", "count": 1}]
    assert stats["Stats Office"]["byStatus"] == [{"status": "SUPERVISED", "count": 1}]
    everyone = (await gql(POPULATION, {})).json()["data"]["populationStatistics"]
    by_facility = {c["facility"]["name"]: c["count"] for c in everyone["byFacility"] if c["facility"]}
    assert by_facility["Stats Women's Center"] == 2
    assert by_facility["Stats Office"] == 1
    women_row = next(s for s in everyone["bySex"] if s["sex"] == "FEMALE")
    assert sum(c["count"] for c in women_row["byFacility"]) == women_row["count"]


async def test_a_legislative_office_reads_the_aggregates(gql: GraphQL, session: AsyncSession) -> None:
    facility = await make_facility(session)
    for _ in range(11):  # at the small-cell threshold: released to partners
        await make_inmate(session, facility)
    body = (
        await gql(
            POPULATION, {"facilityId": to_global_id("Facility", facility.id)}, audience=Audience.LEGISLATIVE
        )
    ).json()
    assert body["data"]["populationStatistics"]["total"] == 11


async def test_a_reentry_partner_counts_only_its_referrals(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    facility = await make_facility(session)
    for _ in range(11):  # at the small-cell threshold: released to partners
        person, _ = await make_inmate(session, facility)
        await make_referral(session, person, partners[Audience.REENTRY])
    await make_inmate(session, facility)
    body = (
        await gql(
            "query($f: ID) { populationStatistics(facilityId: $f) { total } }",
            {"f": to_global_id("Facility", facility.id)},
            audience=Audience.REENTRY,
        )
    ).json()
    if "errors" in body:  # aggregates are not in the reentry schema at all
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    else:
        assert body["data"]["populationStatistics"]["total"] == 11


async def test_no_statuses_is_refused(gql: GraphQL) -> None:
    body = (await gql(POPULATION, {"statuses": []})).json()
    assert body["errors"][0]["extensions"]["field"] == "statuses"


PROGRAMS = """
query($p: ID, $from: Int, $to: Int) {
  programStatistics(programId: $p, yearFrom: $from, yearTo: $to) { program { name } year enrolled completed withdrawn }
}
"""


async def test_enrollments_and_completions_by_program_and_year(gql: GraphQL, session: AsyncSession) -> None:
    program = await make_program(session, name="ICVC Stats")
    for enrolled_on, status, ended_on in [
        (date(2023, 3, 1), "completed", date(2023, 9, 1)),
        (date(2023, 11, 1), "completed", date(2024, 2, 1)),
        (date(2024, 1, 5), "withdrawn", date(2024, 3, 1)),
        (date(2024, 2, 1), "enrolled", None),
    ]:
        person, _ = await make_inmate(session)
        await make_enrollment(
            session, person, program, enrolled_on=enrolled_on, status=status, ended_on=ended_on
        )
    body = (await gql(PROGRAMS, {"p": to_global_id("Program", program.id)})).json()
    assert "errors" not in body, body
    assert body["data"]["programStatistics"] == [
        {"program": {"name": "ICVC Stats"}, "year": 2023, "enrolled": 2, "completed": 1, "withdrawn": 0},
        {"program": {"name": "ICVC Stats"}, "year": 2024, "enrolled": 2, "completed": 1, "withdrawn": 1},
    ]
    only_2024 = (await gql(PROGRAMS, {"p": to_global_id("Program", program.id), "from": 2024})).json()
    assert [c["year"] for c in only_2024["data"]["programStatistics"]] == [2024]
    bad = (await gql(PROGRAMS, {"from": 2024, "to": 2023})).json()
    assert bad["errors"][0]["extensions"]["field"] == "yearTo"


HOURS = """
query($p: ID) {
  reparativeHoursStatistics(programId: $p) { program { name } facility { name } year hours participants entries }
}
"""


async def test_reparative_hours_by_program_site_and_year(gql: GraphQL, session: AsyncSession) -> None:
    program = await make_program(session, name="Garden Stats", reparative=True)
    site = await make_facility(session, name="Garden Site")
    offering = await make_offering(session, program, site)
    person, _ = await make_inmate(session, site)
    other, _ = await make_inmate(session, site)
    mine = await make_enrollment(session, person, program, offering_id=offering.id)
    theirs = await make_enrollment(session, other, program, offering_id=offering.id)
    outside = await make_enrollment(session, other, program, status="completed", ended_on=date(2024, 12, 1))
    session.add_all(
        [
            ReparativeActivity(
                enrollment_id=mine.id, performed_on=date(2024, 4, 1), hours=Decimal("2.5"), description="a"
            ),
            ReparativeActivity(
                enrollment_id=mine.id, performed_on=date(2024, 5, 1), hours=Decimal("3"), description="b"
            ),
            ReparativeActivity(
                enrollment_id=theirs.id, performed_on=date(2025, 1, 1), hours=Decimal("4"), description="c"
            ),
            ReparativeActivity(
                enrollment_id=outside.id, performed_on=date(2024, 6, 1), hours=Decimal("1"), description="d"
            ),
        ]
    )
    await session.flush()
    body = (await gql(HOURS, {"p": to_global_id("Program", program.id)})).json()
    assert "errors" not in body, body
    cells = [
        (
            c["facility"]["name"] if c["facility"] else None,
            c["year"],
            c["hours"],
            c["participants"],
            c["entries"],
        )
        for c in body["data"]["reparativeHoursStatistics"]
    ]
    assert sorted(cells, key=str) == sorted(
        [
            ("Garden Site", 2024, "5.50", 1, 2),
            ("Garden Site", 2025, "4.00", 1, 1),
            (None, 2024, "1.00", 1, 1),
        ],
        key=str,
    )
