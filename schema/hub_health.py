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
        "When a notification worker last recorded a delivery attempt: the worker records no heartbeat, "
        "so this is the latest sign of its work, not of its being alive (an idle worker with nothing due "
        "records none). Null when no attempt was ever made.",
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
        )
