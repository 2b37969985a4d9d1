"""Partners and clients for tests. Clients made here have no secret unless asked: tests mint their
tokens through the token service; the token-endpoint tests ask for a real secret."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth.clients import DEFAULT_SCOPES, add_client
from resolvers.models.partners import Audience, Client, ClientStatus, Partner

_seq = itertools.count(1)


async def make_partner(
    session: AsyncSession, audience: Audience = Audience.LEGISLATIVE, **overrides: Any
) -> Partner:
    n = next(_seq)
    values: dict[str, Any] = {"name": f"Test {audience.value} partner {n}", "audience": audience.value}
    values.update(overrides)
    partner = Partner(**values)
    session.add(partner)
    await session.flush()
    return partner


async def make_client(session: AsyncSession, partner: Partner, **overrides: Any) -> Client:
    """A client row without a secret (fast: no argon2 hash)."""
    n = next(_seq)
    values: dict[str, Any] = {
        "client_id": f"test-{partner.audience.replace('_', '-')}-{n}",
        "partner_id": partner.id,
        "name": f"Test client {n}",
        "status": ClientStatus.ACTIVE,
        "scopes": DEFAULT_SCOPES,
        "failed_attempts": 0,
    }
    values.update(overrides)
    client = Client(**values)
    session.add(client)
    await session.flush()
    return client


async def make_client_with_secret(
    session: AsyncSession, partner: Partner, **overrides: Any
) -> tuple[Client, str]:
    """A client registered through the registry, with its one-time secret (under the store's pepper)."""
    new = await add_client(session, partner, **({"pepper": None} | overrides))
    assert new.secret is not None
    return new.client, new.secret
