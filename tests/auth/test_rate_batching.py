"""Rate counts batched per process (issue 16, item 2): most requests cost no write, a process near a
limit counts exactly, several processes together get past a limit by at most the counts the others
had not yet flushed, and the counts survive a restart (they are in the store)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.principal import Principal
from auth.rate_limits import RateLimited, RateLimiter
from resolvers.models.partners import Audience, Partner, RateWindow
from tests.factories.partners import make_client

NOW = datetime(2030, 1, 1, 12, 0, 5, tzinfo=UTC)
#: Long enough that no flush happens by itself during a test: each test flushes when it means to.
NEVER = 3600.0


def limiter(sessions: async_sessionmaker[AsyncSession], per_minute: int) -> RateLimiter:
    return RateLimiter(
        sessions, requests_per_minute=per_minute, cost_per_minute=0, clock=lambda: NOW, flush_interval_s=NEVER
    )


async def stored(session: AsyncSession, client_pk: int) -> int:
    row = await session.scalar(select(RateWindow.requests).where(RateWindow.client_pk == client_pk))
    return int(row or 0)


async def admitted(rate: RateLimiter, principal: Principal) -> bool:
    try:
        await rate.charge(principal, 1)
    except RateLimited:
        return False
    return True


@pytest.fixture
async def principal(session: AsyncSession, partners: dict[Audience, Partner]) -> Principal:
    client = await make_client(session, partners[Audience.LEGISLATIVE])
    return Principal(Audience.LEGISLATIVE, client_pk=client.id)


async def test_most_requests_cost_no_write(
    sessions: async_sessionmaker[AsyncSession], session: AsyncSession, principal: Principal
) -> None:
    rate = limiter(sessions, per_minute=1000)
    for _ in range(10):
        assert await admitted(rate, principal)
    assert principal.client_pk is not None
    assert await stored(session, principal.client_pk) == 1  # the first, to read the total
    await rate.flush()
    assert await stored(session, principal.client_pk) == 10
    await rate.flush()  # nothing pending: nothing written twice
    assert await stored(session, principal.client_pk) == 10


async def test_near_its_limit_a_process_counts_exactly(
    sessions: async_sessionmaker[AsyncSession], principal: Principal
) -> None:
    rate = limiter(sessions, per_minute=10)
    assert [await admitted(rate, principal) for _ in range(12)] == [True] * 10 + [False] * 2


async def test_processes_together_pass_a_limit_by_at_most_what_others_had_pending(
    sessions: async_sessionmaker[AsyncSession], session: AsyncSession, principal: Principal
) -> None:
    """Two processes alternate requests and flush every 5 of their own (their flush interval)."""
    one, two = limiter(sessions, per_minute=100), limiter(sessions, per_minute=100)
    let_in = 0
    for i in range(1, 151):
        for rate in (one, two):
            let_in += await admitted(rate, principal)
            if i % 5 == 0:
                await rate.flush()
    await one.flush()
    await two.flush()
    # At most one flush interval's worth (5) of the other process's requests past the limit.
    assert 100 <= let_in <= 105
    assert principal.client_pk is not None
    assert await stored(session, principal.client_pk) == 300  # every request counted, refused ones too


async def test_the_counts_survive_a_restart(
    sessions: async_sessionmaker[AsyncSession], principal: Principal
) -> None:
    before = limiter(sessions, per_minute=20)
    for _ in range(15):
        assert await admitted(before, principal)
    await before.flush()  # at shutdown (the app's lifespan does it)
    after = limiter(sessions, per_minute=20)
    assert [await admitted(after, principal) for _ in range(7)] == [True] * 5 + [False] * 2
