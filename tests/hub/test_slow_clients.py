"""Slow and broken connections against a real uvicorn on 127.0.0.1 (issue 14, items 22 and 23): a
raw socket sends its headers a byte at a time, stops in the middle of its body, hangs up half way,
or opens one connection too many. Each is cut off within its bound, answered with JSON, and logged
as one line — never an error with a traceback. Each runs on both HTTP protocols (``HUB_HTTP``):
httptools, what ``hub serve`` runs by default, and h11."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from auth.principal import Principal
from hub.app import create_app
from hub.settings import Settings
from hub.slow_clients import DeadlineProtocol, HttpToolsDeadlineProtocol, configure
from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience
from tests.factories.faults import fail_read
from tests.factories.notifications import free_port

Served = Callable[..., Any]


@pytest.fixture(params=["httptools", "h11"])
def http(request: pytest.FixtureRequest) -> str:
    """The HTTP protocol the served hub runs (``HUB_HTTP``)."""
    return str(request.param)


@asynccontextmanager
async def serving(
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    **overrides: Any,
) -> AsyncIterator[int]:
    """The hub on a real socket, with ``hub serve``'s connection limits; yields the port."""
    hub_settings = settings.model_copy(update=overrides)

    async def staff(_: object) -> Principal:
        return Principal(Audience.ADMIN, subject="slow-client-test")

    app = create_app(hub_settings, engine=engine, sessions=sessions, authenticate=staff)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        log_config=None,
        timeout_graceful_shutdown=2,  # a connection the hub failed to bound fails the test, not hangs it
    )
    configure(
        config,
        header_timeout_s=hub_settings.header_timeout_s,
        max_connections=hub_settings.max_connections,
        keep_alive_s=hub_settings.keep_alive_s,
        http=hub_settings.http,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for "started"
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


async def read_all(reader: asyncio.StreamReader, within: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection."""
    async with asyncio.timeout(within):
        return await reader.read()


async def read_while_sending(
    reader: asyncio.StreamReader, sender: asyncio.Task[None], within: float = 5.0
) -> bytes:
    """What the server answers a client that is still sending: the client stops sending at the
    answer's first bytes, as a client would, and what arrived before the server reset the connection
    (its answer, then a reset for the bytes it will not read) is the answer."""
    received = bytearray()
    try:
        async with asyncio.timeout(within):
            while chunk := await reader.read(65536):
                sender.cancel()
                received += chunk
    except ConnectionResetError:
        pass
    finally:
        sender.cancel()
    return bytes(received)


def parse(raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    return status, headers, orjson.loads(body)


HEADERS = b"POST /graphql HTTP/1.1\r\nHost: hub.test\r\nContent-Type: application/json\r\n"


async def test_headers_sent_a_byte_at_a_time_are_cut_off(
    http: str,
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with serving(settings, engine, sessions, http=http, header_timeout_s=0.5) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()

        async def trickle() -> None:
            for byte in HEADERS + b"X-Slow: " + b"a" * 100:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.05)

        raw = await read_while_sending(reader, asyncio.create_task(trickle()))
        elapsed = time.monotonic() - started
        writer.close()
    assert elapsed < 1.5, elapsed
    status, headers, body = parse(raw)
    assert (status, headers["connection"], headers["content-type"]) == (408, "close", "application/json")
    assert body["errors"][0]["extensions"]["code"] == "HEADER_TIMEOUT"
    [line] = [r for r in caplog.records if getattr(r, "code", None) == "HEADER_TIMEOUT"]
    assert line.levelno == logging.INFO
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_the_next_request_on_a_kept_alive_connection_has_the_same_header_deadline(
    http: str, settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with serving(settings, engine, sessions, http=http, header_timeout_s=0.5, keep_alive_s=30) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: hub.test\r\n\r\n")
        await writer.drain()
        first = await reader.readuntil(b'{"status":"ok"}')
        assert first.startswith(b"HTTP/1.1 200")
        await asyncio.sleep(1.0)  # idle, within keep-alive: still open
        started = time.monotonic()

        async def trickle() -> None:
            for byte in b"GET /healthz HTTP/1.1\r\nHost: hub.test\r\nX-Slow: " + b"a" * 100:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.05)

        raw = await read_while_sending(reader, asyncio.create_task(trickle()))
        elapsed = time.monotonic() - started
        writer.close()
    assert elapsed < 1.5, elapsed
    assert parse(raw)[0] == 408


async def test_a_connection_that_never_sends_a_request_is_closed(
    http: str, settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with serving(settings, engine, sessions, http=http, header_timeout_s=0.5) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        raw = await read_all(reader)
        assert time.monotonic() - started < 1.5
        writer.close()
    assert parse(raw)[0] == 408


async def test_a_body_that_stops_half_way_is_answered_408_and_closed(
    http: str,
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with serving(settings, engine, sessions, http=http, body_timeout_s=0.5) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        writer.write(HEADERS + b"Content-Length: 100\r\n\r\n" + b'{"query": "{')
        await writer.drain()
        raw = await read_all(reader)
        elapsed = time.monotonic() - started
        writer.close()
        await asyncio.sleep(0.2)  # the endpoint ledgers the request after answering
    assert elapsed < 1.5, elapsed
    status, headers, body = parse(raw)
    assert (status, headers["connection"]) == (408, "close")
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BODY_TIMEOUT"
    assert error["extensions"]["requestId"] == headers["x-request-id"]
    event = await session.scalar(select(AuditEvent).where(AuditEvent.request_id == headers["x-request-id"]))
    assert event is not None
    assert (event.outcome, event.detail) == ("invalid", {"status": 408, "code": "BODY_TIMEOUT"})
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_a_client_hanging_up_mid_body_is_one_info_line_and_ledgered_as_such(
    http: str,
    settings: Settings,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with serving(settings, engine, sessions, http=http) as port:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            HEADERS + b"X-Request-Id: hangs-up-mid-body\r\nContent-Length: 100\r\n\r\n" + b'{"query"'
        )
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.close()
        # Wait for the endpoint to see the hang-up without touching the store: the test's session
        # shares the served hub's connection (savepoints), so querying while the endpoint ledgers
        # the request interleaves their savepoints. Leaving `serving` waits for the request's task.
        for _ in range(100):
            if any(getattr(r, "code", None) == "CLIENT_DISCONNECTED" for r in caplog.records):
                break
            await asyncio.sleep(0.05)
    event = await session.scalar(select(AuditEvent).where(AuditEvent.correlation_id == "hangs-up-mid-body"))
    assert event is not None
    assert (event.outcome, event.detail) == ("invalid", {"status": 499, "code": "CLIENT_DISCONNECTED"})
    # (Besides the access line every request has.)
    [line] = [
        r
        for r in caplog.records
        if getattr(r, "code", None) == "CLIENT_DISCONNECTED" and r.getMessage() != "request"
    ]
    assert line.levelno == logging.INFO
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_connections_beyond_the_limit_are_refused_at_once(
    http: str, settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with serving(settings, engine, sessions, http=http, max_connections=2, header_timeout_s=5) as port:
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        raw = await read_all(reader)
        assert time.monotonic() - started < 0.5
        writer.close()
        status, headers, body = parse(raw)
        assert (status, headers["retry-after"]) == (503, "1")
        assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_CONNECTIONS"

        held[0][1].close()  # one held connection goes: there is room again
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: hub.test\r\nConnection: close\r\n\r\n")
        raw = await read_all(reader)
        writer.close()
        held[1][1].close()
    assert raw.startswith(b"HTTP/1.1 200")


async def test_a_refusal_during_an_outage_is_one_line_with_its_code(
    gql: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def gone(*_: object, **__: object) -> None:
        raise ConnectionRefusedError(111, "Connect call failed")

    await gql("{ facilities(first: 1) { totalCount } }")  # the token is minted before the outage
    fail_read(monkeypatch, "resolvers.people.list_facilities", gone)
    caplog.clear()
    caplog.set_level(logging.INFO)
    for _ in range(3):
        assert (await gql("{ facilities(first: 1) { totalCount } }")).status_code == 503
    refusals = [r for r in caplog.records if r.name == "hub.graphql"]
    assert [(r.levelno, getattr(r, "code", None)) for r in refusals] == [
        (logging.WARNING, "STORE_UNAVAILABLE")
    ] * 3
    assert not [r for r in caplog.records if r.exc_info]


def test_hub_serve_runs_httptools_on_uvloop(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    """What ``_serve`` hands uvicorn (the tests above hold each protocol on a real socket)."""
    import hub.logs
    from hub import cli

    seen: list[uvicorn.Config] = []

    class Recorded:
        started = True

        def __init__(self, config: uvicorn.Config) -> None:
            seen.append(config)

        def run(self) -> None:
            pass

    monkeypatch.setattr(uvicorn, "Server", Recorded)
    monkeypatch.setattr(cli, "check_port_free", lambda host, port: None)
    monkeypatch.setattr(hub.logs, "configure_logging", lambda level: None)
    assert cli._serve(settings) == 0
    assert cli._serve(settings.model_copy(update={"http": "h11"})) == 0
    [default, h11] = seen
    assert (default.loop, default.http) == ("uvloop", HttpToolsDeadlineProtocol)
    assert (h11.loop, h11.http) == ("uvloop", DeadlineProtocol)
