"""The department's console: server-rendered pages for the people who run the hub, on ``/console``.

A separate Starlette app mounted by ``hub/app.py``. It reads and writes nothing itself: every page
calls the hub's GraphQL API with the signed-in person's token (``hub/console/api.py``), so it shows
what that person's audience may see and each page view is in the ledger under their identity.

Security model (docs/console.md): a strict Content-Security-Policy (every script and style a vendored
file under ``/console/static``; ``static/MANIFEST.json`` lists their versions and hashes), a CSRF token
bound to the session on every form, a session cookie that is HttpOnly, SameSite=Strict and Secure
behind https, sessions in the store (the token sealed under the cookie's id: hub/console/sessions.py),
an idle timeout (``HUB_CONSOLE_SESSION_TIMEOUT_S``) and sign-out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth.issuance import TokenIssuer
from auth.issuers import ExternalIssuer
from auth.keys import KeyStore
from hub.console import views
from hub.console.api import ConsoleApi
from hub.console.pages import Console, Refused, _SignIn, http_error
from hub.console.security import SecurityHeaders
from hub.settings import Settings

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("hub.console")


def build_console(
    settings: Settings,
    *,
    hub: Callable[[], ASGIApp],
    keys: KeyStore,
    issuer: TokenIssuer,
    sessions: async_sessionmaker[AsyncSession],
    verifiers: Mapping[str, ExternalIssuer] | None = None,
) -> ASGIApp:
    """The console app; ``hub`` returns the app that mounts it (the API it calls in-process);
    ``verifiers`` check the staff tokens of ``HUB_ISSUERS`` (the API's own)."""
    console = Console(
        settings,
        api=ConsoleApi(hub, settings.issuer),
        keys=keys,
        issuer=issuer,
        db_sessions=sessions,
    )
    if settings.console_oidc:
        from hub.console.oidc import OidcSignIn

        console.oidc = OidcSignIn(
            settings.console_oidc,
            verifiers or {},
            f"{settings.issuer}/console/signin/oidc/callback",
            db=sessions,
        )

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        if request.url.path.endswith(("/graphiql/token", "/api/graphql")):
            from hub.console.pages import json_refusal

            return json_refusal(exc)
        return console.refused(request, exc)

    async def not_found(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return console.refused(request, http_error(request, exc))

    async def sign_in_first(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _SignIn)
        session = console.session(request)
        if exc.message:
            session.flash.append(exc.message)
        return console.redirect(request, f"/signin?next={exc.next_path}")

    async def server_error(request: Request, exc: Exception) -> Response:
        request_id = getattr(request.state, "request_id", "")
        log.error("console page failed", exc_info=exc, extra={"path": request.url.path})
        return console.refused(
            request,
            Refused(500, f"Something went wrong on the hub's side (request id {request_id}). Try again."),
        )

    app = Starlette(
        routes=[
            *views.routes(console),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        exception_handlers={
            Refused: refused,
            _SignIn: sign_in_first,
            HTTPException: not_found,
            Exception: server_error,
        },
        middleware=[Middleware(SessionMiddleware, console=console)],
    )
    app.state.console = console
    return SecurityHeaders(app)


class SessionMiddleware:
    """Reads the request's console session from the store before the routes run and writes it back
    before the response starts (static files have none)."""

    def __init__(self, app: ASGIApp, console: Console) -> None:
        self.app = app
        self.console = console

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "/static/" in scope["path"]:
            await self.app(scope, receive, send)
            return
        await self.console.load_session(scope)

        async def saving(message: Message) -> None:
            if message["type"] == "http.response.start":
                await self.console.save_session(scope)
            await send(message)

        await self.app(scope, receive, saving)


__all__ = ["build_console"]
