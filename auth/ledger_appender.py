"""Group commit of the ledger: one transaction appends the events of many concurrent requests.

Each append takes the ledger's one lock (auth/audit.py), so appending request by request caps a
whole deployment at one lock-read-insert-commit round per event. A process's ``LedgerAppender``
instead collects the events its requests hand it while a batch is being written (and, when it was
idle, for ``HUB_LEDGER_BATCH_MS``) and writes them with ``append_chain``: one lock, one read of the
previous hash, one multi-row INSERT of the events and one of their disclosures, one COMMIT. Processes
still share one chain: each batch takes the same lock as every other append, a mutation's own included.

On PostgreSQL the hub gives the appender an engine of its own (hub/app.py): the appender keeps one of
its connections across batches, in autocommit, so a batch is one round trip, one call of
``hub_ledger_append`` that is its own transaction (lock, previous hash, INSERTs, commit). A connection
that sat idle for ``IDLE_S`` goes back to the pool first, whose ping at check-out finds one the
server dropped; after a failed batch the connection is given up.

A request is released only when the transaction holding its event committed; if the batch fails,
every request in it gets the failure (the endpoint answers 503 ``LEDGER_UNAVAILABLE`` and serves
nothing). Only events that need no transaction of their own go through it: a query's (its read
transaction is over) and a refused or failed request's. A mutation's event stays in the mutation's
transaction, so the write and its event commit together.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from auth.audit import Disclosure, append_chain
from resolvers.models.ledger import AuditEvent

#: Most events one transaction takes; more wait for the next batch (bounds a statement's size).
MAX_BATCH = 512

#: Seconds a held connection may sit unused before a batch checks it in and out again (and so pings it).
IDLE_S = 1.0


@dataclass(slots=True)
class Ticket:
    """One event handed to the appender."""

    event: AuditEvent
    disclosures: Sequence[Disclosure]
    done: asyncio.Future[None]
    #: Taken back before any batch took it (its request was cancelled): it will not be written.
    withdrawn: bool = False


@dataclass
class LedgerAppender:
    """One per process: ``await append(event, disclosures)`` returns once the event is committed."""

    sessions: async_sessionmaker[AsyncSession]
    #: How long an idle appender waits for more events before writing the first (``HUB_LEDGER_BATCH_MS``).
    window_s: float = 0.002
    max_batch: int = MAX_BATCH
    #: Told of every batch written: (events, seconds from its start to its commit, failed).
    on_batch: Callable[[int, float, bool], None] | None = None
    #: PostgreSQL only: the engine of the appender's own connection, held across batches in autocommit
    #: (each batch one call, its own transaction). None: each batch in a session of ``sessions``.
    engine: AsyncEngine | None = None
    _queue: list[Ticket] = field(default_factory=list, repr=False)
    _writer: asyncio.Task[None] | None = field(default=None, repr=False)
    _connection: AsyncConnection | None = field(default=None, repr=False)
    _used: float = field(default=0.0, repr=False)
    #: When the last batch ended (``time.monotonic()``): an appender busy until a window ago is not idle.
    _ended: float = field(default=-1e9, repr=False)

    async def append(self, event: AuditEvent, disclosures: Sequence[Disclosure] = ()) -> None:
        """Hand ``event`` to the next batch and wait for its commit; raise what the batch failed with."""
        await self.wait(self.submit(event, disclosures))

    def submit(self, event: AuditEvent, disclosures: Sequence[Disclosure] = ()) -> Ticket:
        """Queue ``event`` for the next batch (``wait`` for its commit)."""
        loop = asyncio.get_running_loop()
        ticket = Ticket(event, disclosures, loop.create_future())
        self._queue.append(ticket)
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._write_while_queued())
        return ticket

    async def wait(self, ticket: Ticket) -> None:
        """Return once ``ticket``'s batch committed; raise what it failed with.

        Cancelled (its request ran out of time) before a batch took it, the event is withdrawn;
        after, it is committed or not with its batch.
        """
        try:
            await asyncio.shield(ticket.done)
        except asyncio.CancelledError:
            if ticket in self._queue:
                self._queue.remove(ticket)
                ticket.withdrawn = True
            raise

    async def _write_while_queued(self) -> None:
        # Started by an event arriving at an idle appender: give its neighbours the window to join.
        # Events that arrive while a batch is written have waited already and go in the next at once;
        # so do those of an appender whose last batch ended less than a window ago (under load the
        # requests a batch released come back within a turn of the loop, and the window would only
        # add its length to every cycle). Yielding once still lets the ones released together join.
        busy = time.monotonic() - self._ended < self.window_s
        await asyncio.sleep(0 if busy else self.window_s)
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                await self._write(batch)
            finally:
                self._ended = time.monotonic()

    async def _write(self, batch: list[Ticket]) -> None:
        started = time.perf_counter()
        events = [(p.event, p.disclosures) for p in batch]
        try:
            if self.engine is not None:
                await self._append_on_own_connection(events)
            else:
                async with self.sessions() as session:
                    await append_chain(session, events)
                    await session.commit()
        except Exception as exc:  # noqa: BLE001 - every request of the batch is answered with it
            self._told(len(batch), started, failed=True)
            for p in batch:
                if not p.done.done():
                    p.done.set_exception(exc)
                    p.done.exception()  # read: a request cancelled meanwhile never will
            return
        except BaseException:
            # The appender itself is stopped (the loop is closing): nobody is left to wait for.
            for p in batch:
                if not p.done.done():
                    p.done.cancel()
            raise
        self._told(len(batch), started, failed=False)
        for p in batch:
            if not p.done.done():
                p.done.set_result(None)

    async def _append_on_own_connection(self, events: list[tuple[AuditEvent, Sequence[Disclosure]]]) -> None:
        assert self.engine is not None
        connection = self._connection
        if connection is not None and time.monotonic() - self._used > IDLE_S:
            await self._release()
            connection = None
        if connection is None:
            connection = await self.engine.connect()
            self._connection = connection
            await connection.execution_options(isolation_level="AUTOCOMMIT")
        try:
            await append_chain(connection, events)
            await connection.commit()  # SQLAlchemy's own bookkeeping: autocommit sends nothing
        except BaseException:
            await self._release()
            raise
        self._used = time.monotonic()

    async def _release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):  # a broken connection is discarded by the pool
                await connection.close()

    def _told(self, events: int, started: float, *, failed: bool) -> None:
        if self.on_batch is not None:
            self.on_batch(events, time.perf_counter() - started, failed)

    async def close(self) -> None:
        """Write what is queued and stop (at shutdown)."""
        writer = self._writer
        if writer is not None and not writer.done():
            with contextlib.suppress(Exception):
                await writer
        try:
            if self._queue:
                await self._write_while_queued()
        finally:
            await self._release()
