"""The hub's health for administrators (``hubHealth``): what the console's *Health* page shows.

Everything is measured by the request itself, through the API's own session, so a refused or failed
request is itself the answer "the store is not reachable"; see ``resolvers/hub_health.py``.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from auth.classes import FieldClass
from resolvers import hub_health as data
from schema.context import Info
from schema.fields import classified, resolves

L = FieldClass.LEDGER


@strawberry.type(description="A notification worker's heartbeat (`hub worker`).")
class WorkerHeartbeat:
    worker_id: str = classified(L, "The worker's own random id, made when it started.")
    host: str = classified(L, "The host it runs on.")
    pid: int = classified(L, "Its process id on that host.")
    started_at: datetime = classified(L, "When it started.")
    beat_at: datetime = classified(L, "Its latest heartbeat.")
    beat_age_s: float = classified(L, "Seconds since that heartbeat, when this was measured.")
    interval_s: float = classified(L, "Its longest time between two heartbeats (`HUB_WORKER_HEARTBEAT_S`).")
    passes: int = classified(L, "Delivery passes it has run since it started.")
    last_work_at: datetime | None = classified(
        L, "When a pass of it last found work (claimed or handed back notifications); null: never."
    )
    last_work: str | None = classified(L, "What that pass did.")
    stopped_at: datetime | None = classified(
        L, "When it stopped cleanly; null while it runs (or if it died)."
    )
    stale: bool = classified(
        L,
        f"True when it has not stopped and has not beaten for more than {data.STALE_BEATS} of its "
        "intervals: it died, hangs or cannot reach the store.",
    )


@strawberry.type(description="The hub's health as one request measured it.")
class HubHealth:
    checked_at: datetime = classified(L, "When it was measured.")
    store_dialect: str = classified(L, "The store's SQL dialect: postgresql or sqlite.")
    store_round_trip_ms: float = classified(
        L,
        "Milliseconds a `SELECT 1` took from the answering process (the store answered: an unreachable "
        "store fails the request instead).",
    )
    migration_revision: str | None = classified(L, "The store's migration revision; null when it has none.")
    migration_head: str | None = classified(L, "The newest migration of the code answering.")
    migration_current: bool = classified(L, "Whether the store is at the code's newest migration.")
    oldest_due_since: datetime | None = classified(
        L, "Since when the longest-waiting victim notification due to go out has been due; null: none due."
    )
    oldest_due_age_s: float | None = classified(L, "That notification's wait in seconds; null: none due.")
    last_delivery_attempt_at: datetime | None = classified(
        L,
        "When a notification worker last recorded a delivery attempt (its latest work; `workers` says "
        "whether it is alive). Null when no attempt was ever made.",
    )
    workers: list[WorkerHeartbeat] = classified(
        L,
        "The notification workers' heartbeats, the latest first (at most "
        f"{data.MAX_WORKERS}); empty when no worker has written one. A stopped or dead worker's row is "
        "kept for a week.",
    )


@strawberry.type
class Query:
    @resolves(L, "The hub's health: the store, its migration, the notification queue and the worker.")
    async def hub_health(self, info: Info) -> HubHealth:
        ctx = info.context
        health = await data.hub_health(ctx.db, ctx.principal, ctx.now, ctx.migration_head)
        due = health.oldest_due_since
        return HubHealth(
            checked_at=ctx.now,
            store_dialect=health.store_dialect,
            store_round_trip_ms=health.store_round_trip_ms,
            migration_revision=health.migration_revision,
            migration_head=health.migration_head,
            migration_current=health.migration_revision is not None
            and health.migration_revision == health.migration_head,
            oldest_due_since=due,
            oldest_due_age_s=None if due is None else max(0.0, (ctx.now - due).total_seconds()),
            last_delivery_attempt_at=health.last_delivery_attempt_at,
            workers=[
                WorkerHeartbeat(
                    worker_id=w.worker_id,
                    host=w.host,
                    pid=w.pid,
                    started_at=w.started_at,
                    beat_at=w.beat_at,
                    beat_age_s=max(0.0, (ctx.now - w.beat_at).total_seconds()),
                    interval_s=w.interval_s,
                    passes=w.passes,
                    last_work_at=w.last_work_at,
                    last_work=w.last_work,
                    stopped_at=w.stopped_at,
                    stale=w.stale,
                )
                for w in health.workers
            ],
        )
