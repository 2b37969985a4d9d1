"""The store going away and coming back, without touching the machine's PostgreSQL server: the hub
reaches PostgreSQL through a TCP proxy of the test's own, which the test cuts (every connection
dropped, new ones refused) and restores. While it is down, requests fail within a second with 503
STORE_UNAVAILABLE and ``/readyz`` says so; once it is back, the same app serves again."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from auth.principal import Principal
from hub.app import create_app
from hub.db import create_engine
from hub.settings import Settings
from resolvers.models.partners import Audience

pytestmark = pytest.mark.postgres


class Proxy:
    """Forwards a local port to the PostgreSQL server until cut."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        await self._server.wait_closed()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.transport.abort()
            return
        self._writers |= {client_w, server_w}

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            writer.transport.abort()

        await asyncio.gather(pipe(client_r, server_w), pipe(server_r, client_w))


@pytest_asyncio.fixture(loop_scope="session")
async def proxied(settings: Settings) -> AsyncIterator[tuple[Proxy, httpx.AsyncClient]]:
    url = make_url(settings.database_url)
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.up()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    # The ledger is off: this app commits for real, outside the test's transaction.
    hub_settings = Settings.model_validate(
        {**settings.model_dump(), "database_url": through, "ledger": "off-for-benchmark"}
    )
    engine = create_engine(hub_settings)

    async def staff(_: object) -> Principal:
        return Principal(Audience.ADMIN, subject="outage-test")

    app = create_app(hub_settings, engine=engine, authenticate=staff)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        yield proxy, client
    await engine.dispose()
    with contextlib.suppress(Exception):
        await proxy.down()


QUERY = {"query": "{ facilities(first: 1) { totalCount } }"}


async def test_outage_answers_503_fast_and_the_hub_recovers(proxied: tuple[Proxy, httpx.AsyncClient]) -> None:
    proxy, client = proxied
    before = await client.post("/graphql", json=QUERY)
    assert before.status_code == 200, before.text
    assert (await client.get("/readyz")).status_code == 200

    await proxy.down()
    for _ in range(3):
        started = time.monotonic()
        during = await client.post("/graphql", json=QUERY)
        assert time.monotonic() - started < 1.0
        assert during.status_code == 503, during.text
        assert during.headers["retry-after"] == "1"
        error = during.json()["errors"][0]
        assert error["extensions"]["code"] == "STORE_UNAVAILABLE"
        assert error["message"] == "the data store is unavailable; retry shortly"
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"

    await proxy.up()  # the same port again: the store is back
    after = await client.post("/graphql", json=QUERY)
    assert after.status_code == 200, after.text
    assert after.json()["data"] == before.json()["data"]
    assert (await client.get("/readyz")).status_code == 200


async def test_the_statement_timeout_stops_a_long_statement(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import text

    from resolvers.session import RequestDb

    async def slow(db: RequestDb, *_: object, **__: object) -> None:
        await db.execute(text("select pg_sleep(2)"))

    monkeypatch.setattr("resolvers.people.list_facilities", slow)
    hub_settings = Settings.model_validate(
        {**settings.model_dump(), "statement_timeout_ms": 100, "ledger": "off-for-benchmark"}
    )
    engine = create_engine(hub_settings)

    async def staff(_: object) -> Principal:
        return Principal(Audience.ADMIN, subject="timeout-test")

    app = create_app(hub_settings, engine=engine, authenticate=staff)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
        ) as client:
            started = time.monotonic()
            response = await client.post("/graphql", json=QUERY)
            assert time.monotonic() - started < 1.5
    finally:
        await engine.dispose()
    assert response.status_code == 504, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "STATEMENT_TIMEOUT"
    assert "pg_sleep" not in response.text
