"""``POST /oauth/token``: credentials → token → query for each client authentication method, and
every way a token request can be wrong, with the RFC 6749 / RFC 7523 error it gets."""

from __future__ import annotations

import json

import httpx
import pytest
from joserfc import jwk
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import tokens
from auth.client_auth import ASSERTION_TYPE, assertion_claims
from auth.tokens import ACCESS_TOKEN_TYPE
from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience
from tests.auth.conftest import TOKEN_URL, Registered, basic, error_of, graphql, request_token
from tests.factories.partners import make_client, make_partner

GRANT = {"grant_type": "client_credentials"}


async def _assert_token_works(
    client: httpx.AsyncClient, response: httpx.Response, registered: Registered
) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == "graphql"
    peeked = tokens.peek(body["access_token"])
    assert peeked.header["typ"] == ACCESS_TOKEN_TYPE
    claims = peeked.claims
    assert claims["iss"] == "http://hub.test"
    assert claims["aud"] == "http://hub.test/graphql"
    assert claims["sub"] == claims["client_id"] == registered.client_id
    assert claims["partner_id"] == registered.partner.id
    assert claims["hub_audience"] == "reentry"
    assert claims["exp"] - claims["iat"] == 900
    assert len(claims["jti"]) == 32
    query = await graphql(client, body["access_token"], "{ __typename }")
    assert query.status_code == 200, query.text
    assert query.json()["data"] == {"__typename": "Query"}


async def test_http_basic_flow(client: httpx.AsyncClient, registered: Registered) -> None:
    response = await request_token(
        client, GRANT, {"Authorization": basic(registered.client_id, registered.secret)}
    )
    await _assert_token_works(client, response, registered)


async def test_form_post_flow(client: httpx.AsyncClient, registered: Registered) -> None:
    response = await request_token(
        client, {**GRANT, "client_id": registered.client_id, "client_secret": registered.secret}
    )
    await _assert_token_works(client, response, registered)


