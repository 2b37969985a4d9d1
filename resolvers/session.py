"""The request's database session, safe to share between concurrently resolving fields.

Strawberry resolves sibling fields concurrently, and an ``AsyncSession`` must never be used by
two tasks at once, so every statement of a request goes through one lock, and the operation's end
(``close``) waits for the statements still under way before the session is used for anything else.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import Executable, Result, Row
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")
#: A typed row: a ``NamedTuple`` of ``resolvers/rows.py`` (or a hand-written one beside a statement
#: that selects other columns), built from a result row whose columns are its fields, in order.
R = TypeVar("R", bound=tuple[Any, ...])


_Co = TypeVar("_Co", covariant=True)


class _Made(Protocol[_Co]):
    def _make(self, iterable: Iterable[Any]) -> _Co: ...


def row_maker(row: type[R]) -> Callable[[Iterable[Any]], R]:
    """``row._make``: the row from a result row's values (refusing one of another width)."""
    return cast("_Made[R]", row)._make


class RequestClosed(Exception):
    """A statement asked for after the operation ended (by a field cancelled when a sibling failed)."""

    def __init__(self) -> None:
        super().__init__("the operation has ended; no more statements run in its session")


class RequestDb:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._lock = asyncio.Lock()
        #: Statements executed in this request (tests assert on it; loaders keep it flat).
        self.statements = 0
        self._closed = False
        self._running: set[asyncio.Future[Any]] = set()

    async def alone(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` (code that takes the session itself) alone on the session, as every statement
        here runs, counted among the request's statements."""
        return await self._locked(work)

    async def uncounted(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` (code that takes the session itself, such as ``auth.keys`` or the client
        registry) alone on the session, as every statement here runs, without counting it among the
        request's statements."""
        return await self._locked(work, counted=False)

    async def _locked(self, work: Callable[[], Awaitable[T]], *, counted: bool = True) -> T:
        """Run ``work`` alone on the session, to its end even if the field awaiting it is cancelled.

        graphql-core cancels sibling fields when a non-null field fails; a statement cut off half
        way leaves the connection unusable for the rest of the request (the ledger's write, the
        commit), so a cancelled caller waits for its statement to finish before it unwinds.
        """

        async def alone() -> T:
            async with self._lock:
                if self._closed:
                    raise RequestClosed
                if counted:
                    self.statements += 1
                return await work()

        if self._closed:
            raise RequestClosed
        task = asyncio.ensure_future(alone())
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            await asyncio.wait([task])
            raise

    async def close(self) -> None:
        """End the operation's use of the session: wait for the statements under way, refuse new ones.

        graphql-core returns as soon as a non-null field fails, while the siblings it cancelled are
        still finishing their statements (or a loader batch is about to start one). The caller ends
        the transaction and appends to the ledger on the same session only after this, so nothing
        else is ever using it then.
        """
        self._closed = True
        while self._running:
            await asyncio.wait(list(self._running))

    async def execute(self, statement: Executable, params: dict[str, Any] | None = None) -> Result[Any]:
        return await self._locked(lambda: self.session.execute(statement, params))

    async def rows(self, statement: Executable, params: dict[str, Any] | None = None) -> Sequence[Row[Any]]:
        result = await self.execute(statement, params)
        return result.all()

    async def rows_as(
        self, statement: Executable, row: type[R], params: dict[str, Any] | None = None
    ) -> list[R]:
        """The statement's rows as ``row``s: its columns must be ``row``'s fields, in order."""
        make = row_maker(row)
        return [make(r) for r in await self.rows(statement, params)]

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
