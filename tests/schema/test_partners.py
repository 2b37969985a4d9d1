"""The partner registry through the API: administrators list partners and clients; nobody else can."""

from __future__ import annotations

import pytest

from resolvers.models.partners import Audience, Client, Partner
from schema.ids import to_global_id
from tests.conftest import GraphQL

PARTNERS = """
query ($first: Int, $after: String, $audience: String) {
  partners(first: $first, after: $after, audience: $audience) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id name audience active clients { clientId status scopes } }
  }
}
"""


async def test_admin_lists_every_partner_with_its_clients(
    gql: GraphQL, partners: dict[Audience, Partner], partner_clients: dict[Audience, Client]
) -> None:
    body = (await gql(PARTNERS, {"first": 100})).json()
    assert "errors" not in body, body
    nodes = body["data"]["partners"]["nodes"]
    by_name = {n["name"]: n for n in nodes}
    for audience, partner in partners.items():
        node = by_name[partner.name]
        assert node["audience"] == audience.value
        assert node["id"] == to_global_id("Partner", partner.id)
        assert [c["clientId"] for c in node["clients"]] == [partner_clients[audience].client_id]
    assert body["data"]["partners"]["totalCount"] == len(nodes)


async def test_partners_paginate_by_cursor_and_filter_by_audience(
    gql: GraphQL, partners: dict[Audience, Partner]
) -> None:
    first = await gql(PARTNERS, {"first": 2})
    page = first.json()["data"]["partners"]
    assert len(page["nodes"]) == 2
    assert page["pageInfo"]["hasNextPage"]
    second = (await gql(PARTNERS, {"first": 2, "after": page["pageInfo"]["endCursor"]})).json()
    later = {n["id"] for n in second["data"]["partners"]["nodes"]}
    assert later
    assert not later & {n["id"] for n in page["nodes"]}
    only = (await gql(PARTNERS, {"first": 100, "audience": "reentry"})).json()["data"]["partners"]["nodes"]
    assert only
    assert {n["audience"] for n in only} == {"reentry"}


async def test_clients_of_one_partner(
    gql: GraphQL, partners: dict[Audience, Partner], partner_clients: dict[Audience, Client]
) -> None:
    query = "query ($p: ID) { clients(partnerId: $p, first: 10) { nodes { clientId partnerId } } }"
    pid = to_global_id("Partner", partners[Audience.LEGISLATIVE].id)
    body = (await gql(query, {"p": pid})).json()
    assert body["data"]["clients"]["nodes"] == [
        {"clientId": partner_clients[Audience.LEGISLATIVE].client_id, "partnerId": pid}
    ]


@pytest.mark.parametrize("audience", [a for a in Audience if a is not Audience.ADMIN])
async def test_no_other_audience_has_the_registry(gql: GraphQL, audience: Audience) -> None:
    body = (await gql("{ partners { totalCount } }", audience=audience)).json()
    # Not in that audience's schema: a validation error naming the field, and no data at all.
    assert "data" not in body
    assert any("partners" in e["message"] for e in body["errors"]), body
