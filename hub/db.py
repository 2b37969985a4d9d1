"""The database engine, per-request sessions and the migration state of the store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from hub.errors import ConfigError, NotMigrated, StoreUnavailable
from hub.settings import Settings
from resolvers.pagination import cursor_of_json
from schema.ids import to_global_id

if TYPE_CHECKING:
    from hub.metrics import HubMetrics


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
    return _postgres_engine(settings, settings.database_url, "partner-data-hub")


def create_read_engine(settings: Settings) -> AsyncEngine | None:
    """The engine for the streaming replica queries read from (``HUB_READ_DATABASE_URL``), if any."""
    if settings.read_database_url is None:
        return None
    return _postgres_engine(settings, settings.read_database_url, "partner-data-hub-reads")


def _postgres_engine(settings: Settings, url: str, application_name: str) -> AsyncEngine:
    timeout_ms = settings.statement_timeout_ms
    return create_async_engine(
        url,
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
                "application_name": application_name,
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
        dbapi_connection.create_function("hub_cursor", 1, cursor_of_json, deterministic=True)

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
    the hub needs: INSERT and SELECT on the ledger (and EXECUTE on its append function), the usual
    DML on the other tables, SELECT on the migration state, the sequences. Returns what was done, for
    the command's output."""
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
        # The ledger's append (migration 0010; absent when migrated to an earlier revision): it runs
        # with the caller's own rights, the INSERTs granted above.
        appends = (
            "SELECT 1 FROM pg_proc WHERE proname = 'hub_ledger_append' "
            "AND pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = :s)"
        )
        if await conn.scalar(text(appends), {"s": schema}) is not None:
            statements.append(f"GRANT EXECUTE ON FUNCTION {target}.hub_ledger_append TO {name}")
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


# --- the read replica ---------------------------------------------------------------------------

#: Where a GraphQL query reads, and why (the ``reason`` label of ``hub_query_reads``, hub/metrics.py):
#: the replica, or the primary because of the client's own recent mutation, a replica too far
#: behind, down, not a standby at all, or not measured yet.
REPLICA = "replica"
RECENT_WRITE = "recent_write"
LAGGING = "lagging"
REPLICA_DOWN = "replica_down"
REPLICA_BUSY = "replica_busy"
NOT_STANDBY = "not_standby"
UNCHECKED = "unchecked"

#: One statement on the replica: is it a standby, has it replayed the primary's WAL position read
#: just before, and how old is the newest transaction it replayed (the lag while it is behind).
_REPLICA_PROBE = text(
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() >= CAST(CAST(:lsn AS text) AS pg_lsn), "
    "EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())"
)
_PRIMARY_POSITION = text("SELECT CAST(pg_current_wal_lsn() AS text)")


@dataclass(frozen=True, slots=True)
class ReplicaState:
    """The replica as a process last measured it."""

    #: Seconds of the primary's commits the replica may not have replayed (None: unknown).
    lag_s: float | None
    #: ``REPLICA`` when queries may read from it, otherwise why not.
    reason: str
    #: ``time.monotonic()`` of the measurement.
    checked_at: float


