"""Rate limits per client: requests and cost per minute, counted in the store and so shared by every
hub process, answered 429 with ``Retry-After`` and a code that names the limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from auth.principal import Principal
from auth.rate_limits import RateLimited, RateLimiter
from hub.app import create_app
from hub.settings import Settings
from resolvers.models.partners import Audience, Partner, RateWindow
from tests.conftest import Mint
from tests.factories.partners import make_client

Hub = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]

# facilities 1 + 5 x (nodes 1 + name 1 + id 1) = 16
QUERY = "{ facilities(first: 5) { nodes { name id } } }"


async def clear_of_the_minute_boundary(margin_s: float = 20.0) -> None:
    """Windows are calendar minutes of the real clock: a test whose requests straddle the turn of a
    minute would see its count start over (a slow, loaded machine made that happen in CI). Start a
    test that counts early enough in a minute to finish inside it."""
    now = datetime.now(UTC)
    left = 60 - now.second - now.microsecond / 1_000_000
    if left < margin_s:
        await asyncio.sleep(left + 0.05)


@pytest.fixture
def hub(settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]) -> Hub:
    @asynccontextmanager
    async def build(**changes: Any) -> AsyncIterator[httpx.AsyncClient]:
        await clear_of_the_minute_boundary()
        changed = Settings.model_validate({**settings.model_dump(), **changes})
        app = create_app(changed, engine=engine, sessions=sessions)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as c:
            yield c

    return build


async def post(client: httpx.AsyncClient, token: str, query: str = QUERY) -> httpx.Response:
    return await client.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"})


def assert_limited(response: httpx.Response, named: str) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 60
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]
    assert named in error["message"]


async def test_requests_per_minute_at_the_edge(
    hub: Hub, mint: Mint, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    partner = partners[Audience.LEGISLATIVE]
    client = await make_client(session, partner, requests_per_minute=3)
    token = await mint(client=client, partner=partner)
    async with hub() as http:
        for _ in range(3):
            assert (await post(http, token)).status_code == 200
        assert_limited(await post(http, token), "3 requests per minute")


async def test_cost_per_minute_at_the_edge(
    hub: Hub, mint: Mint, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    partner = partners[Audience.LEGISLATIVE]
    client = await make_client(session, partner, cost_per_minute=32)
    token = await mint(client=client, partner=partner)
    async with hub() as http:
        assert (await post(http, token)).json()["extensions"]["cost"] == 16
        assert (await post(http, token)).status_code == 200  # 32: at the limit
        assert_limited(await post(http, token), "32 cost per minute")


async def test_the_defaults_come_from_the_settings_and_zero_is_no_limit(
    hub: Hub, mint: Mint, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    partner = partners[Audience.REENTRY]
    client = await make_client(session, partner)
    token = await mint(client=client, partner=partner)
    async with hub(rate_requests_per_minute=2) as http:
        assert (await post(http, token)).status_code == 200
        assert (await post(http, token)).status_code == 200
        assert_limited(await post(http, token), "2 requests per minute")
    unlimited = await make_client(session, partner, requests_per_minute=0, cost_per_minute=0)
    token = await mint(client=unlimited, partner=partner)
    async with hub(rate_requests_per_minute=2) as http:
        for _ in range(4):
            assert (await post(http, token)).status_code == 200
    rows = await session.scalars(select(RateWindow).where(RateWindow.client_pk == unlimited.id))
    assert list(rows) == []  # an unlimited client costs no write


async def test_the_limit_is_shared_by_every_process(
    hub: Hub, mint: Mint, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    partner = partners[Audience.LEGISLATIVE]
    client = await make_client(session, partner, requests_per_minute=4)
    token = await mint(client=client, partner=partner)
    async with hub() as one, hub() as two:
        assert (await post(one, token)).status_code == 200
        assert (await post(two, token)).status_code == 200
        assert (await post(one, token)).status_code == 200
        assert (await post(two, token)).status_code == 200
        assert_limited(await post(one, token), "4 requests per minute")
        assert_limited(await post(two, token), "4 requests per minute")


async def test_refused_and_invalid_requests_count_but_spend_no_cost(
    hub: Hub, mint: Mint, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    partner = partners[Audience.LEGISLATIVE]
    client = await make_client(session, partner)
    token = await mint(client=client, partner=partner)
    async with hub(max_cost=10) as http:
        invalid = await post(http, token, "{ nope }")
        assert invalid.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        too_costly = await post(http, token)  # costs 16
        assert too_costly.json()["errors"][0]["extensions"]["code"] == "COST_EXCEEDED"
    window = await session.scalar(select(RateWindow).where(RateWindow.client_pk == client.id))
    assert window is not None
    assert (window.requests, window.cost) == (2, 0)


async def test_a_new_minute_starts_over_and_clears_the_old_windows(
    sessions: async_sessionmaker[AsyncSession], session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    client = await make_client(session, partners[Audience.LEGISLATIVE], requests_per_minute=2)
    principal = Principal(Audience.LEGISLATIVE, client_pk=client.id, requests_per_minute=2)
    now = datetime(2030, 1, 1, 12, 0, 50, tzinfo=UTC)
    limiter = RateLimiter(sessions, requests_per_minute=100, cost_per_minute=0, clock=lambda: now)
    await limiter.charge(principal, 1)
    await limiter.charge(principal, 1)
    with pytest.raises(RateLimited) as refused:
        await limiter.charge(principal, 1)
    assert refused.value.retry_after == 10  # seconds to the end of the window
    now += timedelta(minutes=1)
    spent = await limiter.charge(principal, 5)
    assert spent is not None
    assert (spent.requests, spent.cost) == (1, 5)
    windows = await session.scalars(select(RateWindow.window_start).where(RateWindow.client_pk == client.id))
    assert list(windows) == [datetime(2030, 1, 1, 12, 1, tzinfo=UTC)]


async def test_staff_are_not_rate_limited(sessions: async_sessionmaker[AsyncSession]) -> None:
    limiter = RateLimiter(sessions, requests_per_minute=1, cost_per_minute=1)
    staff = Principal(Audience.VICTIM_SERVICES, subject="staff-1")
    for _ in range(3):
        assert await limiter.charge(staff, 100) is None


async def test_the_cost_budget_is_charged_the_cost_of_the_variables_defaults(
    hub: Hub, mint: Mint, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    # `$n: Int = 100` runs 100-row pages: it costs (and is charged) 201, not the 41 of a 20-row page.
    partner = partners[Audience.LEGISLATIVE]
    client = await make_client(session, partner, cost_per_minute=300)
    token = await mint(client=client, partner=partner)
    query = "query($n: Int = 100) { facilities(first: $n) { nodes { name } } }"
    async with hub() as http:
        first = await post(http, token, query)
        assert first.status_code == 200, first.text
        assert first.json()["extensions"]["cost"] == 201
        assert_limited(await post(http, token, query), "300 cost per minute")
    window = await session.scalar(select(RateWindow).where(RateWindow.client_pk == client.id))
    assert window is not None
    assert window.cost == 402
