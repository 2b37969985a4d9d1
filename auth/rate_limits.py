"""Rate limits per client: requests and total operation cost per minute, shared by every hub process.

The count lives in the store (``rate_windows``), one row per client and minute, so any number of hub
processes behind a load balancer enforce one limit, and it survives restarts. Counts reach it through
an atomic upsert (``INSERT … ON CONFLICT DO UPDATE … RETURNING``, on PostgreSQL and SQLite alike) in
a short transaction of its own, committed at once: the count must not wait for, or roll back with,
the operation it admits. Every request counts, a refused one too (a fixed window: a client over its
limit waits for the next minute, which ``Retry-After`` names).

With ``HUB_RATE_FLUSH_MS`` above 0 (the default, 200) a process does not write every request: it
keeps its own pending counts and adds them to the store in one transaction per flush interval,
checking each request against the store's total as last read plus its pending counts. A client's
first request of a minute in a process, and every request once the estimate passes 80% of a limit,
is written at once and reads the exact total back, so a process near a limit counts exactly. What a
client can get past a limit is bounded by the other processes' pending counts: at most one flush
interval's worth of its requests per other process. With 0 every request is written at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.audit import record_event
from auth.principal import Principal
from auth.refusals import Refusal
from resolvers.models.partners import Client, RateWindow

log = logging.getLogger("hub.rate_limits")

WINDOW = timedelta(minutes=1)
RATE_LIMITED = "RATE_LIMITED"


class RateLimited(Refusal):
    """Answered 429 with ``Retry-After``: the seconds left in the current window."""

    def __init__(self, limit: str, value: int, retry_after: int) -> None:
        super().__init__(
            429,
            RATE_LIMITED,
            f"rate limit reached: {value:,} {limit}; retry after {retry_after} s, when the next minute starts",
            {"Retry-After": str(retry_after)},
        )
        self.limit = limit
        self.value = value
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Spent:
    """What the client has spent in the current window, this request included."""

    window_start: datetime
    requests: int
    cost: int


def window_of(now: datetime) -> datetime:
    return now.replace(second=0, microsecond=0)


async def spend(
    session: AsyncSession, client_pk: int, cost: int, now: datetime, *, requests: int = 1
) -> Spent:
    """Add ``requests`` and ``cost`` to the client's window of ``now``, atomically; the totals after."""
    start = window_of(now)
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = insert(RateWindow).values(client_pk=client_pk, window_start=start, requests=requests, cost=cost)
    stmt = values.on_conflict_do_update(
        index_elements=[RateWindow.client_pk, RateWindow.window_start],
        set_={
            "requests": RateWindow.requests + values.excluded.requests,
            "cost": RateWindow.cost + values.excluded.cost,
        },
    ).returning(RateWindow.requests, RateWindow.cost)
    total_requests, total = (await session.execute(stmt)).one()
    if total_requests == requests:
        # The client's first request of a minute clears its earlier windows: at most one delete per
        # client per minute, and the table holds about one row per active client.
        await session.execute(
            delete(RateWindow).where(RateWindow.client_pk == client_pk, RateWindow.window_start < start)
        )
    return Spent(start, int(total_requests), int(total))


@dataclass(slots=True)
class _Window:
    """One client's current window as this process sees it."""

    start: datetime
    #: The store's totals as last read (every process's flushed counts, this one's included).
    shared_requests: int = 0
    shared_cost: int = 0
    #: Counted here and not yet in the store.
    pending_requests: int = 0
    pending_cost: int = 0
    #: Whether ``shared_*`` were read in this window.
    known: bool = False


#: Past this share of a limit every request is written and the exact total read back.
EXACT_FROM = 0.8


