"""The demo sign-in: one staff account per unit, only in `hub demo`, on the demo's own store.

"Impossible outside the demo" is three locks, each tested here: the setting is refused unless the
store is ``HUB_DEMO_DIR/hub.db`` on SQLite; `hub demo` alone turns it on; and even with the setting,
a store without the demo marker (written by ``prepare_demo`` only) refuses every demo sign-in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError
from sqlalchemy import select
from starlette.applications import Starlette

from auth.keys import KeyPolicy, ensure_signing_key
from hub.app import create_app
from hub.console.sessions import COOKIE
from hub.db import create_engine, session_factory, upgrade
from hub.demo import mark_demo_store, register_demo_clients
from hub.settings import Settings
from resolvers.models.ledger import AuditEvent
from tests.console.conftest import console_of, csrf_of


def test_the_setting_is_refused_on_a_postgresql_store(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="HUB_CONSOLE_DEMO_SIGNIN is for `hub demo` only"):
        Settings(
            console_demo_signin=True,
            database_url="postgresql+asyncpg://hub@db.example:5432/hub",
            demo_dir=str(tmp_path),
        )


def test_the_setting_is_refused_on_another_sqlite_store(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="the store must be the demo's"):
        Settings(
            console_demo_signin=True,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'production.db'}",
            demo_dir=str(tmp_path / "demo"),
        )


def test_the_setting_is_off_by_default_and_taken_on_the_demo_store(tmp_path: Path) -> None:
    assert Settings(demo_dir=str(tmp_path)).console_demo_signin is False
    demo = Settings(
        console_demo_signin=True,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
        demo_dir=str(tmp_path),
    )
    assert demo.is_demo_store


async def _demo_store(tmp_path: Path, *, marked: bool) -> Settings:
    settings = Settings(
        console_demo_signin=True,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}",
        demo_dir=str(tmp_path),
        issuer="http://hub.test",
        rate_flush_ms=0,
        checkpoint_interval_s=0,
    )
    engine = create_engine(settings)
    try:
        await upgrade(engine)
        async with session_factory(engine)() as session:
            await ensure_signing_key(
                session, KeyPolicy(alg="RS256", passphrase=None, token_ttl=timedelta(minutes=15))
            )
            await register_demo_clients(session)
            if marked:
                await mark_demo_store(session)
            await session.commit()
    finally:
        await engine.dispose()
    return settings


@pytest_asyncio.fixture(loop_scope="session")
async def demo_hub(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    settings = await _demo_store(tmp_path, marked=True)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as client,
    ):
        yield client, settings


async def test_a_demo_account_signs_in_with_a_token_issued_like_any_other(
    demo_hub: tuple[httpx.AsyncClient, Settings],
) -> None:
    client, settings = demo_hub
    page = await client.get("/console/signin")
    assert "demo only" in page.text
    signed_in = await client.post(
        "/console/signin/demo",
        data={"csrf": csrf_of(page.text), "unit": "admin", "next": "/console/partners"},
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/console/partners"
    partners = await client.get("/console/partners")
    assert partners.status_code == 200
    assert "demo-admin" in partners.text
    engine = create_engine(settings)
    try:
        async with session_factory(engine)() as session:
            issued = list(
                await session.scalars(select(AuditEvent.client_id).where(AuditEvent.kind == "token.issued"))
            )
            pages = list(
                await session.scalars(
                    select(AuditEvent.client_id).where(AuditEvent.operation_name == "ConsolePartners")
                )
            )
    finally:
        await engine.dispose()
    assert issued == ["demo-admin"]
    assert pages == ["demo-admin"]


async def test_a_partner_audience_is_not_a_demo_staff_account(
    demo_hub: tuple[httpx.AsyncClient, Settings],
) -> None:
    client, _settings = demo_hub
    page = await client.get("/console/signin")
    refused = await client.post(
        "/console/signin/demo", data={"csrf": csrf_of(page.text), "unit": "legislative"}
    )
    assert refused.status_code == 400
    assert "partner audience" in refused.text


async def test_a_store_without_the_demo_marker_refuses_the_demo_sign_in(tmp_path: Path) -> None:
    settings = await _demo_store(tmp_path, marked=False)
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as client,
    ):
        page = await client.get("/console/signin")
        refused = await client.post(
            "/console/signin/demo", data={"csrf": csrf_of(page.text), "unit": "admin"}
        )
        assert refused.status_code == 403
        assert "not made by `hub demo`" in refused.text
        assert (await client.get("/console/partners")).status_code == 303


async def test_without_the_setting_there_is_no_demo_sign_in(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    page = await client.get("/console/signin")
    assert "demo only" not in page.text
    session = await console_of(app).store.get(client.cookies[COOKIE])
    assert session is not None
    refused = await client.post("/console/signin/demo", data={"csrf": session.csrf, "unit": "admin"})
    assert refused.status_code == 404
    assert "only in `hub demo`" in refused.text
