"""The request's database session, safe to share between concurrently resolving fields.

Strawberry resolves sibling fields concurrently, and an ``AsyncSession`` must never be used by
two tasks at once, so every statement of a request goes through one lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Executable, Result, Row
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")


class RequestDb:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._lock = asyncio.Lock()
        #: Statements executed in this request (tests assert on it; loaders keep it flat).
        self.statements = 0

    async def _locked(self, work: Callable[[], Awaitable[T]], *, counted: bool = True) -> T:
        """Run ``work`` alone on the session, to its end even if the field awaiting it is cancelled.

        graphql-core cancels sibling fields when a non-null field fails; a statement cut off half
        way leaves the connection unusable for the rest of the request (the ledger's write, the
        commit), so a cancelled caller waits for its statement to finish before it unwinds.
        """

        async def alone() -> T:
            async with self._lock:
                if counted:
                    self.statements += 1
                return await work()

        task = asyncio.ensure_future(alone())
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            await asyncio.wait([task])
            raise

    async def execute(self, statement: Executable, params: dict[str, Any] | None = None) -> Result[Any]:
        return await self._locked(lambda: self.session.execute(statement, params))

    async def rows(self, statement: Executable, params: dict[str, Any] | None = None) -> Sequence[Row[Any]]:
        result = await self.execute(statement, params)
        return result.all()

    async def scalars(self, statement: Executable, params: dict[str, Any] | None = None) -> Sequence[Any]:
        async def work() -> Sequence[Any]:
            result = await self.session.scalars(statement, params)
            return result.all()

        return await self._locked(work)

    async def scalar(self, statement: Executable, params: dict[str, Any] | None = None) -> Any:
        return await self._locked(lambda: self.session.scalar(statement, params))

    async def flush(self) -> None:
        await self._locked(self.session.flush, counted=False)

    def add(self, instance: object) -> None:
        self.session.add(instance)

    def savepoint(self) -> Savepoint:
        return Savepoint(self)


class Savepoint:
    """``async with db.savepoint():`` — a nested transaction that a failed write rolls back alone."""

    def __init__(self, db: RequestDb) -> None:
        self.db = db
        self._tx: Any = None

    async def __aenter__(self) -> Savepoint:
        self._tx = await self.db._locked(self.db.session.begin_nested, counted=False)
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        end = self._tx.commit if exc_type is None else self._tx.rollback
        await self.db._locked(end, counted=False)
