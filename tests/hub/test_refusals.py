"""One way to refuse (issue 19, item 3): every route answers a bad credential and a store outage with
the documented status, code and headers, through the one ``Refusal`` and the one outage mapping
(``hub/http_errors.py``), with nothing of the driver in the body; and ``/graphql`` ledgers a refused
request with the refusal's own code."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from auth.client_auth import OAuthError
from auth.principal import Unauthenticated
from auth.rate_limits import RateLimited
from auth.throttle import Throttled
from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience
from tests.conftest import Mint

#: What must never reach a caller: the driver's words, the statement, the address, a traceback.
DRIVER_TEXT = (
    "Traceback",
    'File "',
    "sqlalchemy",
    "OperationalError",
    "SELECT",
    "10.9.8.7",
    "Errno",
    "57014",
)

BAD_BEARER = {"Authorization": "Bearer not-a-token"}
BAD_BASIC = {"Authorization": "Basic " + base64.b64encode(b"no-such-client:wrong").decode()}
#: A confirmation code of the right shape that no notification has.
UNKNOWN_ACK_CODE = "999999.wrongwrongwrong"


class _Canceled(Exception):
    sqlstate = "57014"  # PostgreSQL's statement_timeout


def _outage(kind: str) -> Exception:
    """The store failing as the driver and the pool raise it."""
    if kind == "unavailable":
        refused = ConnectionRefusedError(111, "[Errno 111] Connect call failed ('10.9.8.7', 5432)")
        return OperationalError("SELECT clients.status FROM clients", {}, refused)
    if kind == "busy":
        return PoolTimeout("QueuePool limit of size 10 overflow 10 reached, connection timed out")
    return DBAPIError(
        "SELECT secret FROM people", {}, _Canceled("canceling statement due to statement timeout")
    )


#: kind -> (status, code, Retry-After), as docs/hardening.md lists them.
OUTAGES = {
    "unavailable": (503, "STORE_UNAVAILABLE", "1"),
    "busy": (503, "STORE_BUSY", "1"),
    "statement_timeout": (504, "STATEMENT_TIMEOUT", None),
}

Send = Callable[[httpx.AsyncClient, Mint], Awaitable[httpx.Response]]


async def _graphql(client: httpx.AsyncClient, mint: Mint) -> httpx.Response:
    token = await mint(Audience.ADMIN)
    return await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Authorization": f"Bearer {token}"}
    )


async def _token(client: httpx.AsyncClient, mint: Mint) -> httpx.Response:
    return await client.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=BAD_BASIC)


async def _revoke(client: httpx.AsyncClient, mint: Mint) -> httpx.Response:
    return await client.post("/oauth/revoke", data={"token": "whatever"}, headers=BAD_BASIC)


async def _extract(client: httpx.AsyncClient, mint: Mint) -> httpx.Response:
    token = await mint(Audience.RESEARCHER)
    return await client.get("/research/extracts/1.csv", headers={"Authorization": f"Bearer {token}"})


async def _ack(client: httpx.AsyncClient, mint: Mint) -> httpx.Response:
    return await client.post("/notifications/ack", data={"code": UNKNOWN_ACK_CODE})


#: Each surface, how to send it, and the store call its outage is injected into.
SURFACES: dict[str, tuple[Send, str]] = {
    "graphql": (_graphql, "auth.bearer.ClientStates.state"),
    "oauth_token": (_token, "auth.client_auth.ClientAuthenticator.authenticate"),
    "oauth_revoke": (_revoke, "auth.client_auth.ClientAuthenticator.authenticate"),
    "extract_token_check": (_extract, "auth.bearer.ClientStates.state"),
    "extract_agreement": (_extract, "hub.research_extracts.agreement_in_force_by_id"),
    "ack": (_ack, "hub.delivery.acknowledgement.acknowledge"),
}


def _access_code(caplog: pytest.LogCaptureFixture) -> str | None:
    """The code on the request's access log line (and so in ``hub_refusals_total``)."""
    [line] = [r for r in caplog.records if r.name == "hub.http" and r.getMessage() == "request"]
    code = getattr(line, "code", None)
    return code if isinstance(code, str) else None


def _assert_clean(response: httpx.Response) -> None:
    assert not any(text in response.text for text in DRIVER_TEXT), response.text


