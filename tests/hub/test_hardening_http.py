"""GraphQL over HTTP as clients read it: media types, status codes, request errors without ``data``."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hub.app import create_app
from hub.endpoint import response_media_type
from hub.http_errors import GRAPHQL_RESPONSE
from hub.settings import Settings
from resolvers.models.partners import Audience
from schema.ids import to_global_id
from tests.conftest import Mint
from tests.factories.people import make_inmate
from tests.factories.programs import make_offering, make_program

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


# --- every response of every route: JSON with a code and the request id, and the security headers --


NO_CONTENT_POLICY = "default-src 'none'; frame-ancestors 'none'"


def assert_hub_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    error: dict[str, Any] = response.json()["errors"][0]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-security-policy"] == NO_CONTENT_POLICY
    return error


async def test_an_unknown_path_is_a_json_404(client: httpx.AsyncClient) -> None:
    for method in ("GET", "POST", "DELETE"):
        error = assert_hub_error(await client.request(method, "/nowhere"), 404, "NOT_FOUND")
        assert "/nowhere" in error["message"]


@pytest.mark.parametrize("method", ["HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"])
async def test_other_methods_on_graphql_are_a_json_405_allowing_post(
    client: httpx.AsyncClient, method: str
) -> None:
    response = await client.request(method, "/graphql")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-security-policy"] == NO_CONTENT_POLICY
    if method != "HEAD":  # a HEAD response has no body to read
        assert_hub_error(response, 405, "METHOD_NOT_ALLOWED")


async def test_a_wrong_method_on_another_route_is_a_json_405_with_its_allow(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/oauth/token")
    error = assert_hub_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"
    assert "GET is not allowed on /oauth/token" in error["message"]
    put = await client.put("/healthz")
    assert_hub_error(put, 405, "METHOD_NOT_ALLOWED")
    assert set(put.headers["allow"].split(", ")) == {"GET", "HEAD"}


async def test_an_exception_no_route_caught_is_a_json_500_with_the_headers(app: Starlette) -> None:
    async def boom(request: Request) -> Response:
        raise RuntimeError('File "/work/main/hub/app.py": database is locked')

    app.router.routes.append(Route("/boom", boom, methods=["POST"]))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        response = await client.post("/boom")
    error = assert_hub_error(response, 500, "INTERNAL_SERVER_ERROR")
    assert "quote the request id" in error["message"]
    assert "locked" not in response.text
    assert "File" not in response.text


async def test_a_refused_cors_preflight_is_json_and_an_allowed_one_still_passes(
    settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    changed = Settings.model_validate(
        {**settings.model_dump(), "cors_origins": ["https://portal.example.gov"]}
    )
    app = create_app(changed, engine=engine, sessions=sessions)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        refused = await client.options(
            "/graphql", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        )
        error = assert_hub_error(refused, 400, "CORS_REFUSED")
        assert "origin" in error["message"]
        assert "access-control-allow-origin" not in refused.headers
        allowed = await client.options(
            "/graphql",
            headers={"Origin": "https://portal.example.gov", "Access-Control-Request-Method": "POST"},
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://portal.example.gov"
        # An OPTIONS that is not a preflight is a method /graphql does not take.
        plain = await client.options("/graphql")
        assert_hub_error(plain, 405, "METHOD_NOT_ALLOWED")


# --- Content-Security-Policy: on every response but GraphiQL's page ----------------------------------


async def test_every_html_and_json_route_carries_the_content_security_policy(
    client: httpx.AsyncClient, mint: Mint
) -> None:
    token = await mint()
    responses = {
        "ack form": await client.get("/notifications/ack?code=abc"),
        "ack refused": await client.post("/notifications/ack"),
        "ack unknown": await client.post("/notifications/ack", data={"code": "garbage"}),
        "healthz": await client.get("/healthz"),
        "jwks": await client.get("/.well-known/jwks.json"),
        "metadata": await client.get("/.well-known/oauth-authorization-server"),
        "token refused": await client.post("/oauth/token", data={"grant_type": "client_credentials"}),
        "graphql": await send(client, token, "{ __typename }"),
        "graphql get": await client.get("/graphql", headers={"Accept": "text/html"}),  # GraphiQL is off
        "not found": await client.get("/nowhere"),
    }
    for name, response in responses.items():
        assert response.headers.get("content-security-policy") == NO_CONTENT_POLICY, name
    assert responses["ack form"].headers["content-type"].startswith("text/html")


async def test_only_the_graphiql_page_goes_without_the_policy(
    settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    changed = Settings.model_validate({**settings.model_dump(), "graphiql": True})
    app = create_app(changed, engine=engine, sessions=sessions)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"}, follow_redirects=True)
        assert page.status_code == 200
        assert "graphiql" in page.text.lower()
        # The console serves it from vendored files, under the console's own strict policy.
        assert str(page.url).endswith("/console/graphiql")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        ack = await client.get("/notifications/ack?code=abc")
        assert ack.headers["content-security-policy"] == NO_CONTENT_POLICY


# --- messages: GraphQL's words, and a malformed id answers as an unknown one ------------------------

UNKNOWN_PERSON = to_global_id("Person", 987_654)
UNKNOWN_FACILITY = to_global_id("Facility", 987_654)
MALFORMED = ["x", "", "!!!", to_global_id("Facility", 1), "UGVyc29uOmFiYw"]  # the last: "Person:abc"


def without_request_id(body: dict[str, Any]) -> dict[str, Any]:
    text = orjson.dumps(body).decode()
    for request_id in {e["extensions"]["requestId"] for e in body.get("errors", [])} | {
        body.get("extensions", {}).get("requestId")
    }:
        if request_id:
            text = text.replace(request_id, "<id>")
    loaded: dict[str, Any] = orjson.loads(text)
    return loaded


@pytest.mark.parametrize(
    ("query", "unknown"),
    [
        ("query($id: ID!) { person(id: $id) { docId } }", UNKNOWN_PERSON),
        ("query($id: ID!) { facility(id: $id) { name } }", UNKNOWN_FACILITY),
        ("query($id: ID) { inquiries(subjectPersonId: $id) { totalCount } }", UNKNOWN_PERSON),
        ("query($id: ID) { people(facilityId: $id) { totalCount } }", UNKNOWN_FACILITY),
        ("query($id: ID) { enrollments(personId: $id) { totalCount } }", UNKNOWN_PERSON),
    ],
)
async def test_a_malformed_id_answers_exactly_as_a_well_formed_unknown_one(
    client: httpx.AsyncClient, mint: Mint, query: str, unknown: str
) -> None:
    token = await mint()
    expected = without_request_id((await send(client, token, query, {"id": unknown})).json())
    assert "errors" not in expected, expected
    for malformed in MALFORMED:
        answered = without_request_id((await send(client, token, query, {"id": malformed})).json())
        assert answered == expected, (malformed, answered)


async def test_a_malformed_filter_id_does_not_null_the_whole_response(
    client: httpx.AsyncClient, mint: Mint
) -> None:
    # Before: the non-null `inquiries` failed with NOT_FOUND and took `data` (and `facilities`) with it.
    response = await send(
        client, await mint(), '{ inquiries(subjectPersonId: "x") { totalCount } facilities { totalCount } }'
    )
    body = response.json()
    assert body["data"]["inquiries"] == {"totalCount": 0}
    assert body["data"]["facilities"] is not None
    assert "errors" not in body


async def test_a_write_with_a_malformed_id_answers_as_one_with_an_unknown_id(
    client: httpx.AsyncClient, mint: Mint, session: AsyncSession
) -> None:
    program = await make_program(session)
    person, facility = await make_inmate(session)
    offering = await make_offering(session, program, facility, capacity=5)
    mutation = """mutation($input: EnrolPersonInput!) {
      enrolPerson(input: $input) { enrollment { id } errors { code field message } } }"""
    token = await mint(Audience.PROGRAMS)

    async def enrol(person_id: str) -> dict[str, Any]:
        variables = {
            "input": {
                "personId": person_id,
                "offeringId": to_global_id("ProgramOffering", offering.id),
                "enrolledOn": "2024-02-01",
            }
        }
        return without_request_id((await send(client, token, mutation, variables)).json())

    unknown = await enrol(UNKNOWN_PERSON)
    assert unknown["data"]["enrolPerson"]["errors"][0]["code"] == "NOT_FOUND", unknown
    for malformed in MALFORMED:
        assert await enrol(malformed) == unknown, malformed
    assert person.id  # the person exists; only the ids sent were wrong


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ("{ person(id: null) { docId } }", None),
        ("query($id: ID!) { person(id: $id) { docId } }", {"id": None}),
        (
            "query($s: [PersonStatus!]) { populationStatistics(statuses: $s) { __typename } }",
            {"s": ["INCARCERATED", None]},
        ),
        ("{ populationStatistics(statuses: [INCARCERATED, null]) { __typename } }", None),
    ],
)
async def test_no_python_none_in_any_message(
    client: httpx.AsyncClient, mint: Mint, query: str, variables: dict[str, Any] | None
) -> None:
    body = (await send(client, await mint(), query, variables)).json()
    assert body["errors"], body
    for error in body["errors"]:
        assert "None" not in error["message"], error["message"]
        assert "null" in error["message"], error["message"]
