"""The composition root: ``create_app(settings)`` wires settings, store, schema, auth and HTTP."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth.principal import Principal, Unauthenticated
from hub.db import check_store, create_engine, session_factory
from hub.endpoint import Authenticator, GraphQLEndpoint
from hub.errors import HubError
from hub.middleware import RequestContextMiddleware
from hub.settings import Settings
from schema.execution import Executor
from schema.root import build_schema


async def _no_credentials_accepted(request: Request) -> Principal:
    raise Unauthenticated("invalid_token", "no token issuer is configured")


def create_app(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    authenticate: Authenticator | None = None,
) -> Starlette:
    """The hub's ASGI application. ``engine``/``sessions``/``authenticate`` are for tests."""
    owns_engine = engine is None
    engine = engine or create_engine(settings)
    sessions = sessions or session_factory(engine)
    executor = Executor(build_schema())

    graphql = GraphQLEndpoint(
        executor=executor,
        sessions=sessions,
        authenticate=authenticate or _no_credentials_accepted,
        max_body_bytes=settings.max_body_bytes,
        request_timeout_s=settings.request_timeout_s,
        graphiql=settings.graphiql,
    )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            await check_store(engine, settings, within=1.0)
        except HubError as exc:
            return JSONResponse({"status": "unavailable", "reason": str(exc)}, status_code=503)
        return JSONResponse({"status": "ready"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if owns_engine:
            await engine.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql.handle, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(RequestContextMiddleware)
    app.state.settings = settings
    app.state.engine = engine
    app.state.executor = executor
    return app


def app_from_environment() -> Starlette:
    """The factory uvicorn calls in each worker process (``hub serve``)."""
    from hub.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_level)
    return create_app(settings)
