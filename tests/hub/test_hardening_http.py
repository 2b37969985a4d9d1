"""GraphQL over HTTP as clients read it: media types, status codes, request errors without ``data``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hub.endpoint import GRAPHQL_RESPONSE, response_media_type
from resolvers.models.partners import Audience
from tests.conftest import Mint

APOLLO_ACCEPT = "application/graphql-response+json,application/json;q=0.9"


async def send(
    client: httpx.AsyncClient,
    token: str,
    query: str,
    variables: dict[str, Any] | None = None,
    accept: str | None = None,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if accept is not None:
        headers["Accept"] = accept
    return await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        ("", "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (APOLLO_ACCEPT, GRAPHQL_RESPONSE),
        ("application/json, application/graphql-response+json;q=0.5", "application/json"),
        ("application/graphql-response+json;q=0, application/json", "application/json"),
        ("text/html", "application/json"),
        ("Application/GraphQL-Response+JSON; charset=utf-8", GRAPHQL_RESPONSE),
    ],
)
def test_the_media_type_follows_the_accept_header(accept: str, chosen: str) -> None:
    assert response_media_type(accept) == chosen


# --- request errors: 400 under application/graphql-response+json, 200 under application/json ------


REQUEST_ERRORS = [
    ("{ person(", None, "GRAPHQL_PARSE_FAILED"),
    ("{ peple { totalCount } }", None, "GRAPHQL_VALIDATION_FAILED"),
    ("query A { __typename } query B { __typename }", None, "BAD_REQUEST"),
    ("query($id: ID!) { person(id: $id) { docId } }", {}, "BAD_USER_INPUT"),
    ("query($n: Int) { people(first: $n) { totalCount } }", {"n": "many"}, "BAD_USER_INPUT"),
]


@pytest.mark.parametrize(("query", "variables", "code"), REQUEST_ERRORS)
@pytest.mark.parametrize(
    ("accept", "status", "media_type"),
    [
        (APOLLO_ACCEPT, 400, GRAPHQL_RESPONSE),
        (GRAPHQL_RESPONSE, 400, GRAPHQL_RESPONSE),
        ("application/json", 200, "application/json"),
        (None, 200, "application/json"),
    ],
)
async def test_a_request_error_has_the_status_of_its_media_type_and_no_data(
    client: httpx.AsyncClient,
    mint: Mint,
    query: str,
    variables: dict[str, Any] | None,
    code: str,
    accept: str | None,
    status: int,
    media_type: str,
) -> None:
    response = await send(client, await mint(), query, variables, accept)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == media_type
    body = response.json()
    assert "data" not in body  # nothing was executed
    error = body["errors"][0]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]


async def test_an_executed_operation_is_200_in_both_media_types(
    client: httpx.AsyncClient, mint: Mint
) -> None:
    token = await mint()
    for accept in (APOLLO_ACCEPT, "application/json"):
        ok = await send(client, token, "{ __typename }", accept=accept)
        assert ok.status_code == 200
        assert ok.headers["content-type"] == response_media_type(accept)
        assert ok.json()["data"] == {"__typename": "Query"}
        # A field error: execution ran, so 200 with data (null where it failed) under both.
        failed = await send(client, token, '{ people(after: "!!!", first: 1) { totalCount } }', accept=accept)
        assert failed.status_code == 200, failed.text
        assert "data" in failed.json()
        assert failed.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_authentication_and_body_errors_keep_their_status_in_both_media_types(
    client: httpx.AsyncClient, mint: Mint
) -> None:
    for accept in (APOLLO_ACCEPT, "application/json"):
        unauthenticated = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Accept": accept}
        )
        assert unauthenticated.status_code == 401
        assert unauthenticated.headers["content-type"] == response_media_type(accept)
        assert unauthenticated.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        not_json = await client.post(
            "/graphql",
            content=b"{not json",
            headers={
                "Authorization": f"Bearer {await mint()}",
                "Content-Type": "application/json",
                "Accept": accept,
            },
        )
        assert not_json.status_code == 400
        assert not_json.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


# --- variable coercion: BAD_USER_INPUT naming the variable, in GraphQL's words ----------------------


async def test_a_missing_variable_names_it_and_runs_nothing(client: httpx.AsyncClient, mint: Mint) -> None:
    response = await send(client, await mint(), "query($id: ID!) { person(id: $id) { docId } }", {})
    body = response.json()
    assert response.status_code == 200
    assert "data" not in body
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["variable"] == "id"
    assert error["extensions"]["field"] == "id"
    assert "$id" in error["message"]


async def test_a_null_inside_an_input_names_the_field_and_says_null(
    client: httpx.AsyncClient, mint: Mint
) -> None:
    mutation = "mutation($input: SubmitInquiryInput!) { submitInquiry(input: $input) { inquiry { id } } }"
    response = await send(
        client, await mint(Audience.CONSTITUENT_SERVICES), mutation, {"input": {"source": None}}
    )
    body = response.json()
    assert "data" not in body, body
    fields = {e["extensions"].get("field") for e in body["errors"]}
    assert "input.source" in fields, body
    for error in body["errors"]:
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"]["variable"] == "input"
        assert "None" not in error["message"], error["message"]
        assert "found:" not in error["message"], error["message"]  # no Python repr of the input


async def test_a_null_for_a_non_null_variable_says_null(client: httpx.AsyncClient, mint: Mint) -> None:
    response = await send(client, await mint(), "query($id: ID!) { person(id: $id) { docId } }", {"id": None})
    [error] = response.json()["errors"]
    assert error["extensions"]["variable"] == "id"
    assert "None" not in error["message"]
    assert "null" in error["message"]
