"""Slow and broken connections: time limits on receiving a request, and a cap on open connections.

uvicorn bounds neither the time a client takes to send its request headers nor its body
(``HUB_REQUEST_TIMEOUT_S`` starts once the body is in), so one client sending a byte a second holds
a connection, and a task, for ever. Two pieces close that:

* ``DeadlineProtocol`` (uvicorn's h11 protocol, for ``hub serve``): a connection whose request line
  and headers are not complete within ``HUB_HEADER_TIMEOUT_S`` of its first byte (or of the
  connection) is answered ``408`` and closed; a connection beyond ``HUB_MAX_CONNECTIONS`` open ones
  (per process) is answered ``503`` with ``Retry-After: 1`` and closed at once.
* ``BodyDeadlineMiddleware`` (ASGI, every route): the whole body must arrive within
  ``HUB_BODY_TIMEOUT_S`` of the headers, or the request is answered ``408 BODY_TIMEOUT`` and the
  connection closed. A client that disconnects before sending its whole body is one INFO line
  (``CLIENT_DISCONNECTED``), never an error with a traceback.

Both answer JSON with a code and a request id, as every response of the hub does.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import h11
import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("hub.http")

HEADER_TIMEOUT = "HEADER_TIMEOUT"
BODY_TIMEOUT = "BODY_TIMEOUT"
CLIENT_DISCONNECTED = "CLIENT_DISCONNECTED"
TOO_MANY_CONNECTIONS = "TOO_MANY_CONNECTIONS"

#: Where the endpoint learns that the body stopped because its time ran out (not the client).
BODY_TIMED_OUT = "body_timed_out"


def _raw_response(status: int, reason: str, code: str, message: str, extra: str = "") -> bytes:
    """A whole HTTP/1.1 response written straight to the socket (no request was parsed)."""
    request_id = uuid.uuid4().hex
    body = orjson.dumps(
        {"errors": [{"message": message, "extensions": {"code": code, "requestId": request_id}}]}
    )
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        f"x-request-id: {request_id}\r\ncache-control: no-store\r\nx-content-type-options: nosniff\r\n"
        f"{extra}connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class DeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on request headers and a cap on open connections.

    Reads ``header_timeout_s`` and ``max_connections`` from the uvicorn config (``configure``).
    """

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.header_timeout_s: float = float(getattr(config, "header_timeout_s", 10.0))
        self.max_connections: int | None = getattr(config, "max_connections", None)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.max_connections is not None and len(self.connections) > self.max_connections:
            log.warning(
                "refused a connection: %d open, the limit is %d",
                len(self.connections) - 1,
                self.max_connections,
                extra={"code": TOO_MANY_CONNECTIONS, "status": 503},
            )
            transport.write(
                _raw_response(
                    503,
                    "Service Unavailable",
                    TOO_MANY_CONNECTIONS,
                    "the hub has too many open connections; retry shortly",
                    "retry-after: 1\r\n",
                )
            )
            transport.close()
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and self.conn.their_state is h11.IDLE:
            self._arm()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()  # the request line and headers are in

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "?"
        log.info(
            "closed a connection whose request headers took longer than %gs",
            self.header_timeout_s,
            extra={"code": HEADER_TIMEOUT, "status": 408, "client": client},
        )
        self.transport.write(
            _raw_response(
                408,
                "Request Timeout",
                HEADER_TIMEOUT,
                f"the request headers did not arrive within {self.header_timeout_s:g} s",
            )
        )
        self.transport.close()


def configure(config: Any, *, header_timeout_s: float, max_connections: int, keep_alive_s: float) -> None:
    """Make a ``uvicorn.Config`` serve with ``DeadlineProtocol`` and these limits."""
    config.http = DeadlineProtocol
    config.header_timeout_s = header_timeout_s
    config.max_connections = max_connections
    config.timeout_keep_alive = keep_alive_s


class BodyDeadlineMiddleware:
    """The request body must arrive within ``timeout_s`` of the headers (the app's first look)."""

    def __init__(self, app: ASGIApp, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        body_done = False
        responded = False  # this middleware answered 408: what the app sends after is dropped
        started = False

        async def bounded_receive() -> Message:
            nonlocal body_done, responded
            if body_done or responded:
                return await receive()
            try:
                async with asyncio.timeout(max(deadline - loop.time(), 0.0)):
                    message = await receive()
            except TimeoutError:
                scope.setdefault("state", {})[BODY_TIMED_OUT] = True
                log.info(
                    "the request body did not arrive within %gs; answered 408 and closed",
                    self.timeout_s,
                    extra={"code": BODY_TIMEOUT, "status": 408, "path": scope.get("path")},
                )
                if not started:
                    responded = True
                    await self._refuse(scope, send)
                return {"type": "http.disconnect"}
            if message["type"] == "http.request" and not message.get("more_body", False):
                body_done = True
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if responded:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, bounded_receive, guarded_send)
        except ClientDisconnect:
            # The client went away (or ran out of time) while a route read its body: nothing to answer.
            if not scope.get("state", {}).get(BODY_TIMED_OUT):
                log.info(
                    "the client disconnected before sending the whole body",
                    extra={"code": CLIENT_DISCONNECTED, "path": scope.get("path")},
                )

    async def _refuse(self, scope: Scope, send: Send) -> None:
        request_id = scope.get("state", {}).get("request_id") or uuid.uuid4().hex
        message = f"the request body did not arrive within {self.timeout_s:g} s"
        body = orjson.dumps(
            {"errors": [{"message": message, "extensions": {"code": BODY_TIMEOUT, "requestId": request_id}}]}
        )
        await send(
            {
                "type": "http.response.start",
                "status": 408,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
