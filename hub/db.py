"""The database engine, per-request sessions and the migration state of the store."""

from __future__ import annotations

import asyncio
import logging
import sys
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

from hub.errors import ConfigError, NotMigrated, StoreUnavailable
from hub.settings import Settings
from schema.ids import to_global_id


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
        # PostgreSQL builds global ids in SQL (encode/translate); SQLite has no base64, so the
        # compiled reads call the hub's own function (schema/compiled/compiler.py).
        dbapi_connection.create_function("hub_global_id", 2, to_global_id, deterministic=True)

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


# --- least privilege on PostgreSQL --------------------------------------------------------------

log = logging.getLogger("hub.db")

#: The ledger's tables: the runtime role may add to them and read them, nothing else.
LEDGER_TABLES = ("audit_events", "audit_disclosures")


def migration_settings(settings: Settings) -> Settings:
    """The settings `hub migrate` (and `hub audit purge`) connect with: the tables' owner."""
    if settings.migrate_database_url is None:
        return settings
    return settings.model_copy(update={"database_url": settings.migrate_database_url})


def _quoted(role: str) -> str:
    # The setting's pattern allows only [a-z0-9_], so quoting is all it needs.
    return '"' + role.replace('"', '""') + '"'


async def grant_runtime_role(engine: AsyncEngine, role: str) -> str:
    """As the tables' owner: create ``role`` (NOLOGIN) if it does not exist, and grant it only what
    the hub needs: INSERT and SELECT on the ledger, the usual DML on the other tables, SELECT on the
    migration state, the sequences. Returns what was done, for the command's output."""
    from sqlalchemy import text

    name = _quoted(role)
    async with engine.begin() as conn:
        me = await conn.scalar(text("SELECT current_user"))
        if me == role:
            raise ConfigError(
                f"hub migrate runs as {role}, the runtime role (HUB_RUNTIME_ROLE): run it as the tables' owner "
                "(HUB_MIGRATE_DATABASE_URL), and the hub as the runtime role"
            )
        created = False
        if await conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}) is None:
            try:
                async with conn.begin_nested():
                    await conn.execute(text(f"CREATE ROLE {name} NOLOGIN"))
                created = True
            except DBAPIError as exc:
                if "already exists" not in str(exc.orig):
                    raise ConfigError(
                        f"cannot create the runtime role {role} ({reason(exc)}); create it yourself "
                        f"(CREATE ROLE {role} LOGIN PASSWORD '…') and run hub migrate again"
                    ) from None
        schema = await conn.scalar(text("SELECT current_schema()"))
        target = _quoted(str(schema))
        statements = [
            f"GRANT USAGE ON SCHEMA {target} TO {name}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {target} TO {name}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {target} TO {name}",
            f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {name}",
        ]
        for table in LEDGER_TABLES:
            statements.append(f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {table} FROM {name}")
        for statement in statements:
            await conn.execute(text(statement))
    return (
        f"{'created' if created else 'granted'} the runtime role {role}: INSERT and SELECT on "
        f"{' and '.join(LEDGER_TABLES)}, SELECT, INSERT, UPDATE and DELETE on the other tables"
        + ("; give it LOGIN and a password, or grant it to the hub's login role" if created else "")
    )


async def runtime_role_problem(engine: AsyncEngine) -> str | None:
    """Why the hub's connection has more rights than it should (None when it has not), on PostgreSQL."""
    if engine.dialect.name != "postgresql":
        return None
    from sqlalchemy import text

    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT current_user, r.rolsuper, pg_has_role(current_user, c.relowner, 'MEMBER'), "
                    "pg_get_userbyid(c.relowner) FROM pg_roles r, pg_class c "
                    "WHERE r.rolname = current_user AND c.oid = 'audit_events'::regclass"
                )
            )
        ).first()
    if row is None:
        return None
    user, superuser, owner, owner_name = row
    if superuser:
        return f"the hub connects as {user}, a superuser"
    if owner:
        return f"the hub connects as {user}, which owns the tables (or may act as their owner, {owner_name})"
    return None


async def check_runtime_role(engine: AsyncEngine, settings: Settings) -> None:
    """`hub serve` and `hub worker`: warn loudly (refuse with HUB_ENV=production) when the hub could
    rewrite its own ledger (as the tables' owner it can disable the append-only triggers)."""
    problem = await runtime_role_problem(engine)
    if problem is None:
        return
    advice = (
        f"{problem}: it could disable the ledger's triggers and rewrite it. Connect as the runtime role "
        f"({settings.runtime_role}, which `hub migrate` grants) in HUB_DATABASE_URL, and run migrations "
        "with HUB_MIGRATE_DATABASE_URL"
    )
    if settings.env == "production":
        raise ConfigError(f"refusing to start with HUB_ENV=production: {advice}")
    log.warning("LEAST PRIVILEGE: %s", advice)
    print(f"WARNING: {advice}", file=sys.stderr)
