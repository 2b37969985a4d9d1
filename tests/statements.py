"""Counting the SQL statements a request runs, for the tests that keep loaders flat (no N+1)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection

#: The token check reads client state behind a cache of a few seconds; when that cache expires in
#: the middle of a test it adds a statement that has nothing to do with the query under test.
TOKEN_CHECK_TABLES = ("FROM clients", "FROM revoked_tokens")


@contextmanager
def counting(connection: AsyncConnection) -> Iterator[list[str]]:
    """Statements run on ``connection`` inside the block, less the token check's cache refreshes."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not any(table in statement for table in TOKEN_CHECK_TABLES):
            statements.append(statement)

    sync = connection.sync_connection
    assert sync is not None
    event.listen(sync, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(sync, "before_cursor_execute", count)
