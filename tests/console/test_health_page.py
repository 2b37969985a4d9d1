"""The console's *Health* page (in-process): the store, the migrations, the oldest due notification
and the worker's latest delivery attempt, through ``hubHealth``, for the admin unit only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import head_revision
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


@pytest.mark.parametrize("audience", [Audience.VICTIM_SERVICES, Audience.CONSTITUENT_SERVICES])
async def test_other_units_cannot_open_the_health_page(
    client: httpx.AsyncClient, sign_in: SignIn, audience: Audience
) -> None:
    await sign_in(audience)
    page = await client.get("/console/health")
    assert page.status_code == 403
    assert "is not open to" in page.text
