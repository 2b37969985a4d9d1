"""The hardened endpoint: each limit at its edge (accepted at it, refused one past it), wired from its
setting; the transports refused; CORS; security headers; errors that carry a code and the request id
and nothing internal."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from hub.app import create_app
from hub.settings import Settings
from resolvers.models.partners import Audience
from tests.conftest import GraphQL, Mint
from tests.factories.faults import fail_read

Hub = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def hub(settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]) -> Hub:
    """An HTTP client of a hub built with some settings changed: ``async with hub(max_depth=3) as c``."""

    @asynccontextmanager
    async def build(**changes: Any) -> AsyncIterator[httpx.AsyncClient]:
        changed = Settings.model_validate({**settings.model_dump(), **changes})
        app = create_app(changed, engine=engine, sessions=sessions)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as c:
            yield c

    return build


GRAPHQL_RESPONSE = "application/graphql-response+json"


async def post(
    client: httpx.AsyncClient,
    token: str,
    query: str,
    variables: dict[str, Any] | None = None,
    accept: str = "application/json",
) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}", "Accept": accept},
    )


def code_of(response: httpx.Response) -> str | None:
    errors = response.json().get("errors")
    return errors[0]["extensions"]["code"] if errors else None


# --- each limit at its edge, from its setting ------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "limit", "at_limit", "past_limit", "code", "named"),
    [
        (
            "max_depth",
            3,
            "{ facilities { nodes { name } } }",
            "{ facilities { nodes { population { totalCount } } } }",
            "QUERY_TOO_DEEP",
            "4 levels deep; the limit is 3",
        ),
        (
            "max_aliases",
            2,
            "{ a: __typename b: __typename }",
            "{ a: __typename b: __typename c: __typename }",
            "TOO_MANY_ALIASES",
            "3 aliases; the limit is 2",
        ),
        (
            "max_directives",
            2,
            "{ a: __typename @skip(if: false) b: __typename @skip(if: false) }",
            "{ a: __typename @skip(if: false) b: __typename @skip(if: false) c: __typename @skip(if: false) }",
            "TOO_MANY_DIRECTIVES",
            "3 directives; the limit is 2",
        ),
        (
            # Ten tokens: the braces, each name, each colon (the lexer's start and end are not counted).
            "max_tokens",
            10,
            "{ a: __typename b: __typename __typename __typename }",
            "{ a: __typename b: __typename __typename __typename __typename }",
            "TOO_MANY_TOKENS",
            "more than 10 tokens",
        ),
        (
            "max_query_length",
            100,
            "{ __typename }".ljust(100),
            "{ __typename }".ljust(101),
            "QUERY_TOO_LONG",
            "101 characters long; the limit is 100",
        ),
    ],
)
async def test_each_limit_at_its_edge_over_http(
    hub: Hub, mint: Mint, setting: str, limit: int, at_limit: str, past_limit: str, code: str, named: str
) -> None:
    token = await mint(Audience.ADMIN)
    async with hub(**{setting: limit}) as client:
        accepted = await post(client, token, at_limit)
        assert accepted.status_code == 200, accepted.text
        assert "errors" not in accepted.json()
        refused = await post(client, token, past_limit, accept=GRAPHQL_RESPONSE)
    # A request error: 400 under GraphQL over HTTP's media type (200 under application/json).
    assert refused.status_code == 400
    assert refused.headers["content-type"] == GRAPHQL_RESPONSE
    assert "data" not in refused.json()
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == code
    assert named in error["message"]
    assert error["extensions"]["requestId"] == refused.headers["x-request-id"]


async def test_the_default_limits_are_the_issues(settings: Settings) -> None:
    assert (settings.max_depth, settings.max_aliases, settings.max_tokens, settings.max_directives) == (
        10,
        15,
        1000,
        20,
    )
    assert settings.max_query_length == 15_000
    assert settings.max_body_bytes == 2_000_000


async def test_duplicate_directives_are_refused(gql: GraphQL) -> None:
    response = await gql("{ __typename @skip(if: false) @skip(if: false) }")
    assert response.status_code == 200  # a request error, answered as application/json
    assert "data" not in response.json()
    assert code_of(response) == "GRAPHQL_VALIDATION_FAILED"
    assert "skip" in response.json()["errors"][0]["message"]


async def test_page_size_limit_at_its_edge(gql: GraphQL) -> None:
    accepted = await gql("{ facilities(first: 100) { totalCount } }")
    assert "errors" not in accepted.json(), accepted.text
    refused = await gql("{ facilities(first: 101) { totalCount } }")
    assert code_of(refused) == "BAD_USER_INPUT"
    assert "at most 100" in refused.json()["errors"][0]["message"]


# facilities 1 + page x (nodes 1 + name 1 + id 1): 1 + 3n
COST = "query($n: Int) {{ facilities(first: $n) {{ nodes {{ name id }} }} }}"


async def test_cost_per_audience_at_its_edge(hub: Hub, mint: Mint) -> None:
    legislative = await mint(Audience.LEGISLATIVE)
    admin = await mint(Audience.ADMIN)
    query = COST.format()
    async with hub(max_cost=1000, max_cost_by_audience={"legislative": 1 + 3 * 5}) as client:
        accepted = await post(client, legislative, query, {"n": 5})
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["extensions"]["cost"] == 16
        refused = await post(client, legislative, query, {"n": 6}, accept=GRAPHQL_RESPONSE)
        # Another audience keeps HUB_MAX_COST.
        other = await post(client, admin, query, {"n": 6})
    assert refused.status_code == 400
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "COST_EXCEEDED"
    assert "costs 19; the limit for your audience is 16" in error["message"]
    assert other.status_code == 200
    assert other.json()["extensions"]["cost"] == 19


async def test_an_unknown_audience_in_the_cost_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown audiences: nobody"):
        Settings(max_cost_by_audience={"nobody": 5})


# --- the request body ----------------------------------------------------------------------------------


def body_of_size(size: int) -> bytes:
    base = orjson.dumps({"query": "{ __typename }", "pad": ""})
    return orjson.dumps({"query": "{ __typename }", "pad": "x" * (size - len(base))})


async def test_body_size_at_its_edge(hub: Hub, mint: Mint) -> None:
    headers = {"Authorization": f"Bearer {await mint()}", "Content-Type": "application/json"}
    async with hub(max_body_bytes=2048) as client:
        at_limit = body_of_size(2048)
        assert len(at_limit) == 2048
        accepted = await client.post("/graphql", content=at_limit, headers=headers)
        assert accepted.status_code == 200, accepted.text
        refused = await client.post("/graphql", content=body_of_size(2049), headers=headers)

        async def chunks() -> AsyncIterator[bytes]:
            # No Content-Length: the limit holds while the body streams in.
            body = body_of_size(2049)
            yield body[:1000]
            yield body[1000:]

        streamed = await client.post("/graphql", content=chunks(), headers=headers)
    for response in (refused, streamed):
        assert response.status_code == 413
        assert code_of(response) == "BODY_TOO_LARGE"
        assert "2048 bytes" in response.json()["errors"][0]["message"]


# --- transports --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"query=%7B__typename%7D"),
        (
            "multipart/form-data; boundary=x",
            b'--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n{ __typename }\r\n--x--\r\n',
        ),
        ("text/plain", b'{"query": "{ __typename }"}'),
    ],
)
async def test_form_multipart_and_other_bodies_are_refused(
    client: httpx.AsyncClient, mint: Mint, content_type: str, body: bytes
) -> None:
    response = await client.post(
        "/graphql",
        content=body,
        headers={"Authorization": f"Bearer {await mint()}", "Content-Type": content_type},
    )
    assert response.status_code == 415
    assert code_of(response) == "UNSUPPORTED_MEDIA_TYPE"


async def test_no_operation_runs_over_get_and_graphiql_only_in_demo_mode(hub: Hub, mint: Mint) -> None:
    auth = {"Authorization": f"Bearer {await mint()}"}
    mutation = "/graphql?query=mutation{submitInquiry(input:{})}"
    async with hub(graphiql=False) as client:
        for url in ("/graphql?query={__typename}", mutation):
            refused = await client.get(url, headers={**auth, "Accept": "text/html"})
            assert refused.status_code == 405
            assert refused.headers["allow"] == "POST"
            assert code_of(refused) == "METHOD_NOT_ALLOWED"
    async with hub(graphiql=True) as client:
        page = await client.get("/graphql", headers={"Accept": "text/html"}, follow_redirects=True)
        assert page.status_code == 200
        assert "graphiql" in page.text.lower()
        # Even in demo mode GET only serves the page: an operation in the URL is not run.
        json_get = await client.get(mutation, headers={**auth, "Accept": "application/json"})
        assert json_get.status_code == 405


async def test_batched_operations_are_refused(client: httpx.AsyncClient, mint: Mint) -> None:
    response = await client.post(
        "/graphql",
        json=[{"query": "{ __typename }"}, {"query": "{ __typename }"}],
        headers={"Authorization": f"Bearer {await mint()}"},
    )
    assert response.status_code == 400
    assert code_of(response) == "BATCH_NOT_SUPPORTED"


async def test_anonymous_introspection_is_refused_and_a_partner_sees_only_its_schema(
    client: httpx.AsyncClient, gql: GraphQL
) -> None:
    query = "{ __schema { queryType { fields { name } } } }"
    anonymous = await client.post("/graphql", json={"query": query})
    assert anonymous.status_code == 401
    assert "data" not in anonymous.json()
    legislative = await gql(query, audience=Audience.LEGISLATIVE)
    admin = await gql(query, audience=Audience.ADMIN)
    seen = {f["name"] for f in legislative.json()["data"]["__schema"]["queryType"]["fields"]}
    everything = {f["name"] for f in admin.json()["data"]["__schema"]["queryType"]["fields"]}
    assert seen < everything


# --- CORS and headers --------------------------------------------------------------------------------


async def test_no_origin_is_allowed_by_default(client: httpx.AsyncClient, mint: Mint) -> None:
    preflight = await client.options(
        "/graphql",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = await client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"Origin": "https://evil.example", "Authorization": f"Bearer {await mint()}"},
    )
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers


async def test_configured_origins_are_allowed_and_others_not(hub: Hub, mint: Mint) -> None:
    async with hub(cors_origins=["https://portal.example.gov"]) as client:
        preflight = await client.options(
            "/graphql",
            headers={
                "Origin": "https://portal.example.gov",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://portal.example.gov"
        assert "x-request-id" in preflight.headers
        allowed = await client.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Origin": "https://portal.example.gov", "Authorization": f"Bearer {await mint()}"},
        )
        assert allowed.headers["access-control-allow-origin"] == "https://portal.example.gov"
        assert "x-request-id" in allowed.headers["access-control-expose-headers"].lower()
        other = await client.options(
            "/graphql",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers


async def test_security_headers_on_every_kind_of_response(client: httpx.AsyncClient, mint: Mint) -> None:
    responses = [
        await client.get("/healthz"),
        await client.post("/graphql", json={"query": "{ __typename }"}),
        await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"Authorization": f"Bearer {await mint()}"}
        ),
        await client.get("/nowhere"),
    ]
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
        assert response.headers["strict-transport-security"].startswith("max-age=")


# --- errors: a code and the request id, nothing internal ---------------------------------------------------

INTERNAL_TEXT = ("Traceback", 'File "', "sqlalchemy", "/work/", ".py", "RuntimeError", "SELECT")


async def test_a_failing_resolver_is_masked(
    gql: GraphQL, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(*_: object, **__: object) -> None:
        raise RuntimeError('File "/work/main/resolvers/people.py": SELECT secret FROM sqlalchemy')

    fail_read(monkeypatch, "resolvers.people.list_facilities", boom)
    response = await gql("{ facilities { totalCount } }")
    error = response.json()["errors"][0]
    assert error["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": response.headers["x-request-id"],
    }
    assert "quote the request id" in error["message"]
    assert not any(text in response.text for text in INTERNAL_TEXT)
    # The department's log keeps what the caller is not shown.
    assert any("resolver failed" in r.getMessage() for r in caplog.records)


async def test_an_exception_outside_any_resolver_is_a_masked_500(
    gql: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def boom(*_: object, **__: object) -> None:
        raise KeyError("/work/main/schema/execution.py")

    monkeypatch.setattr("schema.execution.Executor.execute", boom)
    response = await gql("{ __typename }")
    assert response.status_code == 500
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert not any(text in response.text for text in (*INTERNAL_TEXT, "KeyError"))


async def test_a_pool_that_stays_full_is_busy_not_broken(
    gql: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def full(*_: object, **__: object) -> None:
        raise PoolTimeout("QueuePool limit of size 10 overflow 10 reached, connection timed out")

    fail_read(monkeypatch, "resolvers.people.list_facilities", full)
    response = await gql("{ facilities { totalCount } }")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "STORE_BUSY"
    assert error["message"] == "the hub is busy; retry shortly"
    assert "QueuePool" not in response.text


async def test_the_request_timeout_ends_in_a_clear_error(
    hub: Hub, mint: Mint, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    async def slow(*_: object, **__: object) -> None:
        await asyncio.sleep(5)

    fail_read(monkeypatch, "resolvers.people.list_facilities", slow)
    async with hub(request_timeout_s=0.2) as client:
        response = await post(client, await mint(), "{ facilities { totalCount } }")
    assert response.status_code == 504
    assert code_of(response) == "TIMEOUT"
    assert "longer than 0.2 s" in response.json()["errors"][0]["message"]


async def test_a_driver_timeout_is_the_store_not_the_request(
    gql: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def never_connects(*_: object, **__: object) -> None:
        raise TimeoutError  # what asyncpg raises when a connection is not made in time

    fail_read(monkeypatch, "resolvers.people.list_facilities", never_connects)
    response = await gql("{ facilities { totalCount } }")
    assert response.status_code == 503
    assert code_of(response) == "STORE_UNAVAILABLE"


MISSPELLED = [
    "{ facilitie { totalCount } }",  # a field
    "{ facilities(frist: 1) { totalCount } }",  # an argument
    "{ facilities(kind: INSTITUTIO) { totalCount } }",  # an enum value
    "{ ... on Quer { __typename } }",  # a type
    "query($f: FacilityKnd) { __typename }",  # a variable's type
    "{ facilities { nodes { ... on Facilty { name } } } }",
]


@pytest.mark.parametrize("audience", list(Audience))
async def test_no_suggestion_in_any_error_for_any_audience(gql: GraphQL, audience: Audience) -> None:
    for query in MISSPELLED:
        response = await gql(query, audience=audience)
        assert response.status_code == 200, query
        assert "data" not in response.json(), query
        assert code_of(response) == "GRAPHQL_VALIDATION_FAILED"
        assert "did you mean" not in response.text.lower(), response.text


class _Canceled(Exception):
    sqlstate = "57014"  # what PostgreSQL's statement_timeout raises


async def test_a_statement_stopped_by_its_timeout_is_named(
    gql: GraphQL, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import DBAPIError

    async def canceled(*_: object, **__: object) -> None:
        raise DBAPIError(
            "SELECT secret FROM people", {}, _Canceled("canceling statement due to statement timeout")
        )

    fail_read(monkeypatch, "resolvers.people.list_facilities", canceled)
    response = await gql("{ facilities { totalCount } }")
    assert response.status_code == 504
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "STATEMENT_TIMEOUT"
    assert "statement timeout" in error["message"]
    assert "SELECT" not in response.text


class _ShuttingDown(Exception):
    sqlstate = "57P03"  # "the database system is starting up": asyncpg's CannotConnectNowError


async def test_a_server_starting_up_is_an_outage(gql: GraphQL, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import DBAPIError

    async def starting(*_: object, **__: object) -> None:
        raise DBAPIError(None, None, _ShuttingDown("the database system is starting up"))

    fail_read(monkeypatch, "resolvers.people.list_facilities", starting)
    response = await gql("{ facilities { totalCount } }")
    assert response.status_code == 503
    assert code_of(response) == "STORE_UNAVAILABLE"
    assert "starting up" not in response.text
