"""Population statistics for partners: small cells suppressed (threshold 11, complementary cells
included) only where the partner could not count the same people row by row; unsuppressed for the
department's units. Issue 13 item 5: a legislative office's table hid the 551 incarcerated people
to protect 6 escaped ones that ``people(status: ESCAPED) { totalCount }`` listed anyway."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.partners import Audience, Partner
from resolvers.statistics import LEGISLATIVE_ROW_STATUSES
from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.factories.people import make_facility, make_inmate, make_person
from tests.factories.reentry import make_referral

QUERY = """query($f: ID, $s: [PersonStatus!]) { populationStatistics(facilityId: $f, statuses: $s) { total
  byStatus { status count } bySex { sex count byFacility { count } } byFacility { count } byRace { race count } } }"""


async def test_small_cells_are_suppressed_where_the_office_cannot_count_the_rows(
    gql: GraphQL, session: AsyncSession
) -> None:
    facility = await make_facility(session)
    for n in range(15):  # 12 men, 3 women
        await make_inmate(session, facility, sex="F" if n < 3 else "M", race="black" if n < 2 else "white")
    # Discharged people are counted by a legislative office's aggregates but not readable as rows.
    variables = {"f": to_global_id("Facility", facility.id), "s": ["INCARCERATED", "DISCHARGED"]}
    body = (await gql(QUERY, variables, audience=Audience.LEGISLATIVE)).json()
    assert "errors" not in body, body
    stats = body["data"]["populationStatistics"]
    assert stats["total"] == 15
    sexes = {s["sex"]: s["count"] for s in stats["bySex"]}
    # Women (3) are a small cell; men (12) are its complement, else 15 - 12 would give 3 away.
    assert sexes == {"FEMALE": None, "MALE": None}
    races = {r["race"]: r["count"] for r in stats["byRace"]}
    assert races == {"BLACK": None, "WHITE": None}
    assert stats["byFacility"] == [{"count": 15}]
    for entry in [*stats["byStatus"], *stats["bySex"], *stats["byRace"], *stats["byFacility"]]:
        assert entry["count"] is None or entry["count"] >= 11
    unit = (await gql(QUERY, variables, audience=Audience.RESEARCH_UNIT)).json()["data"][
        "populationStatistics"
    ]
    assert {s["sex"]: s["count"] for s in unit["bySex"]} == {"FEMALE": 3, "MALE": 12}
    assert {r["race"]: r["count"] for r in unit["byRace"]} == {"BLACK": 2, "WHITE": 13}


async def test_nothing_is_suppressed_that_the_office_can_count_row_by_row(
    gql: GraphQL, session: AsyncSession
) -> None:
    facility = await make_facility(session)
    for n in range(14):  # 12 incarcerated (3 women, 2 black), 2 escaped
        person, _ = await make_inmate(
            session, facility, sex="F" if n < 3 else "M", race="black" if n < 2 else "white"
        )
        if n >= 12:
            person.status = "escaped"
    await session.flush()
    variables = {"f": to_global_id("Facility", facility.id), "s": None}
    stats = (await gql(QUERY, variables, audience=Audience.LEGISLATIVE)).json()["data"][
        "populationStatistics"
    ]
    by_status = {s["status"]: s["count"] for s in stats["byStatus"]}
    assert by_status == {"INCARCERATED": 12, "ESCAPED": 2}
    assert {s["sex"]: s["count"] for s in stats["bySex"]} == {"FEMALE": 3, "MALE": 11}
    assert {r["race"]: r["count"] for r in stats["byRace"]} == {"BLACK": 2, "WHITE": 12}
    assert stats["total"] == 14
    # The same numbers row by row: what a suppressed cell would have pretended to protect.
    for status, count in by_status.items():
        rows = (
            await gql(
                "query($s: PersonStatus, $f: ID) { people(status: $s, facilityId: $f) { totalCount } }",
                {"s": status, "f": variables["f"]},
                audience=Audience.LEGISLATIVE,
            )
        ).json()
        assert rows["data"]["people"]["totalCount"] == count, (status, rows)


async def test_a_reentry_partner_counts_its_own_referrals_unsuppressed(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    facility = await make_facility(session)
    for n in range(3):
        person, _ = await make_inmate(session, facility, sex="F" if n == 0 else "M")
        await make_referral(session, person, partners[Audience.REENTRY])
    await make_inmate(session, facility)  # not referred: neither a row nor a count for them
    body = (
        await gql(
            "query($f: ID) { populationStatistics(facilityId: $f) { total bySex { sex count } } }",
            {"f": to_global_id("Facility", facility.id)},
            audience=Audience.REENTRY,
        )
    ).json()
    if "errors" in body:  # aggregates are not in the reentry schema at all
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        return
    stats = body["data"]["populationStatistics"]
    assert stats["total"] == 3
    assert {s["sex"]: s["count"] for s in stats["bySex"]} == {"FEMALE": 1, "MALE": 2}


async def test_the_legislative_row_statuses_are_the_legislative_row_scope(
    gql: GraphQL, session: AsyncSession
) -> None:
    """``LEGISLATIVE_ROW_STATUSES`` mirrors the public tier of ``auth/scopes.py``: a person of each of
    those statuses is a row a legislative office reads, and a person of any other status is not."""
    from resolvers.models.people import PersonStatus

    for status in PersonStatus:
        person = await make_person(session, status=status.value)
        body = (
            await gql(
                "query($id: ID!) { person(id: $id) { status } }",
                {"id": to_global_id("Person", person.id)},
                audience=Audience.LEGISLATIVE,
            )
        ).json()
        readable = body["data"]["person"] is not None
        assert readable == (status.value in LEGISLATIVE_ROW_STATUSES), (status, body)
