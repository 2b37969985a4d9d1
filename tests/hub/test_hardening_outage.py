"""The store going away and coming back, without touching the machine's PostgreSQL server: the hub
reaches PostgreSQL through a TCP proxy of the test's own, which the test cuts (every connection
dropped, new ones refused) and restores. While it is down, requests fail within a second with 503
STORE_UNAVAILABLE and ``/readyz`` says so; once it is back, the same app serves again."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from auth.principal import Principal
from hub.app import create_app
from hub.db import create_engine
from hub.settings import Settings
from resolvers.models.partners import Audience
from tests.factories.faults import fail_read
from tests.hub.store_proxy import Proxy

pytestmark = pytest.mark.postgres


@pytest_asyncio.fixture(loop_scope="session")
async def proxied(settings: Settings, engine: AsyncEngine) -> AsyncIterator[tuple[Proxy, httpx.AsyncClient]]:
    """The hub through a proxy to the session's store (``engine`` has migrated it)."""
    url = make_url(settings.database_url)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.up()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    # The ledger is off: this app commits for real, outside the test's transaction.
    hub_settings = Settings.model_validate(
        {**settings.model_dump(), "database_url": through, "ledger": "off-for-benchmark"}
    )
    hub_engine = create_engine(hub_settings)

    async def staff(_: object) -> Principal:
        return Principal(Audience.ADMIN, subject="outage-test")

    app = create_app(hub_settings, engine=hub_engine, authenticate=staff)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        yield proxy, client
    await hub_engine.dispose()
    with contextlib.suppress(Exception):
        await proxy.down()


QUERY = {"query": "{ facilities(first: 1) { totalCount } }"}


async def test_outage_answers_503_fast_and_the_hub_recovers(
    proxied: tuple[Proxy, httpx.AsyncClient], caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    proxy, client = proxied
    before = await client.post("/graphql", json=QUERY)
    assert before.status_code == 200, before.text
    assert (await client.get("/readyz")).status_code == 200

    await proxy.down()
    caplog.clear()
    caplog.set_level(logging.INFO)
    for _ in range(3):
        started = time.monotonic()
        during = await client.post("/graphql", json=QUERY)
        assert time.monotonic() - started < 1.0
        assert during.status_code == 503, during.text
        assert during.headers["retry-after"] == "1"
        error = during.json()["errors"][0]
        assert error["extensions"]["code"] == "STORE_UNAVAILABLE"
        assert error["message"] == "the data store is unavailable; retry shortly"
    # One line per refusal, with its code; no traceback (issue 14, item 23).
    refusals = [r for r in caplog.records if r.name == "hub.graphql"]
    assert [getattr(r, "code", None) for r in refusals] == ["STORE_UNAVAILABLE"] * 3
    assert not [r for r in caplog.records if r.exc_info]
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"

    await proxy.up()  # the same port again: the store is back
    after = await client.post("/graphql", json=QUERY)
    assert after.status_code == 200, after.text
    assert after.json()["data"] == before.json()["data"]
    assert (await client.get("/readyz")).status_code == 200


async def test_the_statement_timeout_stops_a_long_statement(
    settings: Settings, engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import text

    from resolvers.session import RequestDb

    async def slow(db: RequestDb, *_: object, **__: object) -> None:
        await db.execute(text("select pg_sleep(2)"))

    fail_read(monkeypatch, "resolvers.people.list_facilities", slow)
    hub_settings = Settings.model_validate(
        {**settings.model_dump(), "statement_timeout_ms": 100, "ledger": "off-for-benchmark"}
    )
    hub_engine = create_engine(hub_settings)

    async def staff(_: object) -> Principal:
        return Principal(Audience.ADMIN, subject="timeout-test")

    app = create_app(hub_settings, engine=hub_engine, authenticate=staff)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
        ) as client:
            started = time.monotonic()
            response = await client.post("/graphql", json=QUERY)
            assert time.monotonic() - started < 1.5
    finally:
        await hub_engine.dispose()
    assert response.status_code == 504, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "STATEMENT_TIMEOUT"
    assert "pg_sleep" not in response.text
