"""The request's database session, safe to share between concurrently resolving fields.

Strawberry resolves sibling fields concurrently, and an ``AsyncSession`` must never be used by
two tasks at once, so every statement of a request goes through one lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
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

    async def execute(self, statement: Executable, params: dict[str, Any] | None = None) -> Result[Any]:
        async with self._lock:
            self.statements += 1
            return await self.session.execute(statement, params)

    async def rows(self, statement: Executable, params: dict[str, Any] | None = None) -> Sequence[Row[Any]]:
        result = await self.execute(statement, params)
        return result.all()

    async def scalars(self, statement: Executable, params: dict[str, Any] | None = None) -> Sequence[Any]:
        async with self._lock:
            self.statements += 1
            result = await self.session.scalars(statement, params)
            return result.all()

    async def scalar(self, statement: Executable, params: dict[str, Any] | None = None) -> Any:
        async with self._lock:
            self.statements += 1
            return await self.session.scalar(statement, params)

    async def flush(self) -> None:
        async with self._lock:
            await self.session.flush()

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
        async with self.db._lock:
            self._tx = await self.db.session.begin_nested()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        async with self.db._lock:
            if exc_type is None:
                await self._tx.commit()
            else:
                await self._tx.rollback()
