"""Migrations: an empty store upgrades to head, the models and the migrated store agree, and the
whole history goes down to base and up again — on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from hub.db import create_engine, current_revision, downgrade, head_revision, upgrade
from hub.settings import Settings
from resolvers.models import Base


@pytest_asyncio.fixture(loop_scope="session")
async def empty_store(settings: Settings, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A brand-new, empty database on the same kind of store the suite runs on."""
    if settings.is_sqlite:
        engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"))
        yield engine
        await engine.dispose()
        return
    url = make_url(settings.database_url)
    name = f"hub_migrations_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(
        Settings(database_url=url.set(database=name).render_as_string(hide_password=False))
    )
    try:
        yield engine
    finally:
        await engine.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await admin.dispose()


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def test_empty_store_upgrades_to_head_and_matches_the_models(empty_store: AsyncEngine) -> None:
    assert await current_revision(empty_store) is None
    await upgrade(empty_store)
    assert await current_revision(empty_store) == head_revision()
    async with empty_store.connect() as conn:
        assert await conn.run_sync(_differences) == []
        assert await conn.run_sync(_tables) == set(Base.metadata.tables)


async def test_downgrade_to_base_and_upgrade_again(empty_store: AsyncEngine) -> None:
    await upgrade(empty_store)
    await downgrade(empty_store, "base")
    assert await current_revision(empty_store) is None
    async with empty_store.connect() as conn:
        assert await conn.run_sync(_tables) == set()
    await upgrade(empty_store)
    assert await current_revision(empty_store) == head_revision()


@pytest.mark.postgres
async def test_check_constraints_are_enforced_by_postgres(empty_store: AsyncEngine) -> None:
    await upgrade(empty_store)
    async with empty_store.connect() as conn:
        with pytest.raises(IntegrityError, match="ck_facilities_kind_valid"):
            await conn.execute(
                text(
                    "INSERT INTO facilities (code, name, kind, county, region, serves_women, address) "
                    "VALUES ('X', 'X', 'castle', 'c', 'r', false, 'a')"
                )
            )


@pytest.mark.postgres
async def test_the_ledger_append_function_comes_with_0010_and_goes_with_its_downgrade(
    empty_store: AsyncEngine,
) -> None:
    exists = text("SELECT count(*) FROM pg_proc WHERE proname = 'hub_ledger_append'")
    await upgrade(empty_store, "0009_lang")
    async with empty_store.connect() as conn:
        assert await conn.scalar(exists) == 0
    await upgrade(empty_store, "0010_ledger_append")
    async with empty_store.connect() as conn:
        assert await conn.scalar(exists) == 1
    await downgrade(empty_store, "0009_lang")
    assert await current_revision(empty_store) == "0009_lang"
    async with empty_store.connect() as conn:
        assert await conn.scalar(exists) == 0
    await upgrade(empty_store)
    assert await current_revision(empty_store) == head_revision()


async def test_the_console_sessions_table_comes_with_0011_and_goes_with_its_downgrade(
    empty_store: AsyncEngine,
) -> None:
    await upgrade(empty_store, "0010_ledger_append")
    async with empty_store.connect() as conn:
        assert "console_sessions" not in await conn.run_sync(_tables)
    await upgrade(empty_store, "0011_console_sessions")
    async with empty_store.connect() as conn:
        assert "console_sessions" in await conn.run_sync(_tables)
    await downgrade(empty_store, "0010_ledger_append")
    assert await current_revision(empty_store) == "0010_ledger_append"
    async with empty_store.connect() as conn:
        assert "console_sessions" not in await conn.run_sync(_tables)


async def test_the_console_ops_tables_come_with_0012_and_go_with_its_downgrade(
    empty_store: AsyncEngine,
) -> None:
    tables = {"worker_heartbeats", "ledger_checkpoints", "console_oidc_pending"}
    await upgrade(empty_store, "0011_console_sessions")
    async with empty_store.connect() as conn:
        assert not tables & set(await conn.run_sync(_tables))
    await upgrade(empty_store, "0012_console_ops")
    async with empty_store.connect() as conn:
        assert tables <= set(await conn.run_sync(_tables))
    await downgrade(empty_store, "0011_console_sessions")
    assert await current_revision(empty_store) == "0011_console_sessions"
    async with empty_store.connect() as conn:
        assert not tables & set(await conn.run_sync(_tables))
    await upgrade(empty_store)
    assert await current_revision(empty_store) == head_revision()
