"""The composition root: ``create_app(settings)`` wires settings, store, schema, auth and HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, request_response
from starlette.types import Receive, Scope, Send

from auth.bearer import AccessTokens, BearerAuthenticator, ClientStates
from auth.client_auth import ClientAuthenticator
from auth.embargo import VictimEmbargo
from auth.issuance import TokenIssuer
from auth.issuers import ExternalIssuer
from auth.keys import KeyPolicy, KeyStore, ensure_signing_key
from auth.ledger_appender import LedgerAppender
from auth.ledger_requests import RequestLedger
from auth.oauth import OAuthEndpoints, endpoint_urls
from auth.persisted import PersistedOperations
from auth.rate_limits import RateLimiter
from auth.throttle import Throttle, ThrottlePolicy
from hub.db import ReadReplica, check_store, create_engine, head_revision, session_factory
from hub.delivery.acknowledgement import acknowledgements
from hub.endpoint import Authenticator, GraphQLEndpoint
from hub.errors import HubError
from hub.http_errors import EXCEPTION_HANDLERS, JSONCORSMiddleware
from hub.metrics import HubMetrics, serve_metrics
from hub.middleware import EXPOSED_HEADERS, RequestContextMiddleware
from hub.research_extracts import extracts
from hub.settings import Settings
from hub.slow_clients import BodyDeadlineMiddleware
from hub.tracing import instrument_engine, provider_from_environment, tracer_for
from resolvers.models.partners import Audience
from schema.audiences import audience_schemas
from schema.execution import Executor
from schema.limits import Limits
from schema.root import build_schema


@dataclass(frozen=True)
class Identity:
    """The authorization server and the bearer-token verifier, built from one set of settings."""

    keys: KeyStore
    issuer: TokenIssuer
    authenticate: BearerAuthenticator
    oauth: OAuthEndpoints


def build_identity(settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> Identity:
    policy = KeyPolicy(
        alg=settings.signing_alg,
        passphrase=settings.passphrase,
        token_ttl=timedelta(seconds=settings.token_ttl_s),
        cache_s=settings.key_cache_s,
        rotate_every=timedelta(days=settings.key_rotate_days),
    )
    keys = KeyStore(sessions, policy)
    issuer = TokenIssuer(keys=keys, issuer=settings.issuer, ttl=policy.token_ttl)
    access_tokens = AccessTokens(keys=keys, issuer=settings.issuer, max_lifetime_s=settings.token_ttl_s)
    states = ClientStates(sessions, settings.client_status_cache_s)
    external = {
        config.issuer: ExternalIssuer(config, cache_s=settings.issuer_jwks_cache_s)
        for config in settings.issuers
    }
    clients = ClientAuthenticator(
        throttle=Throttle(
            ThrottlePolicy(
                client_after=settings.auth_throttle_after,
                address_after=settings.auth_throttle_address_after,
                max_s=settings.auth_throttle_max_s,
                forget_s=settings.auth_throttle_forget_s,
                global_per_minute=settings.auth_failures_per_minute,
            )
        ),
        assertion_audiences=[endpoint_urls(settings.issuer)["token"], settings.issuer],
        pepper=settings.secret_pepper_key,
    )
    return Identity(
        keys=keys,
        issuer=issuer,
        authenticate=BearerAuthenticator(access_tokens=access_tokens, states=states, issuers=external),
        oauth=OAuthEndpoints(
            sessions=sessions,
            clients=clients,
            issuer=issuer,
            keys=keys,
            access_tokens=access_tokens,
            states=states,
            max_assertion_chars=settings.max_assertion_chars,
        ),
    )


class AnyMethod:
    """A request/response endpoint as an ASGI app, so its route passes every method through
    (a function endpoint's route takes only the methods it lists and answers others itself)."""

    def __init__(self, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        self.app = request_response(endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def limits_for(settings: Settings, audience: Audience) -> Limits:
    """The limits one audience's operations run under (``HUB_MAX_*``, the cost per audience)."""
    return Limits(
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
        max_directives=settings.max_directives,
        max_query_length=settings.max_query_length,
        max_cost=settings.max_cost_by_audience.get(audience.value, settings.max_cost),
    )


def create_app(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    authenticate: Authenticator | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Starlette:
    """The hub's ASGI application. ``engine``/``sessions``/``authenticate``/``tracer_provider`` are for
    tests; in production the ``OTEL_*`` variables decide the tracer provider (hub/tracing.py)."""
    owns_engine = engine is None
    engine = engine or create_engine(settings)
    owns_provider = tracer_provider is None
    tracer_provider = tracer_provider or provider_from_environment()
    tracer = tracer_for(tracer_provider)
    uninstrument = instrument_engine(engine, tracer) if tracer_provider is not None else None
    sessions = sessions or session_factory(engine)
    # HUB_LEDGER=off-for-benchmark takes out the whole ledger (recording and writing) to measure it.
    metrics = HubMetrics()
    # HUB_LEDGER_BATCH_MS above 0: the events of concurrent queries (and refusals) are committed in
    # groups; a mutation's event stays in its own transaction (auth/ledger_appender.py).
    # On PostgreSQL the appender writes through a connection of its own: from the shared pool it would
    # queue behind every request waiting for a connection, and each batch would wait that long too (a
    # person-by-id run at 32 connections: about 50 ms per batch, the ledger the whole bound). It keeps
    # that connection across batches, in autocommit: a batch is one call of hub_ledger_append.
    ledger_engine = (
        create_engine(settings.model_copy(update={"db_pool_size": 1}))
        if owns_engine and not settings.is_sqlite and settings.ledger == "on" and settings.ledger_batch_ms > 0
        else None
    )
    appender = (
        LedgerAppender(
            session_factory(ledger_engine) if ledger_engine is not None else sessions,
            window_s=settings.ledger_batch_ms / 1000,
            on_batch=metrics.observe_batch,
            engine=ledger_engine,
        )
        if settings.ledger == "on" and settings.ledger_batch_ms > 0
        else None
    )
    ledger = RequestLedger(enabled=settings.ledger == "on", appender=appender)
    schemas = audience_schemas(build_schema(), record=ledger.enabled)
    executors = {
        audience: Executor.over(
            schema, limits_for(settings, audience), compiled=settings.execution == "compiled"
        )
        for audience, schema in schemas.items()
    }
    identity = build_identity(settings, sessions)
    pool = engine.pool
    metrics.track_pool(lambda: int(getattr(pool, "checkedout", lambda: 0)()))
    # Queries read from HUB_READ_DATABASE_URL's streaming replica when it is close enough; everything
    # else (and the ledger event of every query) stays on the primary (docs/operations.md).
    replica = ReadReplica.from_settings(settings, engine, metrics)

    graphql = GraphQLEndpoint(
        executors=executors,
        sessions=sessions,
        authenticate=authenticate or identity.authenticate,
        max_body_bytes=settings.max_body_bytes,
        request_timeout_s=settings.request_timeout_s,
        graphiql=settings.graphiql,
        graphiql_url="/console/graphiql" if settings.console else None,
        ledger=ledger,
        persisted=PersistedOperations(
            sessions,
            max_per_client=settings.apq_max_per_client,
            expire_days=settings.apq_expire_days,
            recheck_s=settings.client_status_cache_s,
        ),
        rate_limits=RateLimiter(
            sessions,
            requests_per_minute=settings.rate_requests_per_minute,
            cost_per_minute=settings.rate_cost_per_minute,
            flush_interval_s=settings.rate_flush_ms / 1000,
        ),
        metrics=metrics,
        tracer=tracer,
        replica=replica,
        embargo=VictimEmbargo(minutes=settings.victim_embargo_minutes),
        pepper=settings.secret_pepper_key,
        key_policy=identity.keys.policy,
        migration_head=head_revision(),
    )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        try:
            await check_store(engine, settings, within=1.0)
        except HubError as exc:
            return JSONResponse({"status": "unavailable", "reason": str(exc)}, status_code=503)
        if replica is None:
            return JSONResponse({"status": "ready"})
        # A replica that is down or behind is not an outage: queries read from the primary meanwhile.
        await replica.current()
        return JSONResponse({"status": "ready", "replica": replica.describe()})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The first start of a store creates its signing key (several workers may race: each key
        # they create is valid, and the newest signs).
        async with sessions() as session:
            if await ensure_signing_key(session, identity.keys.policy):
                await session.commit()
        # One process serves its own metrics; with several workers `hub serve` serves them all from
        # the multiprocess directory instead (hub/metrics.py).
        listener = None
        if settings.metrics_port and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            listener = serve_metrics(settings.metrics_host, settings.metrics_port, metrics.registry)
        checkpoints = None
        # The server's own engine only: an app built on a caller's engine (tests) shares its sessions.
        if settings.checkpoint_interval_s > 0 and owns_engine:
            from auth.ledger_checkpoints import emit_checkpoints

            checkpoints = asyncio.create_task(
                emit_checkpoints(
                    sessions,
                    identity.keys.signer,
                    settings.checkpoint_interval_s,
                    logging.getLogger("hub.ledger"),
                )
            )
        yield
        if appender is not None:
            with contextlib.suppress(Exception):  # a request still waiting is told; the store may be gone
                await appender.close()
        if graphql.rate_limits is not None:
            with contextlib.suppress(Exception):  # the store may be gone at shutdown
                await graphql.rate_limits.flush()
        if checkpoints is not None:
            checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checkpoints
        if listener is not None:
            listener.shutdown()
            listener.server_close()
        if tracer_provider is not None and owns_provider:
            tracer_provider.shutdown()  # flushes the spans still batched
        if owns_engine:
            await engine.dispose()
        if ledger_engine is not None:
            await ledger_engine.dispose()
        if replica is not None:
            await replica.engine.dispose()

    app = Starlette(
        routes=[
            # Every method reaches the endpoint, which answers what it does not take with a JSON 405.
            Route("/graphql", AnyMethod(graphql.handle)),
            Route("/oauth/token", identity.oauth.token, methods=["POST"]),
            Route("/oauth/revoke", identity.oauth.revoke, methods=["POST"]),
            Route("/.well-known/jwks.json", identity.oauth.jwks, methods=["GET"]),
            Route("/.well-known/oauth-authorization-server", identity.oauth.metadata, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/notifications/ack", acknowledgements(sessions), methods=["GET", "POST"]),
            Route(
                "/research/extracts/{agreement_id}.csv",
                extracts(sessions, authenticate or identity.authenticate),
                methods=["GET"],
            ),
        ],
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
    )
    if settings.console:
        from hub.console import build_console

        # The console calls the whole app (middleware, authentication, ledger) for every page.
        app.mount(
            "/console",
            build_console(
                settings,
                hub=lambda: app,
                keys=identity.keys,
                issuer=identity.issuer,
                sessions=sessions,
                verifiers=identity.authenticate.issuers,
            ),
        )
    if settings.cors_origins:
        # Without HUB_CORS_ORIGINS no CORS header is sent at all: browsers keep other sites out.
        app.add_middleware(
            JSONCORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-Id"],
            expose_headers=list(EXPOSED_HEADERS),
            max_age=600,
        )
    # Inside the request context (its 408 carries the request id); bounds the time a body may take.
    app.add_middleware(BodyDeadlineMiddleware, timeout_s=settings.body_timeout_s)
    # Added last, so outermost: preflights and CORS refusals carry the request id and headers too.
    app.add_middleware(
        RequestContextMiddleware, metrics=metrics, tracer=tracer, trusted_proxies=settings.trusted_proxies
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.executors = executors
    app.state.identity = identity
    app.state.metrics = metrics
    app.state.rate_limits = graphql.rate_limits
    app.state.replica = replica
    #: This app's embargo, as its endpoint hands it to requests (tests move its clock).
    app.state.victim_embargo = graphql.embargo
    app.state.ledger_appender = appender
    #: Takes the SQL statement spans off an engine the app does not own (tests share one engine).
    app.state.uninstrument_engine = uninstrument
    return app


#: Allocations between two young-generation collections when ``HUB_GC_TUNING`` is on (Python's
#: default is 700): a request allocates tens of thousands of short-lived objects.
GC_GEN0_THRESHOLD = 50_000


def tune_collector(settings: Settings) -> None:
    """Freeze the start-up heap and collect the young generation less often.

    Once the app is built, its schema, types and modules live as long as the process: frozen, the
    cyclic collector stops walking them on every full pass. Measured in docs/performance.md.
    """
    if not settings.gc_tuning:
        return
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


def app_from_environment() -> Starlette:
    """The factory uvicorn calls in each worker process (``hub serve``)."""
    from hub.logs import configure_logging

    settings = Settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    tune_collector(settings)
    return app
