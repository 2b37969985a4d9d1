"""The database engine, per-request sessions and the migration state of the store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from hub.errors import NotMigrated, StoreUnavailable
from hub.settings import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    """The engine for ``settings.database_url``, with the per-store options the hub relies on."""
    if settings.is_sqlite:
        engine = create_async_engine(
            settings.database_url,
            connect_args={"timeout": 30},
            # A failed statement's parameters (names, free text) never reach an exception or a log.
            hide_parameters=True,
        )
        _sqlite_pragmas(engine)
        return engine
    timeout_ms = settings.statement_timeout_ms
    return create_async_engine(
        settings.database_url,
        # A failed statement's parameters (names, free text) never reach an exception or a log.
        hide_parameters=True,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        # A connection the server dropped (a restart, a failover) is found by the ping at check-out
        # and replaced, so the hub recovers without a restart of its own.
        pool_pre_ping=True,
        # Waiting for a free connection is load, not an outage: long enough to ride out a burst
        # (a 1 s wait failed requests at 32 concurrent clients), then a 503 STORE_BUSY.
        pool_timeout=settings.db_pool_timeout_s,
        connect_args={
            # A store that is down refuses at once; one that is unreachable fails within this.
            "timeout": settings.db_connect_timeout_s,
            "command_timeout": timeout_ms / 1000 + 1,
            "server_settings": {
                "statement_timeout": str(timeout_ms),
                "application_name": "partner-data-hub",
            },
        },
    )


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    # The driver's own transaction handling (an implicit, deferred BEGIN before DML only) breaks
    # SAVEPOINTs and read isolation; SQLAlchemy's documented fix is to let it emit BEGIN itself.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


# --- migrations ---------------------------------------------------------------------------------


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged ``migrations`` scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("migrations")))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def run_alembic(engine: AsyncEngine, action: Callable[[Config], None]) -> None:
    """Run an Alembic command on one of the engine's connections, in one transaction."""

    def _run(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        action(cfg)

    async with engine.begin() as conn:
        await conn.run_sync(_run)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await run_alembic(engine, lambda cfg: command.upgrade(cfg, revision))


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    await run_alembic(engine, lambda cfg: command.downgrade(cfg, revision))


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(_current_revision)


def describe_store(settings: Settings) -> str:
    """The store's URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(settings.database_url).render_as_string(hide_password=True)


async def check_store(engine: AsyncEngine, settings: Settings, within: float = 5.0) -> None:
    """Raise a ``HubError`` that says what to do unless the store is reachable and at head."""
    try:
        revision = await asyncio.wait_for(current_revision(engine), within)
    except (OSError, DBAPIError, OperationalError, TimeoutError) as exc:
        raise StoreUnavailable(
            f"cannot reach the database at {describe_store(settings)} ({reason(exc)}); "
            "check HUB_DATABASE_URL and that the server is running"
        ) from None
    head = head_revision()
    if revision is None:
        raise NotMigrated(
            f"the database at {describe_store(settings)} has no hub schema; run `hub migrate` first"
        )
    if revision != head:
        raise NotMigrated(
            f"the database at {describe_store(settings)} is at migration {revision}, the hub needs {head}; "
            "run `hub migrate`"
        )


def reason(exc: BaseException) -> str:
    """A short, driver-free reason for a connection failure."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    if isinstance(exc, TimeoutError) or "timeout" in first.lower():
        return "timed out"
    return first[:160]