@dataclass
class RateLimiter:
    """Charges each request of a partner client to its window; refuses past either limit."""

    sessions: async_sessionmaker[AsyncSession]
    #: Defaults for clients without their own limits; 0 means no limit.
    requests_per_minute: int
    cost_per_minute: int
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    #: Seconds between flushes of pending counts (``HUB_RATE_FLUSH_MS``); 0: every request is written.
    flush_interval_s: float = 0.0
    _windows: dict[int, _Window] = field(default_factory=dict, repr=False)
    _flusher: asyncio.Task[None] | None = field(default=None, repr=False)
    #: Windows of minutes that are over whose counts are still to be written.
    _stale: list[tuple[int, _Window]] = field(default_factory=list, repr=False)

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
        spent = await self._count(principal.client_pk, cost, now, per_minute, cost_per_minute)
        retry_after = max(1, math.ceil((spent.window_start + WINDOW - now).total_seconds()))
        if per_minute and spent.requests > per_minute:
            raise RateLimited("requests per minute", per_minute, retry_after)
        if cost_per_minute and spent.cost > cost_per_minute:
            raise RateLimited("cost per minute", cost_per_minute, retry_after)
        return spent

    async def _count(
        self, client_pk: int, cost: int, now: datetime, per_minute: int, cost_per_minute: int
    ) -> Spent:
        start = window_of(now)
        window = self._windows.get(client_pk)
        if window is None or window.start != start:
            if window is not None and window.pending_requests:
                # The minute is over: its counts limit nothing now, but the store's row stays true.
                self._schedule_flush_of(client_pk, window)
            window = self._windows[client_pk] = _Window(start)
        requests = window.shared_requests + window.pending_requests + 1
        total = window.shared_cost + window.pending_cost + cost
        near = (per_minute and requests > per_minute * EXACT_FROM) or (
            cost_per_minute and total > cost_per_minute * EXACT_FROM
        )
        if self.flush_interval_s > 0 and window.known and not near:
            window.pending_requests += 1
            window.pending_cost += cost
            self._schedule_flush()
            return Spent(start, requests, total)
        # Written at once, with whatever this process had pending, and the exact total read back.
        add_requests, add_cost = window.pending_requests + 1, window.pending_cost + cost
        window.pending_requests = window.pending_cost = 0
        async with self.sessions() as session:
            spent = await spend(session, client_pk, add_cost, now, requests=add_requests)
            await session.commit()
        window.shared_requests, window.shared_cost, window.known = spent.requests, spent.cost, True
        return spent

    def _schedule_flush(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_later())

    def _schedule_flush_of(self, client_pk: int, window: _Window) -> None:
        self._stale.append((client_pk, window))
        self._schedule_flush()

    async def _flush_later(self) -> None:
        await asyncio.sleep(self.flush_interval_s)
        try:
            await self.flush()
        except Exception as exc:  # noqa: BLE001 - the counts stay pending; the next flush retries
            log.warning("rate counts could not be written yet: %s", type(exc).__name__)
            if self._has_pending():
                self._schedule_flush()

    def _has_pending(self) -> bool:
        return bool(self._stale) or any(w.pending_requests for w in self._windows.values())

    async def flush(self) -> None:
        """Write every pending count to the store in one transaction (also at shutdown)."""
        batch = [(pk, w) for pk, w in self._stale if w.pending_requests]
        self._stale.clear()
        batch += [(pk, w) for pk, w in self._windows.items() if w.pending_requests]
        if not batch:
            return
        taken = [(pk, w, w.pending_requests, w.pending_cost) for pk, w in batch]
        for _, w, _, _ in taken:
            w.pending_requests = w.pending_cost = 0
        try:
            async with self.sessions() as session:
                results = [
                    (w, await spend(session, pk, cost, w.start, requests=requests))
                    for pk, w, requests, cost in taken
                ]
                await session.commit()
        except BaseException:
            for _, w, requests, cost in taken:  # put back: written by a later flush
                w.pending_requests += requests
                w.pending_cost += cost
            raise
        for w, spent in results:
            # The store's total now holds this process's flushed counts (and every other process's);
            # counts taken since stay pending. Totals only grow within a window: keep the newest read.
            w.shared_requests = max(w.shared_requests, spent.requests)
            w.shared_cost = max(w.shared_cost, spent.cost)
            w.known = True


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
