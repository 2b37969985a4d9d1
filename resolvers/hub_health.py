"""The hub's health for administrators: the store's round trip, its migration against the code's,
the notification queue's oldest due notice, the worker's latest delivery attempt and the workers'
heartbeats.

Read through the API with the request's own session (a query's session may be the read replica's:
then the store measured is the replica). Each worker writes its heartbeat row (``worker_heartbeats``,
hub/worker.py) at least every ``HUB_WORKER_HEARTBEAT_S``; one that did not say it stopped and has not
beaten for ``STALE_BEATS`` of its intervals is stale.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text

from auth.principal import Principal
from resolvers.models.victims import DeliveryAttempt, WorkerHeartbeat
from resolvers.session import RequestDb
from resolvers.victims_delivery_queue import oldest_due_since

#: A running worker is stale after this many of its heartbeat intervals without a beat.
STALE_BEATS = 3
#: The most workers listed (the latest beats first).
MAX_WORKERS = 50


@dataclass(frozen=True, slots=True)
class WorkerBeat:
    worker_id: str
    host: str
    pid: int
    started_at: datetime
    beat_at: datetime
    interval_s: float
    passes: int
    last_work_at: datetime | None
    last_work: str | None
    stopped_at: datetime | None
    #: Running (not stopped) and no beat for more than ``STALE_BEATS`` intervals.
    stale: bool


def is_stale(beat_at: datetime, interval_s: float, stopped: bool, now: datetime) -> bool:
    return not stopped and now - beat_at > timedelta(seconds=STALE_BEATS * interval_s)


async def worker_beats(db: RequestDb, now: datetime) -> list[WorkerBeat]:
    """The workers' heartbeat rows, latest beat first."""
    rows = await db.scalars(
        select(WorkerHeartbeat).order_by(WorkerHeartbeat.beat_at.desc()).limit(MAX_WORKERS)
    )
    return [
        WorkerBeat(
            worker_id=row.worker_id,
            host=row.host,
            pid=row.pid,
            started_at=row.started_at,
            beat_at=row.beat_at,
            interval_s=row.interval_s,
            passes=row.passes,
            last_work_at=row.last_work_at,
            last_work=row.last_work,
            stopped_at=row.stopped_at,
            stale=is_stale(row.beat_at, row.interval_s, row.stopped_at is not None, now),
        )
        for row in rows
    ]


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
    #: The workers' heartbeats, latest first; empty when no worker has beaten (in ``HEARTBEAT_KEPT``).
    workers: list[WorkerBeat]


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
        workers=await worker_beats(db, now),
    )
