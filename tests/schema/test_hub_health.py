"""``hubHealth`` through the API: the store, its migration, the oldest due notification and the
latest delivery attempt, for the admin audience only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.db import head_revision
from hub.worker import PassReport, Worker, WorkerConfig
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


WORKERS = """
query {
  hubHealth {
    workers { workerId host pid startedAt beatAt beatAgeS intervalS passes lastWorkAt lastWork stoppedAt stale }
  }
}"""


async def _workers(gql: GraphQL) -> dict[str, dict[str, object]]:
    body = (await gql(WORKERS, {})).json()
    assert "errors" not in body, body
    return {w["workerId"]: w for w in body["data"]["hubHealth"]["workers"]}


async def test_no_worker_has_beaten_in_an_empty_store(gql: GraphQL) -> None:
    assert await _workers(gql) == {}


async def test_a_workers_beat_shows_and_turns_stale_after_three_intervals(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession]
) -> None:
    moment = [datetime.now(UTC)]
    worker = Worker(sessions, {}, WorkerConfig(heartbeat_s=15.0), clock=lambda: moment[0])
    await worker.beat()
    seen = (await _workers(gql))[worker.worker_id]
    assert seen["stale"] is False
    assert seen["stoppedAt"] is None
    assert seen["lastWork"] is None
    assert seen["intervalS"] == 15.0
    assert datetime.fromisoformat(str(seen["beatAt"])) == moment[0]
    assert datetime.fromisoformat(str(seen["startedAt"])) == moment[0]

    # The worker's clock is set back instead of the API's forward: its latest beat was 25 s ago,
    # within three intervals (45 s); a pass that found work is recorded with the beat.
    moment[0] -= timedelta(seconds=25)
    await worker.beat(PassReport(claimed=2, delivered=1, failed=1, retrying=1))
    seen = (await _workers(gql))[worker.worker_id]
    assert seen["stale"] is False
    assert seen["lastWork"] == "claimed 2: delivered 1, retries scheduled 1, gave up on 0"
    assert float(str(seen["beatAgeS"])) >= 25

    # No beat for 70 s: more than three intervals, and it is stale.
    moment[0] -= timedelta(seconds=45)
    await worker.beat()
    seen = (await _workers(gql))[worker.worker_id]
    assert seen["stale"] is True

    # A clean shutdown is not stale: it stopped.
    await worker.stopped()
    seen = (await _workers(gql))[worker.worker_id]
    assert seen["stale"] is False
    assert datetime.fromisoformat(str(seen["stoppedAt"])) == moment[0]
