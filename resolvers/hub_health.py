"""The hub's health for administrators: the store's round trip, its migration against the code's,
the notification queue's oldest due notice and the worker's latest delivery attempt.

Read through the API with the request's own session (a query's session may be the read replica's:
then the store measured is the replica). The worker records no heartbeat of its own: its latest
delivery attempt is the sign of life reported, and an idle worker with nothing due makes none.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text

from auth.principal import Principal
from resolvers.models.victims import DeliveryAttempt
from resolvers.session import RequestDb
from resolvers.victims_delivery_queue import oldest_due_since


@dataclass(frozen=True, slots=True)
class Health:
    #: The store's SQL dialect (postgresql or sqlite).
    store_dialect: str
    #: Milliseconds ``SELECT 1`` took from this process.
    store_round_trip_ms: float
    #: The store's migration (``alembic_version``); None when it has none.
    migration_revision: str | None
    #: The newest migration of the code answering (None: not known to the caller).
    migration_head: str | None
    #: Since when the longest-waiting due notification has been due; None when none is due.
    oldest_due_since: datetime | None
    #: When a worker last recorded a delivery attempt; None when none ever did.
    last_delivery_attempt_at: datetime | None


async def hub_health(
    db: RequestDb, principal: Principal | None, now: datetime, migration_head: str | None
) -> Health:
    """The hub's health as this request sees it. ``principal``: the caller through the API."""
    started = time.perf_counter()
    await db.scalar(select(1))
    round_trip_ms = (time.perf_counter() - started) * 1000
    revision = await db.scalar(text("SELECT version_num FROM alembic_version"))
    last_attempt = await db.scalar(select(func.max(DeliveryAttempt.attempted_at)))
    return Health(
        store_dialect=db.session.get_bind().dialect.name,
        store_round_trip_ms=round(round_trip_ms, 2),
        migration_revision=None if revision is None else str(revision),
        migration_head=migration_head,
        oldest_due_since=await oldest_due_since(db, now),
        last_delivery_attempt_at=last_attempt if isinstance(last_attempt, datetime) else None,
    )
