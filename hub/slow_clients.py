"""Slow and broken connections: time limits on receiving a request, and a cap on open connections.

uvicorn bounds neither the time a client takes to send its request headers nor its body
(``HUB_REQUEST_TIMEOUT_S`` starts once the body is in), so one client sending a byte a second holds
a connection, and a task, for ever. Two pieces close that:

* The HTTP protocol ``hub serve`` runs (``HUB_HTTP``): ``HttpToolsDeadlineProtocol`` (uvicorn's
  httptools protocol, the C parser, the default) or ``DeadlineProtocol`` (uvicorn's h11 protocol,
  pure Python, kept as the fallback and the reference). Both behave the same: a connection whose
  request line and headers are not complete within ``HUB_HEADER_TIMEOUT_S`` of its first byte (or
  of the connection) is answered ``408`` and closed; a connection beyond ``HUB_MAX_CONNECTIONS``
  open ones (per process) is answered ``503`` with ``Retry-After: 1`` and closed at once. On a
  kept-alive connection the deadline starts again at the first byte of the next request.
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
from collections.abc import Callable
from typing import Any, Literal

import h11
import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("hub.http")

HEADER_TIMEOUT = "HEADER_TIMEOUT"
BODY_TIMEOUT = "BODY_TIMEOUT"
CLIENT_DISCONNECTED = "CLIENT_DISCONNECTED"
TOO_MANY_CONNECTIONS = "TOO_MANY_CONNECTIONS"

#: Where the endpoint learns that the body stopped because its time ran out (not the client).
BODY_TIMED_OUT = "body_timed_out"

#: ``HUB_HTTP``: the HTTP/1.1 implementation under ``hub serve``.
HttpImpl = Literal["httptools", "h11"]


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


def _refused_as_too_many(connections: set[Any], max_connections: int | None, transport: Any) -> bool:
    """Answer ``503`` and close a new connection beyond the limit (it is already counted)."""
    if max_connections is None or len(connections) <= max_connections:
        return False
    log.warning(
        "refused a connection: %d open, the limit is %d",
        len(connections) - 1,
        max_connections,
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
    return True


def _answer_header_timeout(transport: Any, client: tuple[str, int] | None, timeout_s: float) -> None:
    peer = f"{client[0]}:{client[1]}" if client else "?"
    log.info(
        "closed a connection whose request headers took longer than %gs",
        timeout_s,
        extra={"code": HEADER_TIMEOUT, "status": 408, "client": peer},
    )
    transport.write(
        _raw_response(
            408,
            "Request Timeout",
            HEADER_TIMEOUT,
            f"the request headers did not arrive within {timeout_s:g} s",
        )
    )
    transport.close()


class _HeaderTimer:
    """One connection's header deadline: armed at the connection and at each next request's first byte."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, timeout_s: float, expired: Callable[[], None]
    ) -> None:
        self.loop = loop
        self.timeout_s = timeout_s
        self.expired = expired
        self.handle: asyncio.TimerHandle | None = None

    @property
    def armed(self) -> bool:
        return self.handle is not None

    def arm(self) -> None:
        self.disarm()
        self.handle = self.loop.call_later(self.timeout_s, self._fire)

    def disarm(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None

    def _fire(self) -> None:
        self.handle = None
        self.expired()


class DeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on request headers and a cap on open connections.

    Reads ``header_timeout_s`` and ``max_connections`` from the uvicorn config (``configure``).
    """

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.header_timeout_s: float = float(getattr(config, "header_timeout_s", 10.0))
        self.max_connections: int | None = getattr(config, "max_connections", None)
        self._header_timer = _HeaderTimer(self.loop, self.header_timeout_s, self._headers_too_slow)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not _refused_as_too_many(self.connections, self.max_connections, transport):
            self._header_timer.arm()

    def data_received(self, data: bytes) -> None:
        if not self._header_timer.armed and self.conn.their_state is h11.IDLE:
            self._header_timer.arm()  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._header_timer.disarm()  # the request line and headers are in

    def connection_lost(self, exc: Exception | None) -> None:
        self._header_timer.disarm()
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        _answer_header_timeout(self.transport, self.client, self.header_timeout_s)


class HttpToolsDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the same header deadline and connection cap.

    httptools calls ``on_message_begin`` at a request's first byte and ``on_headers_complete`` once
    its request line and headers are parsed: the deadline runs between the two (and from the
    connection, for its first request).
    """

    def __init__(self, config: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.header_timeout_s: float = float(getattr(config, "header_timeout_s", 10.0))
        self.max_connections: int | None = getattr(config, "max_connections", None)
        self._header_timer = _HeaderTimer(self.loop, self.header_timeout_s, self._headers_too_slow)
        self._awaiting_headers = True  # no request's headers are complete on this connection yet

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if not _refused_as_too_many(self.connections, self.max_connections, transport):
            self._header_timer.arm()

    def on_message_begin(self) -> None:
        self._awaiting_headers = True
        if not self._header_timer.armed:
            self._header_timer.arm()  # the first byte of the next request on a kept-alive connection
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._header_timer.disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._header_timer.disarm()
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        if self.transport.is_closing() or not self._awaiting_headers:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # A pipelined request waits behind a response still being written: never cut into it.
            self._header_timer.arm()
            return
        _answer_header_timeout(self.transport, self.client, self.header_timeout_s)


#: The protocol class for each ``HUB_HTTP``.
PROTOCOLS: dict[str, type[asyncio.Protocol]] = {
    "httptools": HttpToolsDeadlineProtocol,
    "h11": DeadlineProtocol,
}


def configure(
    config: Any,
    *,
    header_timeout_s: float,
    max_connections: int,
    keep_alive_s: float,
    http: HttpImpl = "httptools",
) -> None:
    """Make a ``uvicorn.Config`` serve with the ``http`` deadline protocol and these limits."""
    config.http = PROTOCOLS[http]
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
