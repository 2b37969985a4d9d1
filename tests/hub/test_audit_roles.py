"""Least privilege: the hub runs as a role that can append to the ledger and read it, and nothing more.

`hub migrate` (as the tables' owner) grants the runtime role; connected as it, the append-only
triggers cannot be disabled and past events cannot be changed or removed, while requests still append.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from auth.audit import record_event
from hub.app import create_app
from hub.cli import main
from hub.db import check_runtime_role, create_engine, runtime_role_problem
from hub.errors import ConfigError
from hub.settings import Settings
from resolvers.models.ledger import AuditEvent
from tests.factories.stores import fresh_store


async def test_on_sqlite_there_is_no_role_to_check(tmp_path: Path) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        assert await runtime_role_problem(engine) is None
    finally:
        await engine.dispose()


@pytest_asyncio.fixture(loop_scope="session")
async def owner_and_runtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> AsyncIterator[tuple[Settings, AsyncEngine, Settings, AsyncEngine]]:
    """A fresh store, migrated by `hub migrate` as its owner, and a login of the runtime role it granted."""
    role = f"hub_rt_{secrets.token_hex(4)}"
    async with fresh_store(tmp_path, "roles") as (owner_settings, owner):
        async with owner.connect() as conn:
            # The operator's part: a login for the runtime role (trust authentication on the test server).
            await conn.execute(text(f"CREATE ROLE {role} LOGIN"))
            await conn.commit()
        try:
            monkeypatch.setenv("HUB_DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/unused")
            monkeypatch.setenv("HUB_MIGRATE_DATABASE_URL", owner_settings.database_url)
            monkeypatch.setenv("HUB_RUNTIME_ROLE", role)
            assert await asyncio.to_thread(main, ["migrate"]) == 0
            assert (
                f"granted the runtime role {role}: INSERT and SELECT on audit_events"
                in capsys.readouterr().out
            )
            url = make_url(owner_settings.database_url).set(username=role)
            runtime_settings = Settings(database_url=url.render_as_string(hide_password=False))
            runtime = create_engine(runtime_settings)
            try:
                yield owner_settings, owner, runtime_settings, runtime
            finally:
                await runtime.dispose()
        finally:
            await owner.dispose()
            async with owner.connect() as conn:
                await conn.execute(text(f"DROP OWNED BY {role}"))
                await conn.commit()
            drop = create_async_engine(make_url(owner_settings.database_url).set(database="postgres"))
            try:
                async with drop.connect() as conn:
                    await conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
                    await conn.commit()
            finally:
                await drop.dispose()


@pytest.mark.postgres
async def test_the_runtime_role_cannot_rewrite_the_ledger_but_requests_still_append(
    owner_and_runtime: tuple[Settings, AsyncEngine, Settings, AsyncEngine],
) -> None:
    _, owner, runtime_settings, runtime = owner_and_runtime
    sessions = async_sessionmaker(runtime, expire_on_commit=False)
    async with sessions() as s:
        past = await record_event(s, kind="graphql", request_id="past")
        await s.commit()

    refused = [
        "ALTER TABLE audit_events DISABLE TRIGGER ALL",
        "ALTER TABLE audit_disclosures DISABLE TRIGGER ALL",
        f"UPDATE audit_events SET request_id = 'forged' WHERE id = {past.id}",
        f"DELETE FROM audit_events WHERE id = {past.id}",
        "DELETE FROM audit_disclosures",
        "TRUNCATE audit_events CASCADE",
        "SET session_replication_role = replica",
        "DROP TRIGGER audit_events_append_only ON audit_events",
        "UPDATE alembic_version SET version_num = 'x'",
    ]
    for statement in refused:
        async with runtime.connect() as conn:
            with pytest.raises(DBAPIError) as caught:
                await conn.execute(text(statement))
            assert "permission denied" in str(caught.value.orig) or "must be owner" in str(
                caught.value.orig
            ), (
                statement,
                caught.value.orig,
            )

    # A request served by the hub connected as the runtime role still appends its event.
    app = create_app(runtime_settings, engine=runtime, sessions=sessions)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as c:
        response = await c.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 401
    async with sessions() as s:
        [event] = await s.scalars(
            select(AuditEvent).where(AuditEvent.request_id == response.headers["x-request-id"])
        )
        assert event.outcome == "denied"
        assert await s.scalar(select(func.count()).select_from(AuditEvent)) == 2

    assert await runtime_role_problem(runtime) is None
    assert "a superuser" in (await runtime_role_problem(owner) or "")


@pytest.mark.postgres
async def test_serving_as_the_owner_warns_and_production_refuses(
    owner_and_runtime: tuple[Settings, AsyncEngine, Settings, AsyncEngine],
    capsys: pytest.CaptureFixture[str],
) -> None:
    owner_settings, owner, runtime_settings, runtime = owner_and_runtime
    await check_runtime_role(owner, owner_settings)
    assert "WARNING: the hub connects as" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="refusing to start with HUB_ENV=production"):
        await check_runtime_role(owner, owner_settings.model_copy(update={"env": "production"}))
    await check_runtime_role(runtime, runtime_settings.model_copy(update={"env": "production"}))
