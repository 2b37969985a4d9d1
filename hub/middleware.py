"""Request context: a request id on every request, log line and response; security headers; the
access log line and the request metrics."""

from __future__ import annotations

import logging
import re
import time
import uuid

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Tracer
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.logs import Access, access_var, request_id_var
from hub.metrics import HubMetrics, route_label
from hub.tracing import tracer_for

log = logging.getLogger("hub.http")

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

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


#: Response headers a browser client may read (with ``HUB_CORS_ORIGINS``).
EXPOSED_HEADERS = ("X-Request-Id", "Retry-After")


def _outcome(status: int) -> str:
    if status < 400:
        return "served"
    return "error" if status >= 500 else "refused"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: HubMetrics | None = None, tracer: Tracer | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.tracer = tracer or tracer_for(None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        access = Access()
        access_token = access_var.set(access)
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-Id"] = request_id
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not headers.get("content-type", "").startswith("text/html"):
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
