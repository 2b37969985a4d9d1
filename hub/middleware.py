"""Request context: a request id on every request, log line and response; the caller's correlation id
and source address for the ledger; security headers; the access log line and the request metrics.

The request id is always the hub's own (a random UUID): a caller's ``X-Request-Id`` is kept as its
correlation id, validated (printable ASCII, at most 128 characters, else ignored), recorded on the
ledger event and echoed in ``X-Correlation-Id``. A caller can so neither choose the ledger's request
id nor collide with another request's.

The source address is the peer's, unless the peer is a trusted proxy (``HUB_TRUSTED_PROXIES``): then
``X-Forwarded-For`` is read from the right, skipping trusted proxies, and the first other address is
the caller's (entries left of it were written by the caller and prove nothing).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
import uuid
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Tracer
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.audit import request_origin
from hub.logs import Access, access_var, request_id_var
from hub.metrics import HubMetrics, route_label
from hub.tracing import tracer_for

log = logging.getLogger("hub.http")

#: A correlation id: printable ASCII (space included), 1 to 128 characters.
_VALID_CORRELATION = re.compile(r"^[\x20-\x7e]{1,128}$")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
    # Browsers ignore it over plain HTTP; behind TLS it keeps them from ever downgrading.
    "Strict-Transport-Security": "max-age=31536000",
}
#: For every response but GraphiQL's page (demo mode), which loads its scripts from a CDN.
NO_CONTENT_POLICY = "default-src 'none'; frame-ancestors 'none'"
GRAPHIQL_PATH = "/graphql"


def is_graphiql_page(path: str, content_type: str) -> bool:
    """The one response without a Content-Security-Policy: the HTML of ``/graphql`` (GraphiQL)."""
    return path == GRAPHIQL_PATH and content_type.startswith("text/html")


#: Response headers a browser client may read (with ``HUB_CORS_ORIGINS``).
EXPOSED_HEADERS = ("X-Request-Id", "X-Correlation-Id", "Retry-After")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def correlation_id(raw: bytes | None) -> str | None:
    """The caller's ``X-Request-Id`` if it is a valid correlation id, else None."""
    if not raw:
        return None
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    return text if _VALID_CORRELATION.match(text) else None


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def source_address(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str | None:
    """The caller's address: the peer's, or, behind trusted proxies, the nearest untrusted hop."""
    if peer is None:
        return None
    here = _address(peer)
    if here is None:
        return peer[:64]

    def is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address.version == net.version and address in net for net in trusted)

    if not forwarded_for or not is_trusted(here):
        return str(here)
    for hop in reversed(forwarded_for.split(",")):
        address = _address(hop)
        if address is None:
            # A malformed entry: what lies beyond it cannot be trusted either.
            return str(here)
        here = address
        if not is_trusted(address):
            return str(address)
    return str(here)


def _outcome(status: int) -> str:
    if status < 400:
        return "served"
    return "error" if status >= 500 else "refused"


class RequestContextMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        metrics: HubMetrics | None = None,
        tracer: Tracer | None = None,
        trusted_proxies: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.tracer = tracer or tracer_for(None)
        self.trusted = tuple(ipaddress.ip_network(p, strict=False) for p in trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        correlation = correlation_id(headers.get(b"x-request-id"))
        forwarded = headers.get(b"x-forwarded-for")
        client = scope.get("client")
        source = source_address(
            client[0] if client else None, forwarded.decode("latin-1") if forwarded else None, self.trusted
        )
        request_id = uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["correlation_id"] = correlation
        state["source_address"] = source
        token = request_id_var.set(request_id)
        access = Access()
        access_token = access_var.set(access)
        origin = request_origin.set((correlation, source))
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = request_id
                if correlation is not None:
                    headers["X-Correlation-Id"] = correlation
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not is_graphiql_page(scope["path"], headers.get("content-type", "")):
                    headers.setdefault("Content-Security-Policy", NO_CONTENT_POLICY)
            await send(message)

        route = route_label(scope["path"])
        span = self.tracer.start_span(
            f"{scope['method']} {route}",
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": scope["method"],
                "http.route": route,
                "hub.request_id": request_id,
            },
        )
        # The request's span is current until its access line is written (the line carries its trace id).
        with trace.use_span(span, end_on_exit=True):
            try:
                await self.app(scope, receive, send_with_headers)
            finally:
                span.set_attribute("http.response.status_code", status)
                self._account(scope, route, access, status, time.perf_counter() - started)
                access_var.reset(access_token)
                request_origin.reset(origin)
                request_id_var.reset(token)

    def _account(self, scope: Scope, route: str, access: Access, status: int, seconds: float) -> None:
        """The access log line (who asked, what, how it ended; never variables or data) and metrics."""
        outcome = access.outcome or _outcome(status)
        log.info(
            "request",
            extra={
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "client_id": access.client_id,
                "staff_subject": access.staff_subject,
                "audience": access.audience,
                "operation": access.operation,
                "outcome": outcome,
                "code": access.code,
                "cost": access.cost,
            },
        )
        if self.metrics is not None:
            self.metrics.observe_request(
                route=route,
                audience=access.audience,
                operation=access.operation,
                outcome=outcome,
                status=status,
                seconds=seconds,
                code=access.code,
                cost=access.cost,
            )
