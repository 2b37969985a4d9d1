"""What the notification worker tests run against: a store of their own (the worker commits), a real
SMTP server on 127.0.0.1 (aiosmtpd) and a messaging gateway stub on a real socket (uvicorn)."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from hub.db import create_engine, upgrade
from hub.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@asynccontextmanager
async def worker_store(directory: Path) -> AsyncIterator[tuple[str, AsyncEngine]]:
    """A migrated, empty store: a new SQLite file, or a new database on HUB_TEST_DATABASE_URL's server."""
    base = os.environ.get("HUB_TEST_DATABASE_URL", "")
    if not base.startswith("postgres"):
        url = f"sqlite+aiosqlite:///{directory / f'worker-{secrets.token_hex(4)}.db'}"
        engine = create_engine(Settings(database_url=url))
        try:
            await upgrade(engine)
            yield url, engine
        finally:
            await engine.dispose()
        return
    server = make_url(Settings(database_url=base).database_url)
    name = f"hub_worker_{secrets.token_hex(4)}"
    admin = create_async_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = server.set(database=name).render_as_string(hide_password=False)
        engine = create_engine(Settings(database_url=url))
        try:
            await upgrade(engine)
            yield url, engine
        finally:
            await engine.dispose()
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@dataclass
class Clock:
    """The worker's injected clock; tests move it forward instead of sleeping."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


# --- SMTP -------------------------------------------------------------------------------------------


@dataclass
class Mail:
    recipients: list[str]
    message_id: str
    body: str
    #: Decoded (a subject in Spanish travels RFC 2047-encoded).
    subject: str = ""


class SmtpSink:
    """A real SMTP server: keeps each message it accepts; can refuse or stall a recipient."""

    def __init__(self) -> None:
        self.received: list[Mail] = []
        self.refuse_prefix = "nobody@"
        #: Set to make the next RCPT hang (the client is "mid-delivery"); ``stalled`` is set then.
        self.stall_next = False
        self.stalled = threading.Event()
        #: Set to keep the next message but answer its DATA too late (the client times out).
        self.slow_reply_next = False

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith(self.refuse_prefix):
            return "550 5.1.1 mailbox unavailable"
        if self.stall_next:
            self.stall_next = False
            self.stalled.set()
            await asyncio.sleep(30)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content)
        payload = mail.get_payload(decode=True)
        body = payload.decode() if isinstance(payload, bytes) else str(payload)
        subject = str(make_header(decode_header(str(mail["Subject"] or ""))))
        self.received.append(Mail(list(envelope.rcpt_tos), str(mail["Message-ID"]), body, subject))
        if self.slow_reply_next:
            self.slow_reply_next = False
            await asyncio.sleep(2)
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(port: int | None = None, sink: SmtpSink | None = None) -> Iterator[tuple[SmtpSink, int]]:
    """An SMTP sink listening on 127.0.0.1 (on ``port``: a server that was down comes up there)."""
    sink = sink or SmtpSink()
    port = port or free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


# --- messaging gateway --------------------------------------------------------------------------------


class GatewayStub:
    """Sends each idempotency key once; refuses numbers starting 555-000; can stall one request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.sent: dict[str, dict[str, Any]] = {}
        self.slow_once: set[str] = set()

    async def handle(self, request: Request) -> Response:
        payload = await request.json()
        key = request.headers.get("idempotency-key", "")
        self.requests.append({"key": key, **payload})
        if str(payload["to"]).startswith("555-000"):
            return JSONResponse({"error": "invalid destination number"}, status_code=400)
        if key not in self.sent:
            self.sent[key] = payload
        if key in self.slow_once:
            # Sent, but the answer comes too late: the hub's attempt times out.
            self.slow_once.discard(key)
            await asyncio.sleep(2)
        return JSONResponse({"id": key}, status_code=202)


@asynccontextmanager
async def gateway_server() -> AsyncIterator[tuple[GatewayStub, str]]:
    stub = GatewayStub()
    port = free_port()
    app = Starlette(routes=[Route("/send", stub.handle, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", log_config=None)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for "started"
        await asyncio.sleep(0.01)
    try:
        yield stub, f"http://127.0.0.1:{port}/send"
    finally:
        server.should_exit = True
        await task
