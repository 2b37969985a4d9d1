"""Population statistics with small cells suppressed for partners (threshold 11, complementary
cells included) and unsuppressed for the department's units."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.partners import Audience
from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.factories.people import make_facility, make_inmate

QUERY = """query($f: ID) { populationStatistics(facilityId: $f) { total
  byStatus { status count } bySex { sex count byFacility { count } } byFacility { count } byRace { race count } } }"""


async def test_small_cells_are_suppressed_for_legislative_offices_and_not_for_the_research_unit(
    gql: GraphQL, session: AsyncSession
) -> None:
    facility = await make_facility(session)
    for n in range(15):  # 12 men, 3 women
        await make_inmate(session, facility, sex="F" if n < 3 else "M", race="black" if n < 2 else "white")
    variables = {"f": to_global_id("Facility", facility.id)}
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
