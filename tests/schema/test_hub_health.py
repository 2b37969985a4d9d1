"""``hubHealth`` through the API: the store, its migration, the oldest due notification and the
latest delivery attempt, for the admin audience only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db import head_revision
from resolvers.models.partners import Audience
from tests.conftest import GraphQL
from tests.factories.victims import make_attempt, make_notification, make_registration

HEALTH = """
query {
  hubHealth {
    checkedAt storeDialect storeRoundTripMs migrationRevision migrationHead migrationCurrent
    oldestDueSince oldestDueAgeS lastDeliveryAttemptAt
  }
}"""


async def test_admin_sees_the_store_migration_queue_and_worker(gql: GraphQL, session: AsyncSession) -> None:
    registration = await make_registration(session)
    waiting_since = datetime.now(UTC) - timedelta(hours=2)
    due = await make_notification(
        session, registration, status="pending", attempts=0, next_attempt_at=waiting_since
    )
    await make_notification(
        session,
        registration,
        status="pending",
        attempts=0,
        next_attempt_at=datetime.now(UTC) + timedelta(days=1),
    )
    attempted = datetime.now(UTC) + timedelta(minutes=5)  # later than any attempt already in the store
    await make_attempt(session, due, attempted_at=attempted, outcome="temporary_failure")
    body = (await gql(HEALTH, {})).json()
    assert "errors" not in body, body
    health = body["data"]["hubHealth"]
    assert health["storeDialect"] in ("postgresql", "sqlite")
    assert health["storeRoundTripMs"] >= 0
    assert health["migrationHead"] == head_revision()
    assert health["migrationRevision"] == head_revision()
    assert health["migrationCurrent"] is True
    # The two-hour wait (or an older one already in the store) is the oldest; tomorrow's is not due.
    assert datetime.fromisoformat(health["oldestDueSince"]) <= waiting_since
    assert health["oldestDueAgeS"] >= 2 * 3600 - 5
    assert datetime.fromisoformat(health["lastDeliveryAttemptAt"]) == attempted


@pytest.mark.parametrize("audience", [Audience.VICTIM_SERVICES, Audience.LEGISLATIVE, Audience.RESEARCH_UNIT])
async def test_no_other_audience_sees_the_health(gql: GraphQL, audience: Audience) -> None:
    body = (await gql(HEALTH, {}, audience=audience)).json()
    assert "data" not in body, body
    assert body["errors"]
