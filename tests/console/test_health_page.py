"""The console's *Health* page (in-process): the store, the migrations, the oldest due notification
and the worker's latest delivery attempt, through ``hubHealth``, for the admin unit only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db import head_revision
from hub.worker import Worker, WorkerConfig
from resolvers.models.partners import Audience
from tests.console.conftest import SignIn
from tests.factories.victims import make_notification, make_registration


async def test_admin_sees_the_hubs_health(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    await make_notification(
        session,
        await make_registration(session),
        status="pending",
        attempts=0,
        next_attempt_at=datetime.now(UTC) - timedelta(days=3),
    )
    await sign_in(Audience.ADMIN)
    page = await client.get("/console/health")
    assert page.status_code == 200, page.text
    assert "<h1>Health</h1>" in page.text
    assert 'class="problems"' not in page.text, page.text
    assert "reachable" in page.text
    assert "at head" in page.text
    assert head_revision() in page.text
    # Three days, or longer if a notification committed earlier waits longer.
    assert "none due" not in page.text
    assert "due since" in page.text
    assert "latest delivery attempt" in page.text
    assert "no worker has ever beaten" in page.text


async def test_the_health_page_shows_the_workers_heartbeats(
    client: httpx.AsyncClient, sign_in: SignIn, sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = datetime.now(UTC)
    alive = Worker(sessions, {}, WorkerConfig(heartbeat_s=15.0), clock=lambda: now)
    await alive.beat()
    dead = Worker(sessions, {}, WorkerConfig(heartbeat_s=15.0), clock=lambda: now - timedelta(minutes=10))
    await dead.beat()
    await sign_in(Audience.ADMIN)
    page = await client.get("/console/health")
    assert page.status_code == 200, page.text
    assert "no worker has ever beaten" not in page.text
    assert "1 running" in page.text
    assert "1 stale" in page.text
    assert page.text.count("<strong>stale</strong>") == 1
    assert alive.worker_id[:12] in page.text
    assert dead.worker_id[:12] in page.text

    await alive.stopped()
    page = await client.get("/console/health")
    assert "<strong>none running</strong>" in page.text
    assert "stopped " in page.text


@pytest.mark.parametrize("audience", [Audience.VICTIM_SERVICES, Audience.CONSTITUENT_SERVICES])
async def test_other_units_cannot_open_the_health_page(
    client: httpx.AsyncClient, sign_in: SignIn, audience: Audience
) -> None:
    await sign_in(audience)
    page = await client.get("/console/health")
    assert page.status_code == 403
    assert "is not open to" in page.text
