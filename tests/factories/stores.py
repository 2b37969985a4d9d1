"""Fresh, migrated stores of their own, for tests whose writes commit (bulk loads, seeding).

The shared per-test transaction cannot hold those: a COPY commits, and a seed refuses a store that
already has people. On SQLite a fresh store is a new file; on PostgreSQL (``HUB_TEST_DATABASE_URL``)
a new database on the same server, dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from hub.db import create_engine, upgrade
from hub.settings import Settings


@asynccontextmanager
async def fresh_store(directory: Path, name: str) -> AsyncIterator[tuple[Settings, AsyncEngine]]:
    """A migrated, empty store named after ``name``; yields its settings and an engine."""
    base = os.environ.get("HUB_TEST_DATABASE_URL", "")
    if not base.startswith("postgres"):
        settings = Settings(database_url=f"sqlite+aiosqlite:///{directory / (name + '.db')}")
        engine = create_engine(settings)
        try:
            await upgrade(engine)
            yield settings, engine
        finally:
            await engine.dispose()
        return

    url = make_url(Settings(database_url=base).database_url)
    database = f"hub_test_{name}_{secrets.token_hex(4)}"
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{database}"'))
        settings = Settings(database_url=url.set(database=database).render_as_string(hide_password=False))
        engine = create_engine(settings)
        try:
            await upgrade(engine)
            yield settings, engine
        finally:
            await engine.dispose()
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    finally:
        await admin.dispose()
