"""Throttling failed client authentications, so that no one can turn it against a client's owner.

The hub used to lock a client after five failures, and a client id is in every token it was issued:
anyone could lock a partner out. Now failures are counted where they come from:

- per (client id, source address): after ``client_after`` failures (default 5) that client id is
  refused *from that address* for a delay that doubles with each further failure, up to ``max_s``;
- per source address, whatever client ids it tries: after ``address_after`` failures (default 20)
  the address waits the same way;
- for the whole hub, per minute: past ``global_per_minute`` failures, any address that failed in
  its current window waits until the minute is over (a spread-out attack gets one try per address).

A refused request is answered 429 with ``Retry-After`` *before* any expensive work (no secret is
checked, nothing is written), and is not itself counted. A throttle never touches the client: its
tokens keep working, and its owner, from its own address, keeps getting new ones. A key's failures
are forgotten ``forget_s`` after its last one; a success clears its (client id, address) count.

The counts live in the store (``auth_throttles``), so every hub process enforces the same ones.
Failed attempts go to the ledger in aggregate: an event for an address's 1st, 2nd, 4th, 8th, …
failure of its window and whenever a wait starts, each carrying the count since the last one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from auth.audit import lock_ledger, record_event
from auth.refusals import NO_STORE, Form, Refusal
from resolvers.models.partners import AuthThrottle

GLOBAL_KEY = "*"
GLOBAL_WINDOW = timedelta(minutes=1)


def source_address(request: Request) -> str:
    """The address failures are counted against: the caller's, as the request middleware saw it
    behind the trusted proxies (``HUB_TRUSTED_PROXIES``), the same address the ledger records; the
    ASGI peer when no middleware ran (a bare app in tests).

    Behind a reverse proxy that is not listed as trusted, every request comes from the proxy, and one
    attacker would throttle every partner behind it: list the proxies.
    """
    seen = request.scope.get("state", {}).get("source_address")
    host = seen or (request.client.host if request.client is not None and request.client.host else "unknown")
    return str(host)[:64]


def address_key(address: str) -> str:
    return f"a {address}"


def client_key(address: str, client_id: str) -> str:
    return f"c {address} {client_id}"


async def begin_write(session: AsyncSession) -> None:
    """Start ``session``'s write transaction so that it cannot fail later for having read first.

    On SQLite a transaction that reads and then writes fails at once with "database is locked" when
    another connection committed in between; taking the write lock first (the ledger's lock, which
    the transaction needs anyway) makes it wait its turn instead, as ``/graphql`` mutations do.
    PostgreSQL needs nothing: rows are locked as they are written.
    """
    if session.get_bind().dialect.name != "postgresql":
        await lock_ledger(session)


class Throttled(Refusal):
    """Answered 429 with ``Retry-After``: this address failed too often (for this client id, or at all)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            "temporarily_unavailable",
            f"too many failed authentications from this address; retry after {retry_after} s",
            {**NO_STORE, "Retry-After": str(retry_after)},
            form=Form.OAUTH,
        )
        self.retry_after = retry_after
        self.description = self.message


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    client_after: int = 5
    address_after: int = 20
    max_s: int = 900
    forget_s: int = 3600
    global_per_minute: int = 600

    def delay(self, failures: int, after: int) -> int:
        """Seconds to wait after the ``failures``-th failure: 1, 2, 4, … from the ``after``-th on."""
        if failures < after:
            return 0
        return min(self.max_s, int(2 ** min(failures - after, 30)))


@dataclass(frozen=True, slots=True)
class Seen:
    """What the throttle check read, for the rest of the request."""

    address: str
    client_id: str
    #: The (client id, address) count exists: a success clears it.
    client_failures: bool = False


