"""The HTTP surface of the runnable hub: health, readiness, GraphQL over HTTP, request ids."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import GraphQL, Mint
from tests.factories.people import make_facility, make_person


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_when_migrated(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready"}


async def test_every_response_has_a_request_id_and_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert len(response.headers["x-request-id"]) == 32
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


async def test_a_callers_request_id_is_its_correlation_id_never_the_hubs_request_id(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/healthz", headers={"X-Request-Id": "partner-abc-12345"})
    assert response.headers["x-correlation-id"] == "partner-abc-12345"
    assert response.headers["x-request-id"] != "partner-abc-12345"
    assert len(response.headers["x-request-id"]) == 32


async def test_graphql_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ facilities { totalCount } }"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_people_query_with_facility(session: AsyncSession, gql: GraphQL) -> None:
    facility = await make_facility(session, name="Algoa Test Center")
    await make_person(
        session, last_name="Zzyzx", current_facility_id=facility.id, birth_date=date(1980, 1, 2)
    )
    response = await gql(
        "query($name: String) { people(name: $name) { totalCount nodes { lastName age facility { name } } } }",
        {"name": "zzyz"},
    )
    assert response.status_code == 200, response.text
    people = response.json()["data"]["people"]
    assert people["totalCount"] == 1
    node = people["nodes"][0]
    assert node["lastName"] == "Zzyzx"
    assert node["facility"] == {"name": "Algoa Test Center"}
    assert 40 <= node["age"] <= 50


async def test_pages_follow_cursors_without_gaps_or_repeats(session: AsyncSession, gql: GraphQL) -> None:
    for _ in range(7):
        await make_person(session, last_name="Pagetest")
    seen: list[str] = []
    after = None
    while True:
        response = await gql(
            'query($after: String) { people(name: "Pagetest", first: 3, after: $after) '
            "{ totalCount nodes { docId } pageInfo { hasNextPage endCursor } } }",
            {"after": after},
        )
        page = response.json()["data"]["people"]
        assert page["totalCount"] == 7
        seen += [n["docId"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(seen) == 7
    assert len(set(seen)) == 7


@pytest.mark.parametrize(
    ("arguments", "field", "fragment"),
    [
        ("first: 101", "first", "at most 100"),
        ("first: -1", "first", "not be negative"),
        ('after: "not-a-cursor"', "after", "not a cursor"),
    ],
)
async def test_bad_page_arguments_are_named(gql: GraphQL, arguments: str, field: str, fragment: str) -> None:
    response = await gql(f"{{ people({arguments}) {{ totalCount }} }}")
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["field"] == field
    assert fragment in error["message"]


async def test_unknown_field_fails_validation_without_suggestions(gql: GraphQL) -> None:
    response = await gql("{ peple { totalCount } }")
    assert response.status_code == 200  # GraphQL over HTTP: a request error under application/json
    assert "data" not in response.json()
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "Did you mean" not in error["message"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "BAD_REQUEST"),
        (b'[{"query": "{ __typename }"}]', "application/json", 400, "BATCH_NOT_SUPPORTED"),
        (b'{"variables": {}}', "application/json", 400, "BAD_REQUEST"),
        (b"query={__typename}", "application/x-www-form-urlencoded", 415, "UNSUPPORTED_MEDIA_TYPE"),
    ],
)
async def test_malformed_requests_get_a_clear_error(
    client: httpx.AsyncClient, mint: Mint, body: bytes, content_type: str, status: int, code: str
) -> None:
    response = await client.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {await mint()}", "Content-Type": content_type},
    )
    assert response.status_code == status
    assert response.json()["errors"][0]["extensions"]["code"] == code


async def test_get_is_not_an_operation_transport(client: httpx.AsyncClient, mint: Mint) -> None:
    response = await client.get(
        "/graphql?query={__typename}", headers={"Authorization": f"Bearer {await mint()}"}
    )
    assert response.status_code == 405
