"""One suite, two stores: SQLite by default, PostgreSQL when ``HUB_TEST_DATABASE_URL`` names one.

The store is migrated once per session; each test runs inside a transaction that is rolled back at
the end (SQLAlchemy's "joining a session into an external transaction" recipe), so the endpoint's
commits become savepoints and no test sees another's rows.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request

from auth.principal import Principal, Unauthenticated
from hub.app import create_app
from hub.db import create_engine, upgrade
from hub.settings import Settings
from resolvers.models.partners import Audience
from resolvers.session import RequestDb


def _test_database_url(tmp: Path) -> str:
    return os.environ.get("HUB_TEST_DATABASE_URL") or f"sqlite+aiosqlite:///{tmp / 'test.db'}"


@pytest.fixture(scope="session")
def tmp_store_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hub-test-") as tmp:
        yield Path(tmp)


@pytest.fixture(scope="session")
def settings(tmp_store_dir: Path) -> Settings:
    return Settings(database_url=_test_database_url(tmp_store_dir), issuer="http://hub.test")


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
    yield engine
    await engine.dispose()


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


# --- HTTP ---------------------------------------------------------------------------------------------

#: Test-only bearer tokens, until a test needs the real token service.
TEST_PRINCIPALS: dict[str, Principal] = {
    f"test-{audience.value}": Principal(audience=audience, client_id=f"test-{audience.value}")
    for audience in Audience
}


async def _test_authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    principal = TEST_PRINCIPALS.get(token) if scheme.lower() == "bearer" else None
    if principal is None:
        raise Unauthenticated()
    return principal


@pytest.fixture
def app(settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]) -> Starlette:
    return create_app(settings, engine=engine, sessions=sessions, authenticate=_test_authenticate)


@pytest_asyncio.fixture(loop_scope="session")
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
        yield c


GraphQL = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQL:
    """POST an operation as an audience: ``await gql(query, variables, audience=Audience.ADMIN)``."""

    async def post(
        query: str,
        variables: dict[str, object] | None = None,
        *,
        audience: Audience = Audience.ADMIN,
        token: str | None = None,
    ) -> httpx.Response:
        bearer = token or f"test-{audience.value}"
        return await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {bearer}"},
        )

    return post