@dataclass
class Throttle:
    policy: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    async def check(self, session: AsyncSession, address: str, client_id: str) -> Seen:
        """Raise ``Throttled`` when this address, or this client id from it, must wait. Reads only."""
        now = self.clock()
        keys = [GLOBAL_KEY, address_key(address), client_key(address, client_id)]
        rows = {
            row.key: row
            for row in await session.scalars(select(AuthThrottle).where(AuthThrottle.key.in_(keys)))
        }
        waits = [
            row.blocked_until
            for row in rows.values()
            if row.blocked_until is not None and row.blocked_until > now and self._current(row, now)
        ]
        hub = rows.get(GLOBAL_KEY)
        mine = rows.get(address_key(address))
        if (
            hub is not None
            and hub.first_failure_at > now - GLOBAL_WINDOW
            and hub.failures >= self.policy.global_per_minute
            and mine is not None
            and self._current(mine, now)
        ):
            waits.append(hub.first_failure_at + GLOBAL_WINDOW)
        if waits:
            raise Throttled(max(1, math.ceil((max(waits) - now).total_seconds())))
        current = rows.get(client_key(address, client_id))
        return Seen(address, client_id, client_failures=current is not None)

    def _current(self, row: AuthThrottle, now: datetime) -> bool:
        return row.last_failure_at > now - timedelta(seconds=self.policy.forget_s)

    async def succeeded(self, session: AsyncSession, seen: Seen) -> None:
        """A good secret from this address: forget the client id's failures from it."""
        if seen.client_failures:
            await session.execute(
                delete(AuthThrottle).where(AuthThrottle.key == client_key(seen.address, seen.client_id))
            )

    async def failed(
        self,
        session: AsyncSession,
        seen: Seen,
        *,
        reason: str,
        partner_id: int | None,
        known_client: bool,
        request_id: str | None,
    ) -> int:
        """Count one failure (in ``session``'s write transaction; the caller commits); the seconds the
        address must now wait for this client id (0: none yet)."""
        now = self.clock()
        hub = await self._count(session, GLOBAL_KEY, now, window=GLOBAL_WINDOW)
        if hub.failures == 1:
            # At most once a minute: counts nobody added to for forget_s would restart at zero anyway.
            await session.flush()
            await purge(session, self.policy.forget_s, now)
        client_row = await self._count(session, client_key(seen.address, seen.client_id), now)
        address_row = await self._count(session, address_key(seen.address), now)
        waits = {
            "client": self.policy.delay(client_row.failures, self.policy.client_after),
            "address": self.policy.delay(address_row.failures, self.policy.address_after),
        }
        for row, wait in ((client_row, waits["client"]), (address_row, waits["address"])):
            if wait:
                row.blocked_until = now + timedelta(seconds=wait)
        wait = max(waits.values())
        hub_over = hub.failures > self.policy.global_per_minute
        unreported = address_row.failures - address_row.reported
        power_of_two = address_row.failures & (address_row.failures - 1) == 0
        detail: dict[str, Any] = {
            "reason": reason,
            "source": seen.address,
            "failures": unreported,
            "window_failures": address_row.failures,
        }
        if not known_client:
            detail["attempted_client_id"] = seen.client_id
        if wait or (power_of_two and not hub_over):
            if wait:
                detail["throttled_s"] = wait
            await record_event(
                session,
                kind="auth.throttled" if wait else "auth.failed",
                outcome="denied",
                request_id=request_id,
                partner_id=partner_id,
                client_id=seen.client_id if known_client else None,
                detail=detail,
            )
            address_row.reported = address_row.failures
        if hub.failures == self.policy.global_per_minute + 1:
            await record_event(
                session,
                kind="auth.throttled",
                outcome="denied",
                request_id=request_id,
                detail={
                    "reason": "the hub's failed authentications passed the limit per minute",
                    "source": GLOBAL_KEY,
                    "window_failures": hub.failures,
                },
            )
        await session.flush()
        return wait

    async def _count(
        self, session: AsyncSession, key: str, now: datetime, window: timedelta | None = None
    ) -> AuthThrottle:
        """The key's row, locked, with this failure added (its count restarted when it has expired)."""
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        await session.execute(
            insert(AuthThrottle)
            .values(key=key, failures=0, reported=0, first_failure_at=now, last_failure_at=now)
            .on_conflict_do_nothing(index_elements=[AuthThrottle.key])
        )
        row = (
            await session.scalars(
                select(AuthThrottle)
                .where(AuthThrottle.key == key)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).one()
        expired = (
            row.first_failure_at <= now - window
            if window is not None
            else row.last_failure_at <= now - timedelta(seconds=self.policy.forget_s)
        )
        if expired:
            row.failures = 0
            row.reported = 0
            row.first_failure_at = now
            row.blocked_until = None
        row.failures += 1
        row.last_failure_at = now
        return row


async def clear(session: AsyncSession, address: str | None = None, client_id: str | None = None) -> int:
    """Forget failures (``hub clients unthrottle``): of one address, one client id (from every
    address), or both; the number of counts removed."""
    stmt = delete(AuthThrottle)
    if address is not None and client_id is not None:
        stmt = stmt.where(AuthThrottle.key == client_key(address, client_id))
    elif address is not None:
        stmt = stmt.where(
            (AuthThrottle.key == address_key(address))
            | AuthThrottle.key.startswith(f"c {address} ", autoescape=True)
        )
    elif client_id is not None:
        stmt = stmt.where(
            AuthThrottle.key.startswith("c ") & AuthThrottle.key.endswith(f" {client_id}", autoescape=True)
        )
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def purge(session: AsyncSession, forget_s: int, now: datetime | None = None) -> None:
    """Remove counts nobody has added to for ``forget_s`` (they would restart at zero anyway)."""
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=forget_s)
    await session.execute(delete(AuthThrottle).where(AuthThrottle.last_failure_at < cutoff))
