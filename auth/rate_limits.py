"""Rate limits per client: requests and total operation cost per minute, shared by every hub process.

The count lives in the store (``rate_windows``), one row per client and minute, so any number of hub
processes behind a load balancer enforce one limit. Each request adds itself with one atomic upsert
(``INSERT … ON CONFLICT DO UPDATE … RETURNING``, on PostgreSQL and SQLite alike) in a short
transaction of its own, committed at once: the count must not wait for, or roll back with, the
operation it admits. Every request counts, a refused one too (a fixed window: a client over its
limit waits for the next minute, which ``Retry-After`` names).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.audit import record_event
from auth.principal import Principal
from resolvers.models.partners import Client, RateWindow

WINDOW = timedelta(minutes=1)
RATE_LIMITED = "RATE_LIMITED"


class RateLimited(Exception):
    """Answered 429 with ``Retry-After``: the seconds left in the current window."""

    code = RATE_LIMITED

    def __init__(self, limit: str, value: int, retry_after: int) -> None:
        self.limit = limit
        self.value = value
        self.retry_after = retry_after
        self.message = (
            f"rate limit reached: {value:,} {limit}; retry after {retry_after} s, when the next minute starts"
        )
        super().__init__(self.message)


@dataclass(frozen=True, slots=True)
class Spent:
    """What the client has spent in the current window, this request included."""

    window_start: datetime
    requests: int
    cost: int


def window_of(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


async def spend(session: AsyncSession, client_pk: int, cost: int, now: datetime) -> Spent:
    """Add one request and ``cost`` to the client's current window, atomically; the totals after it."""
    start = window_of(now)
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = insert(RateWindow).values(client_pk=client_pk, window_start=start, requests=1, cost=cost)
    stmt = values.on_conflict_do_update(
        index_elements=[RateWindow.client_pk, RateWindow.window_start],
        set_={
            "requests": RateWindow.requests + 1,
            "cost": RateWindow.cost + values.excluded.cost,
        },
    ).returning(RateWindow.requests, RateWindow.cost)
    requests, total = (await session.execute(stmt)).one()
    if requests == 1:
        # The client's first request of a minute clears its earlier windows: at most one delete per
        # client per minute, and the table holds about one row per active client.
        await session.execute(
            delete(RateWindow).where(RateWindow.client_pk == client_pk, RateWindow.window_start < start)
        )
    return Spent(start, int(requests), int(total))


@dataclass
class RateLimiter:
    """Charges each request of a partner client to its window; refuses past either limit."""

    sessions: async_sessionmaker[AsyncSession]
    #: Defaults for clients without their own limits; 0 means no limit.
    requests_per_minute: int
    cost_per_minute: int
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def limits_of(self, principal: Principal) -> tuple[int, int]:
        requests = principal.requests_per_minute
        cost = principal.cost_per_minute
        return (
            self.requests_per_minute if requests is None else requests,
            self.cost_per_minute if cost is None else cost,
        )

    async def charge(self, principal: Principal, cost: int) -> Spent | None:
        """Count the request; raise ``RateLimited`` when it is past a limit. Staff are not limited."""
        if principal.client_pk is None:
            return None
        per_minute, cost_per_minute = self.limits_of(principal)
        if per_minute == 0 and cost_per_minute == 0:
            return None
        now = self.clock()
        async with self.sessions() as session:
            spent = await spend(session, principal.client_pk, cost, now)
            await session.commit()
        retry_after = max(1, math.ceil((spent.window_start + WINDOW - now).total_seconds()))
        if per_minute and spent.requests > per_minute:
            raise RateLimited("requests per minute", per_minute, retry_after)
        if cost_per_minute and spent.cost > cost_per_minute:
            raise RateLimited("cost per minute", cost_per_minute, retry_after)
        return spent


async def set_client_limits(
    session: AsyncSession, client: Client, requests_per_minute: int | None, cost_per_minute: int | None
) -> None:
    """A client's own limits (None: the hub's defaults); recorded in the ledger."""
    client.requests_per_minute = requests_per_minute
    client.cost_per_minute = cost_per_minute
    client.updated_at = datetime.now(UTC)
    client.version += 1
    await session.flush()
    await record_event(
        session,
        kind="client.rate_limits",
        partner_id=client.partner_id,
        client_id=client.client_id,
        detail={"requests_per_minute": requests_per_minute, "cost_per_minute": cost_per_minute},
    )
