"""A page of awards with spending, subawards, disbursements and reports costs the same number of
statements for 5 awards as for 40."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette.applications import Starlette

from resolvers.models.partners import Audience
from schema.limits import Limits
from tests.conftest import GraphQL
from tests.factories.grants import make_award, make_disbursement, make_report, make_subaward
from tests.statements import counting

NESTED = """
query($first: Int, $listing: String) {
  federalAwards(first: $first, assistanceListing: $listing) {
    nodes {
      awardNumber amount spentAmount remainingAmount
      subawards { recipient }
      disbursements { amount subaward { recipient } award { awardNumber } }
      reports { dueOn overdue }
    }
  }
}
"""


async def test_a_nested_page_of_awards_costs_the_same_for_5_and_40(
    gql: GraphQL,
    session: AsyncSession,
    connection: AsyncConnection,
    app: Starlette,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for executor in app.state.executors.values():
        monkeypatch.setattr(executor, "limits", Limits(max_cost=10_000_000))
    for _ in range(40):
        award = await make_award(session, assistance_listing="99.999")
        sub = await make_subaward(session, award)
        await make_disbursement(session, award, subaward_id=sub.id)
        await make_disbursement(session, award)
        await make_report(session, award)
    variables = {"listing": "99.999"}
    await gql(NESTED, {**variables, "first": 1}, audience=Audience.BUDGET_GRANTS)  # warm up
    # What any request costs before it reads anything (token check, rate window, ledger): the
    # bound below is on what the query itself runs.
    with counting(connection) as baseline:
        await gql("{ __typename }", audience=Audience.BUDGET_GRANTS)
    overhead = len(baseline)
    costs = {}
    for size in (5, 40):
        with counting(connection) as statements:
            body = (await gql(NESTED, {**variables, "first": size}, audience=Audience.BUDGET_GRANTS)).json()
        assert "errors" not in body, body
        nodes = body["data"]["federalAwards"]["nodes"]
        assert len(nodes) == size
        assert all(n["spentAmount"] == "100000.00" for n in nodes)
        costs[size] = len(statements)
    print("statements per nested page of awards", costs)
    assert costs[5] == costs[40], costs
    assert costs[40] - overhead <= 15, (costs, overhead)
