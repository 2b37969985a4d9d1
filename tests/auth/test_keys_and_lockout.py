"""Key rotation (old tokens keep verifying, expired keys are refused) and secret rotation. Failed
authentications are throttled, never locked: tests/auth/test_throttle.py."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import httpx
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import clients as registry
from auth import keys, tokens
from resolvers.models.ledger import AuditEvent
from resolvers.models.signing_keys import SigningKey
from tests.auth.conftest import AppWith, Registered, basic, error_of, graphql

GRANT = {"grant_type": "client_credentials"}


async def _token(http: httpx.AsyncClient, registered: Registered) -> str:
    response = await http.post(
        "/oauth/token", data=GRANT, headers={"Authorization": basic(registered.client_id, registered.secret)}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def test_rotation_keeps_old_tokens_valid_and_refuses_expired_keys(
    app_with: AppWith, session: AsyncSession, registered: Registered
) -> None:
    async with app_with(key_cache_s=0) as (_app, http):
        old_token = await _token(http, registered)
        old_kid = tokens.peek(old_token).kid

        new, retired = await keys.rotate(session, keys.KeyPolicy())
        await session.flush()
        assert old_kid in {k.kid for k in retired}
        retired_row = await session.get(SigningKey, old_kid)
        assert retired_row is not None
        assert retired_row.expires_at is not None
        assert retired_row.expires_at > datetime.now(UTC) + timedelta(minutes=15)

        new_token = await _token(http, registered)
        assert tokens.peek(new_token).kid == new.kid
        published = {k["kid"] for k in (await http.get("/.well-known/jwks.json")).json()["keys"]}
        assert {old_kid, new.kid} <= published
        assert (await graphql(http, old_token, "{ __typename }")).status_code == 200
        assert (await graphql(http, new_token, "{ __typename }")).status_code == 200

        # Once the old key has expired it verifies nothing and is no longer published.
        retired_row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        await session.flush()
        refused = await graphql(http, old_token, "{ __typename }")
        assert refused.status_code == 401
        assert "unknown or expired" in refused.json()["errors"][0]["message"]
        published = {k["kid"] for k in (await http.get("/.well-known/jwks.json")).json()["keys"]}
        assert old_kid not in published
        assert (await graphql(http, new_token, "{ __typename }")).status_code == 200
        kinds = set(await session.scalars(select(AuditEvent.kind).where(AuditEvent.kind.like("key.%"))))
        assert "key.rotated" in kinds


async def test_es256_keys_and_encryption_at_rest(
    app_with: AppWith, session: AsyncSession, registered: Registered
) -> None:
    policy = keys.KeyPolicy(alg="ES256", passphrase="correct horse")
    new, _ = await keys.rotate(session, policy)
    await session.flush()
    assert new.private_pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    async with app_with(key_cache_s=0, signing_alg="ES256", key_passphrase=SecretStr("correct horse")) as (
        _app,
        http,
    ):
        token = await _token(http, registered)
        assert tokens.peek(token).header["alg"] == "ES256"
        assert (await graphql(http, token, "{ __typename }")).status_code == 200


async def test_secret_rotation(
    client: httpx.AsyncClient, session: AsyncSession, registered: Registered
) -> None:
    old_token = await _token(client, registered)
    rotated = await registry.rotate_secret(session, registered.client_id, pepper=None)
    await session.flush()
    assert rotated.secret
    assert rotated.secret != registered.secret
    old = await client.post(
        "/oauth/token", data=GRANT, headers={"Authorization": basic(registered.client_id, registered.secret)}
    )
    assert error_of(old) == "invalid_client"
    new = await client.post(
        "/oauth/token", data=GRANT, headers={"Authorization": basic(registered.client_id, rotated.secret)}
    )
    assert new.status_code == 200
    # Tokens issued before the rotation run out on their own.
    assert (await graphql(client, old_token, "{ __typename }")).status_code == 200


async def test_the_audit_chain_links_each_event_to_the_previous(
    session: AsyncSession, registered: Registered
) -> None:
    from auth.audit import chain_hash

    events = list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(3)))
    assert events
    for event in events:
        assert event.hash == chain_hash(event.prev_hash, event)
    for later, earlier in itertools.pairwise(events):
        assert later.prev_hash == earlier.hash
