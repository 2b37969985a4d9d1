"""The ``hub`` command: demo, serve, migrate, seed, schema and the administration commands.

Every failure a person can cause or fix prints one line naming the problem and the fix, and exits
non-zero; no traceback reaches the terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import os
import socket
import sys
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

from pydantic import ValidationError
from pydantic_settings import SettingsError

from hub.errors import ConfigError, HubError, NotMigrated
from hub.settings import Settings, explain_settings_error, unknown_variables

log = logging.getLogger("hub.cli")

T = TypeVar("T")
Handler = Callable[[argparse.Namespace, Settings], int]


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = first.get("loc") or ()
        where = "HUB_" + str(loc[0]).upper() if loc else "settings"
        where += "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc[1:])
        message = str(first.get("ctx", {}).get("error") or first["msg"])
        raise ConfigError(f"{where}: {message}") from None
    except SettingsError as exc:
        raise ConfigError(explain_settings_error(exc)) from None


def warn_unknown_variables(environ: Mapping[str, str]) -> None:
    """A misspelled setting would otherwise be silently ignored: name it, and the closest setting."""
    for name, closest in unknown_variables(environ):
        hint = f"; did you mean {closest}?" if closest else " (docs/configuration.md lists the settings)"
        print(f"hub: warning: {name} is not a hub setting and is ignored{hint}", file=sys.stderr)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def check_port_free(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {port} on {host} is already in use; stop what holds it or set HUB_PORT"
                ) from None
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror}); check HUB_HOST and HUB_PORT"
            ) from None


# --- which store ------------------------------------------------------------------------------------

#: Commands that never open the store.
STORELESS = frozenset({"demo", "schema", "policy"})
#: Commands that may create the store they are pointed at.
CREATING = frozenset({"migrate", "demo"})


def resolve_store(command: str, settings: Settings, environ: Mapping[str, str]) -> Settings:
    """The store a command works on when HUB_DATABASE_URL is unset.

    In a checkout where ``make demo`` has run, ``HUB_DEMO_DIR/hub.db`` (``.hub-demo/hub.db``) is the
    store, so the README's ``hub partners add`` registers the partner where the demo serves it; one
    line on stderr says so.
    """
    if command in STORELESS:
        return settings
    if "HUB_DATABASE_URL" not in environ:
        demo_store = Path(settings.demo_dir) / "hub.db"
        if demo_store.is_file():
            print(
                f"hub: using the demo store {demo_store} (HUB_DATABASE_URL is unset; set it to use another store)",
                file=sys.stderr,
            )
            return settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{demo_store.resolve()}"})
    return settings


@contextlib.contextmanager
def no_stray_store(command: str, settings: Settings) -> Iterator[None]:
    """A command that needs a migrated SQLite store where there is no file leaves none behind.

    SQLite creates the file it is asked to open; unless the command is ``hub migrate``, a file that
    was not there before and holds nothing afterwards is removed, and "no hub schema" becomes what
    to run. Commands that never open the store are not affected.
    """
    path = _sqlite_file(settings) if command not in CREATING else None
    if path is None or path.exists():
        yield
        return
    try:
        yield
    except NotMigrated:
        raise NotMigrated(
            f"there is no store at {path}: run `make demo` (or `hub demo`) for the demo store, "
            "`hub migrate` to create an empty one there, or set HUB_DATABASE_URL to yours"
        ) from None
    finally:
        if path.exists() and _holds_nothing(path):
            for stray in (path, *(path.with_name(path.name + end) for end in ("-wal", "-shm", "-journal"))):
                stray.unlink(missing_ok=True)


def _sqlite_file(settings: Settings) -> Path | None:
    if not settings.is_sqlite:
        return None
    from sqlalchemy.engine import make_url

    database = make_url(settings.database_url).database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def _holds_nothing(path: Path) -> bool:
    import sqlite3

    if path.stat().st_size == 0:
        return True
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            tables: int = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            return tables == 0
    except sqlite3.Error:
        return False


# --- migrate ----------------------------------------------------------------------------------------


async def _migrate(settings: Settings, revision: str) -> int:
    from hub.db import (
        create_engine,
        current_revision,
        describe_store,
        grant_runtime_role,
        migration_settings,
        upgrade,
    )

    # As the tables' owner (HUB_MIGRATE_DATABASE_URL); the hub itself runs as the runtime role.
    settings = migration_settings(settings)
    engine = create_engine(settings)
    granted = None
    try:
        await _reachable(engine, settings)
        before = await current_revision(engine)
        await upgrade(engine, revision)
        after = await current_revision(engine)
        if not settings.is_sqlite:
            granted = await grant_runtime_role(engine, settings.runtime_role)
    finally:
        await engine.dispose()
    if before == after:
        print(f"{describe_store(settings)} is already at migration {after}")
    else:
        print(f"migrated {describe_store(settings)} from {before or 'empty'} to {after}")
    if granted:
        print(granted)
    return 0


async def _reachable(engine: Any, settings: Settings) -> None:
    from sqlalchemy.exc import DBAPIError

    from hub.db import describe_store, reason
    from hub.errors import StoreUnavailable

    try:
        async with asyncio.timeout(5):
            async with engine.connect():
                pass
    except (OSError, DBAPIError, TimeoutError) as exc:
        raise StoreUnavailable(
            f"cannot reach the database at {describe_store(settings)} ({reason(exc)}); "
            "check HUB_DATABASE_URL and that the server is running"
        ) from None


async def _check_migrated(settings: Settings) -> int:
    from hub.db import check_store, create_engine, describe_store, head_revision

    engine = create_engine(settings)
    try:
        await check_store(engine, settings)
    finally:
        await engine.dispose()
    print(f"{describe_store(settings)} is at migration {head_revision()}, the latest")
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    if args.check:
        return run_async(_check_migrated(settings))
    return run_async(_migrate(settings, args.revision))


# --- seed -------------------------------------------------------------------------------------------

MAX_SCALE = 2_000_000


def scale_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--scale takes a whole number of people, not {text!r}") from None
    if value < 1 or value > MAX_SCALE:
        raise argparse.ArgumentTypeError(f"--scale must be between 1 and {MAX_SCALE:,} people (got {value})")
    return value


async def _seed(settings: Settings, scale: int, random_seed: int, quiet: bool) -> int:
    from hub.db import check_store, create_engine
    from hub.synthetic import seed_department

    engine = create_engine(settings)
    try:
        await check_store(engine, settings)
        summary = await seed_department(
            engine, scale=scale, random_seed=random_seed, progress=None if quiet else _progress
        )
    finally:
        await engine.dispose()
    print(summary)
    return 0


def _progress(step: str, done: int, total: int) -> None:
    end = "\n" if done >= total else ""
    sys.stderr.write(f"\r  {step:<28} {done:>9,}/{total:,}{end}")
    sys.stderr.flush()


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    return run_async(_seed(settings, args.scale, args.seed, args.quiet))


# --- serve and demo ---------------------------------------------------------------------------------

#: Addresses a server binds to listen everywhere: never a URL anyone can reach it at.
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", "[::]"})  # noqa: S104 - compared against, never bound


def _serve(settings: Settings) -> int:
    import uvicorn

    from hub.logs import configure_logging
    from hub.slow_clients import configure as configure_connections

    check_port_free(settings.host, settings.port)
    configure_logging(settings.log_level)
    try:
        import uvloop  # noqa: F401 - only whether it is there
    except ImportError:  # Windows, PyPy: not installed (pyproject.toml's markers)
        loop = "asyncio"
        log.info("uvloop is not installed: serving on asyncio's event loop")
    else:
        loop = "uvloop"
    config = uvicorn.Config(
        "hub.app:app_from_environment",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
        lifespan="on",
        server_header=False,
        loop=loop,
    )
    configure_connections(
        config,
        header_timeout_s=settings.header_timeout_s,
        max_connections=settings.max_connections,
        keep_alive_s=settings.keep_alive_s,
        http=settings.http,
    )
    server = uvicorn.Server(config)
    if settings.workers > 1:
        import tempfile

        from uvicorn.supervisors import Multiprocess

        sock = config.bind_socket()
        with tempfile.TemporaryDirectory(prefix="hub-metrics-") as metrics_dir:
            if settings.metrics_port:
                # Each worker writes its values here; this process serves their sum (hub/metrics.py).
                os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
                from hub.metrics import serve_metrics

                serve_metrics(settings.metrics_host, settings.metrics_port)
            Multiprocess(config, sockets=[sock]).run()
        return 0
    server.run()
    return 0 if server.started else 1


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from hub.db import check_runtime_role, check_store, create_engine
    from hub.tracing import TracingConfigError, exporter_name

    try:
        exporter_name()
    except TracingConfigError as exc:
        raise ConfigError(str(exc)) from None
    if urlsplit(settings.issuer).hostname in WILDCARD_HOSTS:
        # A token's `iss` must be where partners reach the hub; a wildcard address is nowhere.
        raise ConfigError(
            f"HUB_ISSUER: {settings.issuer} is a wildcard address, not the hub's public URL; set HUB_ISSUER "
            "to the URL partners use (e.g. https://hub.department.gov)"
        )

    async def _check() -> int:
        engine = create_engine(settings)
        try:
            await check_store(engine, settings)
            await check_runtime_role(engine, settings)
        finally:
            await engine.dispose()
        return 0

    run_async(_check())
    # uvicorn's factory reads the environment: hand it the store found here (the demo's, perhaps).
    os.environ["HUB_DATABASE_URL"] = settings.database_url
    return _serve(settings)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from hub.demo import prepare_demo

    demo_dir = Path(settings.demo_dir)
    overrides: dict[str, Any] = {"graphiql": True}
    if "HUB_DATABASE_URL" not in os.environ:
        demo_dir.mkdir(parents=True, exist_ok=True)
        overrides["database_url"] = f"sqlite+aiosqlite:///{(demo_dir / 'hub.db').resolve()}"
    settings = settings.model_copy(update=overrides)
    if not settings.is_sqlite:
        raise ConfigError(
            "`hub demo` runs on the embedded SQLite store; unset HUB_DATABASE_URL or use `hub serve`"
        )
    check_port_free(settings.host, settings.port)
    run_async(prepare_demo(settings, scale=args.scale))
    print(
        f"Partner Data Hub demo listening on http://{settings.host}:{settings.port}/graphql "
        f"(GraphiQL in a browser; credentials in {demo_dir / 'clients.json'}); "
        f"the console: http://{settings.host}:{settings.port}/console",
        flush=True,
    )
    if "HUB_DATABASE_URL" not in os.environ:
        print(
            "In another terminal here, `source .venv/bin/activate` and `hub partners list`, `hub clients add …` "
            "work on this store.",
            flush=True,
        )
    # uvicorn's factory reads the environment: hand it the demo's store.
    os.environ["HUB_DATABASE_URL"] = settings.database_url
    os.environ["HUB_GRAPHIQL"] = "true"
    if settings.is_demo_store:
        # The console's demo sign-in: only on the demo's own store (hub/settings.py refuses it elsewhere).
        os.environ["HUB_CONSOLE_DEMO_SIGNIN"] = "true"
    return _serve(settings)


# --- parser -----------------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Usage mistakes get one line that names them (``hub COMMAND --help`` shows the rest)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"hub: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hub", description="Partner Data Hub")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "demo",
        help="migrate an SQLite store, seed it, register demo clients and serve",
        description=(
            "Migrate the SQLite store HUB_DEMO_DIR/hub.db (.hub-demo/hub.db), write a synthetic department "
            "into it the first time, register one demo client per audience with fresh secrets (written to "
            "HUB_DEMO_DIR/clients.json) and serve with GraphiQL on http://HUB_HOST:HUB_PORT. Later `hub` "
            "commands run in the same directory use this store while HUB_DATABASE_URL is unset."
        ),
    )
    p.add_argument(
        "--scale", type=scale_arg, default=2000, help="people in the demo department (default 2000)"
    )
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser(
        "serve",
        help="serve the hub on HUB_DATABASE_URL (must be migrated)",
        description=(
            "Serve the hub (GraphQL on /graphql, tokens on /oauth/token) on HUB_HOST:HUB_PORT with "
            "HUB_WORKERS processes, against the store HUB_DATABASE_URL names. The store must be at the "
            "latest migration: run `hub migrate` first (once per release). Every setting is a HUB_ "
            "environment variable (see docs/configuration.md)."
        ),
    )
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("migrate", help="upgrade the store to the latest migration")
    p.add_argument("--revision", default="head", help="target revision (default: head)")
    p.add_argument(
        "--check",
        action="store_true",
        help="change nothing: exit 0 if the store is at the latest migration, else 1 saying what to run",
    )
    p.set_defaults(handler=cmd_migrate)

    p = sub.add_parser("seed", help="write a synthetic department")
    p.add_argument("--scale", type=scale_arg, default=1000, help="number of people (default 1000)")
    p.add_argument("--seed", type=int, default=20261127, help="random seed (same seed, same department)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(handler=cmd_seed)

    for register in _extensions():
        register(sub)
    _describe(parser)
    return parser


def _describe(parser: argparse.ArgumentParser) -> None:
    """``hub X --help`` opens with the line ``hub --help`` shows for X, at every level."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        for name, child in action.choices.items():
            if child.description is None and helps.get(name):
                child.description = str(helps[name])[0].upper() + str(helps[name])[1:] + "."
            _describe(child)


def _extensions() -> Sequence[Callable[[Any], None]]:
    """Command groups defined beside the code they administer."""
    from hub import commands

    return commands.REGISTRARS


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        warn_unknown_variables(os.environ)
        settings = resolve_store(args.command, load_settings(), os.environ)
        handler: Handler = args.handler
        with no_stray_store(args.command, settings):
            return handler(args, settings)
    except HubError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`hub audit export | head`): stop quietly, as `cat` does. Python would
        # complain again when it flushes stdout at exit, so stdout goes to /dev/null first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
