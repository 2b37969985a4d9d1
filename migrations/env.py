"""Alembic environment: runs on the connection the hub hands over (``hub migrate``, tests), or on
``HUB_DATABASE_URL`` when invoked as ``alembic`` directly."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from resolvers.models import Base
from resolvers.models.base import UTCDateTime

target_metadata = Base.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    # Migrations must not import model code: a UTC timestamp is a timezone-aware DateTime.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copy
        compare_type=True,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
        return
    url = os.environ.get("HUB_DATABASE_URL", "sqlite+aiosqlite:///hub.db")

    async def _run() -> None:
        engine = create_async_engine(url, hide_parameters=True)
        async with engine.begin() as conn:
            await conn.run_sync(do_run_migrations)
        await engine.dispose()

    asyncio.run(_run())


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `hub migrate`")
run_online()