# --- bad credentials --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/graphql", "/research/extracts/1.csv"])
async def test_a_bad_bearer_token_is_401_with_its_challenge(
    client: httpx.AsyncClient, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    if path == "/graphql":
        response = await client.post("/graphql", json={"query": "{ __typename }"}, headers=BAD_BEARER)
    else:
        response = await client.get(path, headers=BAD_BEARER)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.headers["www-authenticate"].startswith('Bearer realm="hub", error="invalid_token"')
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "requestId": response.headers["x-request-id"]}
    assert _access_code(caplog) == "UNAUTHENTICATED"
    _assert_clean(response)


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/revoke"])
async def test_bad_client_credentials_are_rfc_6749s_invalid_client(
    client: httpx.AsyncClient, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    form = {"grant_type": "client_credentials"} if path == "/oauth/token" else {"token": "whatever"}
    response = await client.post(path, data=form, headers=BAD_BASIC)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.headers["www-authenticate"] == 'Basic realm="hub"'
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    assert response.json() == {"error": "invalid_client", "error_description": "client authentication failed"}
    assert _access_code(caplog) == "invalid_client"


async def test_an_unknown_confirmation_code_is_a_404_page(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    response = await client.post("/notifications/ack", data={"code": UNKNOWN_ACK_CODE})
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Code not recognised</h1>" in response.text
    assert "Please call the Office of Victim Services." in response.text
    assert _access_code(caplog) == "NOT_FOUND"
    missing = await client.post("/notifications/ack")
    assert missing.status_code == 400
    assert "<h1>Confirmation code needed</h1>" in missing.text


# --- store outages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(OUTAGES))
@pytest.mark.parametrize("surface", list(SURFACES))
async def test_a_store_outage_is_the_same_refusal_on_every_route(
    client: httpx.AsyncClient,
    mint: Mint,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    surface: str,
    kind: str,
) -> None:
    send, target = SURFACES[surface]
    status, code, retry_after = OUTAGES[kind]

    async def down(*_: object, **__: object) -> None:
        raise _outage(kind)

    monkeypatch.setattr(target, down)
    caplog.set_level(logging.INFO)
    response = await send(client, mint)
    assert response.status_code == status, response.text
    assert response.headers.get("retry-after") == retry_after
    if surface == "ack":  # the one route a person's browser calls answers pages, this one too
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert "<h1>Please try again shortly</h1>" in response.text
    else:
        assert response.headers["content-type"] == "application/json"
        [error] = response.json()["errors"]
        assert error["extensions"] == {"code": code, "requestId": response.headers["x-request-id"]}
        assert "retry shortly" in error["message"] or "statement timeout" in error["message"]
    _assert_clean(response)
    # One WARNING line naming the code, never a traceback.
    refused = [r for r in caplog.records if r.getMessage() == f"request refused: {code}"]
    assert len(refused) == 1
    assert not any(r.exc_info for r in caplog.records)
    assert _access_code(caplog) == code


async def test_a_store_error_that_is_not_an_outage_is_still_a_masked_500(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def bug(*_: object, **__: object) -> None:
        raise ProgrammingError("SELECT nonsense FROM clients", {}, Exception("syntax error at 10.9.8.7"))

    monkeypatch.setattr("auth.client_auth.ClientAuthenticator.authenticate", bug)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        response = await client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, headers=BAD_BASIC
        )
    assert response.status_code == 500
    assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    _assert_clean(response)


# --- the ledger takes the code from the refusal --------------------------------------------------------


async def _event(session: AsyncSession, response: httpx.Response) -> AuditEvent:
    found = await session.scalars(
        select(AuditEvent).where(
            AuditEvent.kind == "graphql", AuditEvent.request_id == response.headers["x-request-id"]
        )
    )
    [event] = found.all()
    return event


async def test_a_refused_graphql_request_is_ledgered_with_the_refusals_code(
    client: httpx.AsyncClient, mint: Mint, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    unauthenticated = await client.post("/graphql", json={"query": "{ __typename }"}, headers=BAD_BEARER)
    event = await _event(session, unauthenticated)
    assert (event.outcome, event.detail) == ("denied", {"status": 401, "code": "UNAUTHENTICATED"})

    # A request error: the first error's code, and the status it was answered with (200 under JSON).
    token = {"Authorization": f"Bearer {await mint(Audience.ADMIN)}"}
    invalid = await client.post("/graphql", json={"query": "{ nope }"}, headers=token)
    assert invalid.status_code == 200
    event = await _event(session, invalid)
    assert event.detail is not None
    assert (event.detail["status"], event.detail["code"]) == (200, "GRAPHQL_VALIDATION_FAILED")

    async def down(*_: object, **__: object) -> None:
        raise _outage("unavailable")

    monkeypatch.setattr("auth.bearer.ClientStates.state", down)
    outage = await _graphql(client, mint)
    assert outage.status_code == 503
    event = await _event(session, outage)
    assert (event.outcome, event.detail) == ("error", {"status": 503, "code": "STORE_UNAVAILABLE"})


def test_the_abuse_alert_names_the_codes_these_refusals_carry() -> None:
    """``HubThrottlingSpike`` counts ``hub_refusals_total`` by the codes the refusals really carry
    (the OAuth endpoints' were not counted at all before they were Refusals)."""
    alerts = (Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml").read_text()
    [pattern] = re.findall(r'hub_refusals_total\{code=~"([^"]+)"\}', alerts.split("HubThrottlingSpike")[1])
    refusals = [
        RateLimited("requests per minute", 61, 3),
        Throttled(2),
        Unauthenticated(),
        OAuthError("invalid_client", "client authentication failed"),
    ]
    assert sorted(pattern.split("|")) == sorted(r.code for r in refusals)