class ReadReplica:
    """Chooses where a GraphQL query reads: the streaming replica (``HUB_READ_DATABASE_URL``) or the primary.

    Mutations, the ledger, rate counts, token and client state and persisted operations always use
    the primary; only the query's own reads move. A query reads from the primary instead when its
    client sent a mutation to this process within ``read_after_write_s``, when the replica's lag is
    over ``max_lag_s``, and when the replica is down or is not a standby: a replica never fails a
    read. The lag is measured at most every ``check_s`` by the request that finds the measurement
    stale (two one-row statements: the primary's WAL position, then the replica's replay of it), so
    a query reads data at most ``max_lag_s + check_s`` old (docs/operations.md, "Read replicas").
    """

    def __init__(
        self,
        primary: AsyncEngine,
        replica: AsyncEngine,
        *,
        max_lag_s: float,
        check_s: float,
        read_after_write_s: float,
        probe_timeout_s: float = 2.0,
        metrics: HubMetrics | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.engine = replica
        self.sessions = session_factory(replica)
        self.max_lag_s = max_lag_s
        self.check_s = check_s
        self.read_after_write_s = read_after_write_s
        self.probe_timeout_s = probe_timeout_s
        self.metrics = metrics
        self.clock = clock
        self.state = ReplicaState(None, UNCHECKED, -math.inf)
        self._probing = False
        #: Client key -> the monotonic time until which its queries read from the primary.
        self._wrote: dict[str, float] = {}
        #: Why the replica was last found unusable, for the log line.
        self._why = ""

    @classmethod
    def from_settings(
        cls, settings: Settings, primary: AsyncEngine, metrics: HubMetrics | None = None
    ) -> ReadReplica | None:
        engine = create_read_engine(settings)
        if engine is None:
            return None
        if metrics is not None:
            metrics.track_replica()
        return cls(
            primary,
            engine,
            max_lag_s=settings.replica_max_lag_s,
            check_s=settings.replica_check_s,
            read_after_write_s=settings.read_after_write_s,
            probe_timeout_s=settings.db_connect_timeout_s + 1.0,
            metrics=metrics,
        )

    @contextlib.asynccontextmanager
    async def reads(self, primary: AsyncSession, key: str, mutation: bool) -> AsyncIterator[AsyncSession]:
        """The session an operation reads in: ``primary`` (the request's own, where its ledger event
        goes) for a mutation or when the replica may not serve, else a replica session of its own."""
        if mutation:
            try:
                yield primary
            finally:  # from the end of the mutation (committed or not), its client reads the primary
                self.wrote(key)
            return
        where = await self.route(key)
        session = self.sessions() if where == REPLICA else None
        if session is not None:
            try:
                # The pool's ping at check-out finds a replica that went down since the last measurement.
                await session.connection()
            except Exception as exc:  # noqa: BLE001 - whatever keeps the replica from answering: the primary reads
                with contextlib.suppress(Exception):
                    await session.close()
                session = None
                if isinstance(exc, PoolTimeout):
                    where = REPLICA_BUSY  # busy, not down: the next query tries it again
                else:
                    where = REPLICA_DOWN
                    self._why = reason(exc)
                    self._set(ReplicaState(None, REPLICA_DOWN, self.clock()))
            except BaseException:  # cancelled (the request's time ran out): the connection goes back
                with contextlib.suppress(Exception):
                    await session.close()
                raise
        if self.metrics is not None:
            self.metrics.observe_read(where)
        if session is None:
            yield primary
            return
        async with session:
            yield session

    async def route(self, key: str) -> str:
        """``REPLICA``, or why a query of ``key``'s should read from the primary."""
        if self.read_after_write_s > 0:
            until = self._wrote.get(key)
            if until is not None and self.clock() < until:
                return RECENT_WRITE
        return (await self.current()).reason

    def wrote(self, key: str) -> None:
        """``key``'s client sent a mutation: its queries read from the primary for a while."""
        if self.read_after_write_s <= 0:
            return
        now = self.clock()
        if len(self._wrote) >= 10_000:  # bounded: clients whose window has passed are forgotten
            self._wrote = {k: until for k, until in self._wrote.items() if until > now}
        self._wrote[key] = now + self.read_after_write_s

    async def current(self) -> ReplicaState:
        """The latest measurement, measured again first when it is older than ``check_s`` (one
        request measures; the others meanwhile go by the previous measurement)."""
        if self.clock() - self.state.checked_at < self.check_s or self._probing:
            return self.state
        self._probing = True
        try:
            self._set(await self.measure())
        finally:
            self._probing = False
        return self.state

    async def measure(self) -> ReplicaState:
        """Measure the replica's lag now (each call: two statements)."""
        try:
            async with asyncio.timeout(self.probe_timeout_s):
                async with self.primary.connect() as conn:
                    position = await conn.scalar(_PRIMARY_POSITION)
        except Exception:  # noqa: BLE001 - measured again at the next check
            # The primary's outage answers the request itself; the replica is measured next time.
            return ReplicaState(None, UNCHECKED, self.clock())
        started = self.clock()
        try:
            async with asyncio.timeout(self.probe_timeout_s):
                async with self.engine.connect() as conn:
                    standby, caught_up, behind_s = (
                        await conn.execute(_REPLICA_PROBE, {"lsn": position})
                    ).one()
        except Exception as exc:  # noqa: BLE001 - a replica that does not answer is down
            self._why = reason(exc)
            return ReplicaState(None, REPLICA_DOWN, self.clock())
        now = self.clock()
        if not standby:
            self._why = "pg_is_in_recovery() is false"
            return ReplicaState(None, NOT_STANDBY, now)
        if caught_up:
            # It had replayed everything the primary had written before the probe began.
            lag: float = now - started
        elif behind_s is None:
            return ReplicaState(None, LAGGING, now)  # nothing replayed since it started
        else:
            lag = max(0.0, float(behind_s))
        return ReplicaState(lag, REPLICA if lag <= self.max_lag_s else LAGGING, now)

    def _set(self, state: ReplicaState) -> None:
        # One line when queries move off the replica or back, not one per measurement.
        if state.reason not in (self.state.reason, UNCHECKED):
            if state.reason == REPLICA:
                if self.state.reason != UNCHECKED:
                    log.warning("queries read from the replica again (lag %.3f s)", state.lag_s or 0.0)
            else:
                detail = f"lag {state.lag_s:.1f} s" if state.lag_s is not None else self._why
                log.warning("queries read from the primary: the replica is %s (%s)", state.reason, detail)
        self.state = state
        if self.metrics is not None:
            self.metrics.observe_replica(state.lag_s, usable=state.reason == REPLICA)

    def describe(self) -> dict[str, Any]:
        """For ``/readyz``: where queries read and the lag last measured."""
        return {"reads": self.state.reason, "lagSeconds": self.state.lag_s, "maxLagSeconds": self.max_lag_s}
