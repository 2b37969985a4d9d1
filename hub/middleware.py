"""Request context: a request id on every request, log line and response; security headers."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.logs import request_id_var

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
GRAPHIQL_PATH = "/graphql"


def is_graphiql_page(path: str, content_type: str) -> bool:
    """The one response without a Content-Security-Policy: the HTML of ``/graphql`` (GraphiQL)."""
    return path == GRAPHIQL_PATH and content_type.startswith("text/html")


#: Response headers a browser client may read (with ``HUB_CORS_ORIGINS``).
EXPOSED_HEADERS = ("X-Request-Id", "Retry-After")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
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
                if not is_graphiql_page(scope["path"], headers.get("content-type", "")):
                    headers.setdefault("Content-Security-Policy", NO_CONTENT_POLICY)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id_var.reset(token)
