"""``/graphql`` with a bearer token: every malformed or unacceptable token is ``invalid_token`` with
``WWW-Authenticate`` (RFC 6750); a disabled client's tokens stop within the status cache; revocation."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import httpx
import pytest
from joserfc import jwk
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from auth import clients as registry
from auth import tokens
from hub.app import Identity
from resolvers.models.partners import Audience, Client, Partner
from tests.auth.conftest import AppWith, Registered, basic, error_of, graphql
from tests.conftest import GraphQL, Mint


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _claims(
    partners: dict[Audience, Partner], partner_clients: dict[Audience, Client], **changes: Any
) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "http://hub.test",
        "aud": "http://hub.test/graphql",
        "sub": partner_clients[Audience.LEGISLATIVE].client_id,
        "client_id": partner_clients[Audience.LEGISLATIVE].client_id,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "jti": tokens.new_token_id(),
        "scope": "graphql",
        "partner_id": partners[Audience.LEGISLATIVE].id,
        "hub_audience": "legislative",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _refused(response: httpx.Response, error: str = "invalid_token") -> str:
    # RFC 6750 section 3.1: a malformed request is 400, a missing or invalid token 401.
    assert response.status_code == (400 if error == "invalid_request" else 401), response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="hub"')
    if error:
        assert f'error="{error}"' in challenge
    else:
        assert "error=" not in challenge
    body = response.json()
    expected = "BAD_REQUEST" if error == "invalid_request" else "UNAUTHENTICATED"
    assert body["errors"][0]["extensions"]["code"] == expected
    assert "Traceback" not in response.text
    return str(body["errors"][0]["message"])


async def test_a_hand_made_token_signed_by_the_hub_is_accepted(
    app: Starlette, gql: GraphQL, partners: dict[Audience, Partner], partner_clients: dict[Audience, Client]
) -> None:
    identity: Identity = app.state.identity
    token = tokens.sign(await _claims(partners, partner_clients), await identity.keys.signer())
    response = await gql("{ __typename }", token=token)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 4000, "nbf": None}, "expired"),
        ({"nbf": int(time.time()) + 3600}, "not yet valid"),
        ({"iat": int(time.time()) + 3600}, "future"),
        ({"aud": "http://elsewhere/graphql"}, "another audience"),
        ({"jti": None}, "'jti'"),
        ({"hub_audience": "everyone"}, "malformed"),
        # Lifetimes the hub never grants (HUB_TOKEN_TTL_S is 900 s here): exp 10^9 s ahead, and a
        # token issued long ago whose exp is still ahead.
        ({"exp": int(time.time()) + 10**9}, "lifetime is longer than the 900 s"),
        ({"iat": int(time.time()) - 3000, "nbf": int(time.time()) - 3000}, "lifetime is longer"),
    ],
)
async def test_bad_claims(
    app: Starlette,
    gql: GraphQL,
    partners: dict[Audience, Partner],
    partner_clients: dict[Audience, Client],
    changes: dict[str, Any],
    message: str,
) -> None:
    identity: Identity = app.state.identity
    token = tokens.sign(await _claims(partners, partner_clients, **changes), await identity.keys.signer())
    assert message in _refused(await gql("{ __typename }", token=token))


async def test_wrong_issuer(
    app: Starlette, gql: GraphQL, partners: dict[Audience, Partner], partner_clients: dict[Audience, Client]
) -> None:
    identity: Identity = app.state.identity
    token = tokens.sign(
        await _claims(partners, partner_clients, iss="http://evil.test"), await identity.keys.signer()
    )
    assert "issuer the hub does not accept" in _refused(await gql("{ __typename }", token=token))


async def test_wrongly_signed_and_unsigned_tokens(
    app: Starlette, gql: GraphQL, partners: dict[Audience, Partner], partner_clients: dict[Audience, Client]
) -> None:
    identity: Identity = app.state.identity
    signer = await identity.keys.signer()
    claims = await _claims(partners, partner_clients)
    # Another key under the hub's kid.
    forged = tokens.sign_with(claims, jwk.RSAKey.generate_key(2048), "RS256", kid=signer.kid, typ="at+jwt")
    assert "signature" in _refused(await gql("{ __typename }", token=forged))
    # A key the hub never had.
    stranger = tokens.sign_with(
        claims, jwk.ECKey.generate_key("P-256"), "ES256", kid="stranger", typ="at+jwt"
    )
    assert "unknown or expired" in _refused(await gql("{ __typename }", token=stranger))
    # alg: none
    unsigned = f"{_b64({'alg': 'none', 'typ': 'at+jwt', 'kid': signer.kid})}.{_b64(claims)}."
    assert "algorithm" in _refused(await gql("{ __typename }", token=unsigned))
    # HS256 with the public key as the secret (algorithm confusion).
    confused_header = _b64({"alg": "HS256", "typ": "at+jwt", "kid": signer.kid})
    confused = f"{confused_header}.{_b64(claims)}.c2lnbmF0dXJl"
    assert "algorithm" in _refused(await gql("{ __typename }", token=confused))
    # A tampered payload.
    good = tokens.sign(claims, signer)
    header, _payload, signature = good.split(".")
    tampered = f"{header}.{_b64({**claims, 'hub_audience': 'admin'})}.{signature}"
    assert "signature" in _refused(await gql("{ __typename }", token=tampered))
    # Not an access token (typ JWT): an ID token or assertion replayed as one.
    wrong_type = tokens.sign(claims, signer, typ="JWT")
    assert "type" in _refused(await gql("{ __typename }", token=wrong_type))


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 9000, "e30.e30.", "....."])
async def test_malformed_tokens(gql: GraphQL, token: str) -> None:
    _refused(await gql("{ __typename }", token=token))


async def test_missing_duplicated_and_other_scheme_headers(client: httpx.AsyncClient, mint: Mint) -> None:
    query = {"query": "{ __typename }"}
    _refused(await client.post("/graphql", json=query), error="")
    token = await mint(Audience.ADMIN)
    duplicated = await client.post(
        "/graphql",
        json=query,
        headers=[("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")],
    )
    _refused(duplicated, error="invalid_request")
    # RFC 6750 section 3.1: no bearer credentials at all (another scheme) is 401 without an error code.
    other_scheme = await client.post("/graphql", json=query, headers={"Authorization": basic("a", "b")})
    assert "Bearer scheme" in _refused(other_scheme, error="")
    assert other_scheme.headers["www-authenticate"] == 'Bearer realm="hub"'
    _refused(
        await client.post("/graphql", json=query, headers={"Authorization": "Bearer "}), "invalid_request"
    )


async def test_principal_of_a_partner_token(gql: GraphQL, partners: dict[Audience, Partner]) -> None:
    # The legislative partner's token reaches the legislative schema (no victim fields), admin's the full one.
    legislative = await gql("{ __typename }", audience=Audience.LEGISLATIVE)
    assert legislative.status_code == 200, legislative.text


async def test_a_disabled_client_is_cut_off_within_the_cache_time(
    app_with: AppWith, session: AsyncSession, registered: Registered
) -> None:
    async with app_with(client_status_cache_s=0.3) as (_app, http):
        response = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": basic(registered.client_id, registered.secret)},
        )
        token = response.json()["access_token"]
        assert (await graphql(http, token, "{ __typename }")).status_code == 200
        await registry.disable(session, registered.client_id)
        await session.flush()
        # Still cached for at most client_status_cache_s ...
        started = time.monotonic()
        while (await graphql(http, token, "{ __typename }")).status_code == 200:
            assert time.monotonic() - started < 2.0, "the disabled client's token kept working"
            await asyncio.sleep(0.05)
        refused = await graphql(http, token, "{ __typename }")
        assert "disabled" in _refused(refused)
        # ... and it cannot get a new token either.
        again = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": basic(registered.client_id, registered.secret)},
        )
        assert error_of(again) == "invalid_client"
        assert "disabled" in again.json()["error_description"]
        await registry.enable(session, registered.client_id)
        await session.flush()
        await asyncio.sleep(0.35)
        assert (await graphql(http, token, "{ __typename }")).status_code == 200


async def test_revocation(client: httpx.AsyncClient, session: AsyncSession, registered: Registered) -> None:
    auth = {"Authorization": basic(registered.client_id, registered.secret)}
    token = (
        await client.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=auth)
    ).json()["access_token"]
    other = (
        await client.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=auth)
    ).json()["access_token"]
    assert (await graphql(client, token, "{ __typename }")).status_code == 200

    revoked = await client.post(
        "/oauth/revoke", data={"token": token, "token_type_hint": "access_token"}, headers=auth
    )
    assert revoked.status_code == 200, revoked.text
    assert "revoked" in _refused(await graphql(client, token, "{ __typename }"))
    # Only that token: the client's other token still works.
    assert (await graphql(client, other, "{ __typename }")).status_code == 200
    # Revoking again, or revoking garbage, is not an error (RFC 7009 section 2.2).
    assert (await client.post("/oauth/revoke", data={"token": token}, headers=auth)).status_code == 200
    assert (await client.post("/oauth/revoke", data={"token": "garbage"}, headers=auth)).status_code == 200
    missing = await client.post("/oauth/revoke", data={}, headers=auth)
    assert error_of(missing) == "invalid_request"
    unauthenticated = await client.post("/oauth/revoke", data={"token": other})
    assert error_of(unauthenticated) == "invalid_client"


async def test_a_client_cannot_revoke_another_clients_token(
    client: httpx.AsyncClient, session: AsyncSession, registered: Registered, mint: Mint
) -> None:
    foreign = await mint(Audience.LEGISLATIVE)
    auth = {"Authorization": basic(registered.client_id, registered.secret)}
    response = await client.post("/oauth/revoke", data={"token": foreign}, headers=auth)
    assert response.status_code == 400
    assert error_of(response) == "unauthorized_client"
    assert (await graphql(client, foreign, "{ __typename }")).status_code == 200
