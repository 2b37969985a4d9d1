"""One suite, two stores: SQLite by default, PostgreSQL when ``HUB_TEST_DATABASE_URL`` names one.

The store is migrated once per session; each test runs inside a transaction that is rolled back at
the end (SQLAlchemy's "joining a session into an external transaction" recipe), so the endpoint's
commits become savepoints and no test sees another's rows.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from auth.keys import KeyPolicy, ensure_signing_key
from hub.app import Identity, create_app
from hub.db import create_engine, session_factory, upgrade
from hub.settings import Settings
from resolvers.models.partners import Audience, Client, Partner
from resolvers.session import RequestDb
from tests.factories.partners import make_client, make_partner


def _test_database_url(tmp: Path) -> str:
    return os.environ.get("HUB_TEST_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp / 'test.db'}"


@pytest.fixture(scope="session")
def tmp_store_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hub-test-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="session")
def settings(tmp_store_dir: Path) -> Settings:
    # Rate counts written with every request: a flush in the background would outlive the test's
    # rolled-back transaction. tests/auth/test_rate_batching.py tests the batched counting itself.
    # Likewise each ledger event in its own transaction (tests/hub/test_ledger_group_commit.py tests
    # the group commit, on this fixture's store and on stores of its own).
    return Settings(
        database_url=_test_database_url(tmp_store_dir),
        issuer="http://hub.test",
        rate_flush_ms=0,
        ledger_batch_ms=0,
    )


@pytest.fixture(scope="session")
def is_postgres(settings: Settings) -> bool:
    return not settings.is_sqlite


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    url = os.environ.get("HUB_TEST_DATABASE_URL", "")
    if url.startswith("postgres"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set HUB_TEST_DATABASE_URL")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings)
    await upgrade(engine)
    # One signing key for the session, committed, as `hub serve` creates at its first start; tests
    # that rotate keys do it in their own (rolled back) transaction.
    async with session_factory(engine)() as s:
        if await ensure_signing_key(s, KeyPolicy()):
            await s.commit()
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def no_task_outlives_the_session(engine: AsyncEngine) -> AsyncIterator[None]:
    """Stops, before the store's engine is disposed, any task a test left running on the session's
    event loop, and names it on stderr.

    Left to the loop's own shutdown, such a task is cancelled only after the engine's pool is gone:
    the connection it held is never closed, and the run ends on aiosqlite's ResourceWarning for it,
    a failure no test is blamed for.
    """
    yield
    current = asyncio.current_task()
    left = [task for task in asyncio.all_tasks() if task is not current and not task.done()]
    for task in left:
        print(f"a task outlived its test: {task.get_coro()!r}", file=sys.stderr)
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)


@pytest_asyncio.fixture(loop_scope="session")
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        outer = await conn.begin()
        try:
            yield conn
        finally:
            await outer.rollback()


@pytest.fixture
def sessions(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
    )


@pytest_asyncio.fixture(loop_scope="session")
async def session(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session in the test's transaction, for factories and assertions."""
    async with sessions() as s:
        yield s


@pytest.fixture
def db(session: AsyncSession) -> RequestDb:
    return RequestDb(session)


# --- identity: partners, clients and real tokens ------------------------------------------------


@pytest_asyncio.fixture(loop_scope="session")
async def partners(session: AsyncSession) -> dict[Audience, Partner]:
    """One partner per audience, in the test's transaction: the callers ``gql`` posts as."""
    return {audience: await make_partner(session, audience) for audience in Audience}


@pytest_asyncio.fixture(loop_scope="session")
async def partner_clients(session: AsyncSession, partners: dict[Audience, Partner]) -> dict[Audience, Client]:
    return {audience: await make_client(session, partner) for audience, partner in partners.items()}


Mint = Callable[..., Awaitable[str]]


@pytest.fixture
def mint(
    app: Starlette,
    session: AsyncSession,
    partners: dict[Audience, Partner],
    partner_clients: dict[Audience, Client],
) -> Mint:
    """A real access token from the hub's token service: ``await mint(Audience.REENTRY)``, or
    ``await mint(client=c, partner=p)`` for a client of the test's own."""
    identity: Identity = app.state.identity

    async def issue(
        audience: Audience = Audience.ADMIN, *, client: Client | None = None, partner: Partner | None = None
    ) -> str:
        client = client or partner_clients[audience]
        partner = partner or partners[audience]
        issued = await identity.issuer.issue(
            session, client, partner, client.scopes.split(), now=int(time.time())
        )
        return issued.access_token

    return issue


# --- HTTP ---------------------------------------------------------------------------------------------


@pytest.fixture
def app(settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]) -> Starlette:
    """The hub as built for production: real token verification, sessions in the test transaction."""
    return create_app(settings, engine=engine, sessions=sessions)


@pytest_asyncio.fixture(loop_scope="session")
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
        yield c


GraphQL = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
def gql(client: httpx.AsyncClient, mint: Mint) -> GraphQL:
    """POST an operation as an audience's partner: ``await gql(query, variables, audience=Audience.ADMIN)``.

    The bearer token is a real one from the token service (one per audience per test); ``token=``
    sends another instead.
    """
    issued: dict[Audience, str] = {}

    async def post(
        query: str,
        variables: dict[str, object] | None = None,
        *,
        audience: Audience = Audience.ADMIN,
        token: str | None = None,
    ) -> httpx.Response:
        if token is None:
            if audience not in issued:
                issued[audience] = await mint(audience)
            token = issued[audience]
        return await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )

    return post
