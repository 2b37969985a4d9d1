"""A nested page of a case's registrations costs the same number of statements for 5 as for 40."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette.applications import Starlette

from resolvers.models.partners import Audience
from schema.limits import Limits
from tests.conftest import GraphQL
from tests.factories.people import make_person
from tests.factories.victims import (
    make_attempt,
    make_hearing,
    make_impact_statement,
    make_notification,
    make_participation,
    make_protection_condition,
    make_registration,
    make_restitution_order,
)
from tests.schema.test_victims import gid
from tests.statements import counting

NESTED = """
query($first: Int, $person: ID) {
  victimRegistrations(first: $first, personId: $person) {
    totalCount
    nodes {
      relationship person { docId }
      victim { lastName restitutionOrders { balance payments { amount } } }
      preferences { channel }
      notifications { status deliveryAttempts { outcome } registration { status } }
      impactStatements { summary }
      hearingParticipations { mode }
      protectionConditions { condition }
    }
  }
}
"""


async def test_a_nested_page_of_registrations_costs_the_same_for_5_and_40(
    gql: GraphQL,
    session: AsyncSession,
    connection: AsyncConnection,
    app: Starlette,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The static cost model prices nested plain lists at 10 rows each; what is measured here is the
    # statements actually run, so the limit is lifted.
    for executor in app.state.executors.values():
        monkeypatch.setattr(executor, "limits", Limits(max_cost=10_000_000))
    person = await make_person(session)
    hearing = await make_hearing(session, person)
    for _ in range(40):
        registration = await make_registration(session, person=person)
        notification = await make_notification(session, registration)
        await make_attempt(session, notification)
        await make_impact_statement(session, registration)
        await make_participation(session, registration, hearing)
        await make_protection_condition(session, registration)
        await make_restitution_order(session, person, payee_victim_id=registration.victim_id)
    variables = {"person": gid("Person", person.id)}
    await gql(NESTED, {**variables, "first": 1}, audience=Audience.VICTIM_SERVICES)  # warm up
    # What any request costs before it reads anything (token check, rate window, ledger): the
    # bound below is on what the query itself runs.
    with counting(connection) as baseline:
        await gql("{ __typename }", audience=Audience.VICTIM_SERVICES)
    overhead = len(baseline)
    costs = {}
    for size in (5, 40):
        with counting(connection) as statements:
            body = (await gql(NESTED, {**variables, "first": size}, audience=Audience.VICTIM_SERVICES)).json()
        assert "errors" not in body, body
        nodes = body["data"]["victimRegistrations"]["nodes"]
        assert len(nodes) == size
        assert all(n["notifications"][0]["deliveryAttempts"] == [{"outcome": "DELIVERED"}] for n in nodes)
        assert all(len(n["victim"]["restitutionOrders"]) == 1 for n in nodes)
        costs[size] = len(statements)
    print("statements per nested page of registrations", costs)
    assert costs[5] == costs[40], costs
    assert costs[40] - overhead <= 20, (costs, overhead)
