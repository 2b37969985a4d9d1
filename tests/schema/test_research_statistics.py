"""Research statistics through HTTP: grouped counts with small cells suppressed (complementary too)
for researchers, unsuppressed for the research unit; dimensions must be granted."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.partners import Audience, Partner
from tests.conftest import GraphQL
from tests.factories.research_cohort import make_cohort, make_cohort_agreement
from tests.schema.test_victims import gid

STATS = """query($id: ID!, $by: [ResearchDimension!]!) { research(agreementId: $id) {
  statistics(groupBy: $by) { dimensions suppressionThreshold entries { values people observed1Year returned1Year returnRate1Year } } } }"""


def _entries(body: dict[str, Any]) -> dict[tuple[str | None, ...], dict[str, Any]]:
    assert "errors" not in body, body
    return {tuple(e["values"]): e for e in body["data"]["research"]["statistics"]["entries"]}


async def test_small_cells_are_suppressed_for_the_researcher_and_not_for_the_research_unit(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    cohort = await make_cohort(session, size=14)  # 7 men, 7 women
    agreement = await make_cohort_agreement(
        session, partners[Audience.RESEARCHER], cohort, tier="aggregate", small_cell_threshold=11
    )
    variables = {"id": gid("ResearchAgreement", agreement.id), "by": ["SEX"]}
    researcher = _entries((await gql(STATS, variables, audience=Audience.RESEARCHER)).json())
    assert researcher[("MALE",)]["people"] is None
    assert researcher[("FEMALE",)]["people"] is None
    assert researcher[("UNKNOWN",)]["people"] == 0
    assert researcher[(None,)]["people"] == 14
    for entry in researcher.values():
        for measure in ("people", "observed1Year", "returned1Year"):
            value = entry[measure]
            assert value is None or value == 0 or value >= 11, entry
    unit = _entries((await gql(STATS, variables, audience=Audience.RESEARCH_UNIT)).json())
    assert unit[("MALE",)]["people"] == 7
    assert unit[("FEMALE",)]["people"] == 7
    assert unit[("MALE",)]["observed1Year"] == 7
    assert unit[("MALE",)]["returned1Year"] == 3
    assert unit[("MALE",)]["returnRate1Year"] == round(3 / 7, 4)


async def test_a_two_dimensional_table_has_margins_and_complementary_suppression(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    cohort = await make_cohort(session, size=30)
    agreement = await make_cohort_agreement(
        session, partners[Audience.RESEARCHER], cohort, tier="aggregate", small_cell_threshold=3
    )
    variables = {"id": gid("ResearchAgreement", agreement.id), "by": ["SEX", "AGE_BAND"]}
    body = (await gql(STATS, variables, audience=Audience.RESEARCHER)).json()
    entries = _entries(body)
    assert body["data"]["research"]["statistics"]["suppressionThreshold"] == 3
    assert entries[(None, None)]["people"] == 30
    for entry in entries.values():
        assert entry["people"] is None or not 1 <= entry["people"] < 3, entry
    # No row or column holds exactly one hidden entry (margins included).
    rows = {k[0] for k in entries}
    cols = {k[1] for k in entries}
    for r in rows:
        assert sum(entries[(r, c)]["people"] is None for c in cols) != 1
    for c in cols:
        assert sum(entries[(r, c)]["people"] is None for r in rows) != 1


async def test_a_dimension_or_measure_not_granted_is_refused(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    cohort = await make_cohort(session, size=3)
    agreement = await make_cohort_agreement(
        session, partners[Audience.RESEARCHER], cohort, granted_fields=["sex"]
    )
    variables = {"id": gid("ResearchAgreement", agreement.id), "by": ["RACE"]}
    query = """query($id: ID!, $by: [ResearchDimension!]!) { research(agreementId: $id) {
      statistics(groupBy: $by) { entries { values people } } } }"""
    body = (await gql(query, variables, audience=Audience.RESEARCHER)).json()
    assert body["errors"][0]["extensions"] == {
        "code": "BAD_USER_INPUT",
        "requestId": body["errors"][0]["extensions"]["requestId"],
        "field": "groupBy",
    }
    assert "race" in body["errors"][0]["message"]
    body = (await gql(STATS, {**variables, "by": ["SEX"]}, audience=Audience.RESEARCHER)).json()
    assert body["errors"][0]["extensions"]["code"] == "FIELD_NOT_GRANTED"
    assert body["errors"][0]["extensions"]["field"] in ("observed1Year", "returned1Year", "returnRate1Year")
