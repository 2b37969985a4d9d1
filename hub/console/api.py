"""The console's only way to data: the hub's own GraphQL endpoint, called in-process with the
signed-in person's bearer token.

Each call goes through the whole hub (request context, authentication, the audience's schema, row
scopes, limits, the ledger), exactly as a request from outside would, so a console page can never
show more than its reader's audience may see, and every page view is a ledger event under that
person's identity. The console's own request id travels as the call's correlation id.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.types import ASGIApp

#: The address of the person whose page is being built (as the hub resolved it behind its trusted
#: proxies): the API call carries it as its peer, so the ledger records them, not the console.
caller_address: ContextVar[str] = ContextVar("console_caller_address", default="127.0.0.1")


class _CallerTransport(httpx.ASGITransport):
    """Calls the app in-process with the current page's caller as the connection's peer."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        inner = httpx.ASGITransport(app=self.app, client=(caller_address.get(), 0))
        return await inner.handle_async_request(request)


class SignedOut(Exception):
    """The API no longer accepts the session's token (expired, revoked, its client disabled)."""


@dataclass
class ApiResult:
    data: dict[str, Any] | None
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        return [str(e.get("message", "")) for e in self.errors]


class ConsoleApi:
    """Posts GraphQL operations to the hub app that mounts the console."""

    def __init__(self, hub: Callable[[], ASGIApp], base_url: str) -> None:
        self._hub = hub
        self._base_url = base_url
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        # One client for the process: building one (its TLS context) costs more than a page's query.
        # Its transport calls the app in-process; there is no connection to keep or close.
        if self._client is None:
            transport = _CallerTransport(app=self._hub())
            self._client = httpx.AsyncClient(transport=transport, base_url=self._base_url)
        # Shared by every signed-in person: nothing of one call may travel with the next.
        self._client.cookies.clear()
        return self._client

    async def forward(
        self, token: str, body: bytes, *, correlation_id: str | None = None
    ) -> tuple[int, bytes, str]:
        """GraphiQL's request as it came, with the session's token: (status, body, content type)."""
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        if correlation_id:
            headers["X-Request-Id"] = correlation_id
        response = await self._http().post("/graphql", content=body, headers=headers)
        return (
            response.status_code,
            response.content,
            response.headers.get("content-type", "application/json"),
        )

    async def call(
        self,
        token: str,
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        correlation_id: str | None = None,
    ) -> ApiResult:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if correlation_id:
            headers["X-Request-Id"] = correlation_id
        response = await self._http().post(
            "/graphql", json={"query": document, "variables": variables or {}}, headers=headers
        )
        if response.status_code == 401:
            raise SignedOut(response.headers.get("www-authenticate", "the session's token was refused"))
        try:
            body = response.json()
        except ValueError:
            return ApiResult(None, [{"message": f"the hub answered {response.status_code}"}])
        if not isinstance(body, dict):
            return ApiResult(None, [{"message": f"the hub answered {response.status_code}"}])
        return ApiResult(body.get("data"), list(body.get("errors") or []))