async def test_private_key_jwt_flow(
    client: httpx.AsyncClient, session: AsyncSession, registered: Registered
) -> None:
    key = jwk.ECKey.generate_key("P-256")
    registered.client.public_jwk = json.dumps(key.as_dict(private=False))
    await session.flush()
    assertion = tokens.sign_with(assertion_claims(registered.client_id, TOKEN_URL), key, "ES256")
    data = {**GRANT, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    response = await request_token(client, data)
    await _assert_token_works(client, response, registered)
    # One assertion buys one token.
    replay = await request_token(client, data)
    assert replay.status_code == 401
    assert error_of(replay) == "invalid_client"
    assert "already used" in replay.json()["error_description"]


async def test_private_key_jwt_refusals(
    client: httpx.AsyncClient, session: AsyncSession, registered: Registered
) -> None:
    key = jwk.RSAKey.generate_key(2048)
    registered.client.public_jwk = json.dumps(key.as_dict(private=False))
    await session.flush()
    other = jwk.RSAKey.generate_key(2048)
    cases = {
        "signature": tokens.sign_with(assertion_claims(registered.client_id, TOKEN_URL), other, "RS256"),
        "another audience": tokens.sign_with(
            assertion_claims(registered.client_id, "https://elsewhere"), key, "RS256"
        ),
        "expired": tokens.sign_with(
            assertion_claims(registered.client_id, TOKEN_URL, lifetime_s=-120), key, "RS256"
        ),
        "at most": tokens.sign_with(
            assertion_claims(registered.client_id, TOKEN_URL, lifetime_s=3600), key, "RS256"
        ),
    }
    for expected, assertion in cases.items():
        response = await request_token(
            client, {**GRANT, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
        )
        assert response.status_code == 401, expected
        assert error_of(response) == "invalid_client"
        assert expected in response.json()["error_description"], (expected, response.text)


async def test_oversized_assertion(client: httpx.AsyncClient, registered: Registered) -> None:
    response = await request_token(
        client, {**GRANT, "client_assertion_type": ASSERTION_TYPE, "client_assertion": "a" * 9000}
    )
    assert response.status_code == 401
    assert error_of(response) == "invalid_client"
    assert "over 8192 characters" in response.json()["error_description"]


async def test_wrong_assertion_type_and_malformed_assertion(client: httpx.AsyncClient) -> None:
    wrong_type = await request_token(
        client, {**GRANT, "client_assertion_type": "saml", "client_assertion": "x.y.z"}
    )
    assert error_of(wrong_type) == "invalid_client"
    malformed = await request_token(
        client, {**GRANT, "client_assertion_type": ASSERTION_TYPE, "client_assertion": "not-a-jwt"}
    )
    assert malformed.status_code == 401
    assert error_of(malformed) == "invalid_client"


async def test_unknown_and_missing_grant_type(client: httpx.AsyncClient, registered: Registered) -> None:
    auth = {"Authorization": basic(registered.client_id, registered.secret)}
    unknown = await request_token(client, {"grant_type": "password"}, auth)
    assert unknown.status_code == 400
    assert error_of(unknown) == "unsupported_grant_type"
    missing = await request_token(client, {}, auth)
    assert missing.status_code == 400
    assert error_of(missing) == "invalid_request"


async def test_wrong_secret_and_unknown_client(client: httpx.AsyncClient, registered: Registered) -> None:
    wrong = await request_token(client, GRANT, {"Authorization": basic(registered.client_id, "nope")})
    unknown = await request_token(client, GRANT, {"Authorization": basic("no-such-client", "nope")})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic")
        assert response.json() == {
            "error": "invalid_client",
            "error_description": "client authentication failed",
        }


async def test_unknown_client_costs_as_much_as_a_wrong_secret(
    client: httpx.AsyncClient, registered: Registered, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unknown id does the same hashing work as a known one with a wrong secret (one HMAC, one
    constant-time comparison), so the answer's timing does not tell which ids exist. Counted, not
    timed: an HMAC takes microseconds, far below a loaded machine's noise."""
    import hmac

    from auth import clients

    work: list[str] = []
    digest, compare = clients._digest, hmac.compare_digest

    def counted_digest(pepper: bytes, secret: str) -> str:
        work.append("hmac")
        return digest(pepper, secret)

    def counted_compare(a: str, b: str) -> bool:
        work.append("compare")
        return compare(a, b)

    clients._dummy_expected()  # computed once per process, before any request
    monkeypatch.setattr(clients, "_digest", counted_digest)
    monkeypatch.setattr(hmac, "compare_digest", counted_compare)

    async def hashing_work(client_id: str) -> list[str]:
        work.clear()
        response = await request_token(client, GRANT, {"Authorization": basic(client_id, "wrong")})
        assert response.status_code == 401
        return list(work)

    assert await hashing_work(registered.client_id) == ["hmac", "compare"]
    assert await hashing_work("unknown-client-1") == ["hmac", "compare"]


async def test_request_shape_errors(client: httpx.AsyncClient, registered: Registered) -> None:
    auth = basic(registered.client_id, registered.secret)
    duplicated = await client.post(
        "/oauth/token", data=GRANT, headers=[("Authorization", auth), ("Authorization", auth)]
    )
    assert duplicated.status_code == 400
    assert error_of(duplicated) == "invalid_request"

    two_methods = await request_token(
        client,
        {**GRANT, "client_id": registered.client_id, "client_secret": registered.secret},
        {"Authorization": auth},
    )
    assert error_of(two_methods) == "invalid_request"

    repeated = await client.post(
        "/oauth/token",
        content=b"grant_type=client_credentials&grant_type=client_credentials",
        headers={"Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert error_of(repeated) == "invalid_request"
    assert "repeated" in repeated.json()["error_description"]

    as_json = await client.post("/oauth/token", json=GRANT, headers={"Authorization": auth})
    assert error_of(as_json) == "invalid_request"

    no_credentials = await request_token(client, GRANT)
    assert no_credentials.status_code == 401
    assert error_of(no_credentials) == "invalid_client"

    bearer_scheme = await request_token(client, GRANT, {"Authorization": "Bearer abc"})
    assert error_of(bearer_scheme) == "invalid_client"

    garbage = await request_token(client, GRANT, {"Authorization": "Basic !!!"})
    assert error_of(garbage) == "invalid_client"


async def test_scope_must_be_allowed(client: httpx.AsyncClient, registered: Registered) -> None:
    auth = {"Authorization": basic(registered.client_id, registered.secret)}
    refused = await request_token(client, {**GRANT, "scope": "graphql admin"}, auth)
    assert refused.status_code == 400
    assert error_of(refused) == "invalid_scope"
    granted = await request_token(client, {**GRANT, "scope": "graphql"}, auth)
    assert granted.json()["scope"] == "graphql"


async def test_issuance_and_failures_are_audited(
    client: httpx.AsyncClient, session: AsyncSession, registered: Registered
) -> None:
    await request_token(client, GRANT, {"Authorization": basic(registered.client_id, registered.secret)})
    await request_token(client, GRANT, {"Authorization": basic(registered.client_id, "wrong")})
    rows = (
        await session.execute(
            select(AuditEvent.kind, AuditEvent.outcome).where(AuditEvent.client_id == registered.client_id)
        )
    ).all()
    kinds = [tuple(r) for r in rows]
    assert ("client.added", "served") in kinds
    assert ("token.issued", "served") in kinds
    assert ("auth.failed", "denied") in kinds


async def test_a_client_without_a_secret_cannot_use_one(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    partner = await make_partner(session, Audience.RESEARCHER)
    keyless = await make_client(session, partner)
    response = await request_token(client, GRANT, {"Authorization": basic(keyless.client_id, "")})
    assert error_of(response) == "invalid_client"


async def test_metadata_and_jwks(client: httpx.AsyncClient) -> None:
    metadata = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["issuer"] == "http://hub.test"
    assert metadata["token_endpoint"] == TOKEN_URL
    assert metadata["jwks_uri"] == "http://hub.test/.well-known/jwks.json"
    assert metadata["revocation_endpoint"] == "http://hub.test/oauth/revoke"
    assert metadata["grant_types_supported"] == ["client_credentials"]
    assert set(metadata["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    }
    keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
    assert keys
    for key in keys:
        assert {"kid", "kty", "alg", "use"} <= key.keys()
        assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys(), "a private key member was published"
