"""A throw-away store for an in-process benchmark: SQLite in a temporary directory, or a new database
on the PostgreSQL server of a given URL, dropped again when the benchmark ends."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine


@asynccontextmanager
async def throwaway_store(database_url: str | None, prefix: str) -> AsyncIterator[tuple[str, Path]]:
    """Yield ``(store URL, temporary directory)``; the database named ``<prefix>_<random>`` (on
    PostgreSQL) is dropped on the way out, whatever the benchmark did."""
    directory = Path(tempfile.mkdtemp(prefix=f"{prefix.replace('_', '-')}-"))
    if not database_url:
        yield f"sqlite+aiosqlite:///{directory / 'bench.db'}", directory
        return
    url = make_url(database_url)
    database = f"{prefix}_{secrets.token_hex(3)}"
    admin = create_async_engine(
        url.set(database="postgres"), isolation_level="AUTOCOMMIT", hide_parameters=True
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{database}"'))
        try:
            yield url.set(database=database).render_as_string(hide_password=False), directory
        finally:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    finally:
        await admin.dispose()
