"""A token's signature is verified once per process, not on every request (issue 16, item 1); the
cached claims last until the token expires and at most the key cache time; status and revocation
are still read on every request (tests/auth/test_bearer.py cuts off a disabled client's cached token)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette

from auth import tokens
from auth.bearer import AccessTokens
from resolvers.models.partners import Audience
from tests.conftest import GraphQL, Mint


@pytest.fixture
def verifications(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every signature verification of an access token, in order."""
    seen: list[str] = []
    verify = tokens.verify

    def counted(token: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        seen.append(token)
        return verify(token, *args, **kwargs)

    monkeypatch.setattr(tokens, "verify", counted)
    return seen


def _access_tokens(app: Starlette) -> AccessTokens:
    access: AccessTokens = app.state.identity.authenticate.access_tokens
    return access


async def test_a_token_is_verified_once_per_process(
    app: Starlette, gql: GraphQL, mint: Mint, verifications: list[str]
) -> None:
    first = await mint(Audience.LEGISLATIVE)
    for _ in range(3):
        assert (await gql("{ __typename }", token=first)).status_code == 200
    assert verifications == [first]
    second = await mint(Audience.LEGISLATIVE)
    assert (await gql("{ __typename }", token=second)).status_code == 200
    assert verifications == [first, second]


async def test_the_cached_claims_last_at_most_the_key_cache_time(
    app: Starlette, gql: GraphQL, mint: Mint, verifications: list[str]
) -> None:
    access = _access_tokens(app)
    now = [access.clock()]
    access.clock = lambda: now[0]
    token = await mint(Audience.LEGISLATIVE)
    assert (await gql("{ __typename }", token=token)).status_code == 200
    now[0] += access.keys.policy.cache_s - 1
    assert (await gql("{ __typename }", token=token)).status_code == 200
    assert len(verifications) == 1
    now[0] += 2  # past the key cache time: the signature and the key are checked again
    assert (await gql("{ __typename }", token=token)).status_code == 200
    assert len(verifications) == 2


async def test_an_expired_token_is_refused_though_it_was_cached(
    app: Starlette, gql: GraphQL, mint: Mint, verifications: list[str]
) -> None:
    access = _access_tokens(app)
    token = await mint(Audience.LEGISLATIVE)
    assert (await gql("{ __typename }", token=token)).status_code == 200
    expires = float((await access.claims(token))["exp"])
    assert len(verifications) == 1
    access.clock = lambda: expires + tokens.LEEWAY_S + 1
    refused = await gql("{ __typename }", token=token)
    assert refused.status_code == 401
    assert "expired" in refused.headers["www-authenticate"]
    assert len(verifications) == 2  # the cache did not answer for it
