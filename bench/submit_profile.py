"""Where a ``submitInquiry`` request goes, in process: CPU, statements and round trips per request.

    PYTHONPATH=. .venv/bin/python bench/submit_profile.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
    PYTHONPATH=. .venv/bin/python bench/submit_profile.py --profile 25   # and cProfile's top functions

Seeds a small demo department in a new PostgreSQL database (dropped at the end; SQLite in a temporary
directory without ``--database-url``), builds the hub with its production stack (a real token from
``POST /oauth/token``, the rate limiter counting every request with limits far above the load, the
ledger on) and sends the submit workload of ``bench/workloads.py`` through it over an in-process ASGI
transport, one request at a time. Prints the hub's CPU per request (process time: the database
server's own work is not counted), the wall time, and every SQL statement of one request in order
(SQLAlchemy's ``before_cursor_execute``, on the requests' engine and the ledger appender's), with
the statements per request averaged over the run.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import re
import resource
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.stores import throwaway_store
from bench.workloads import BY_NAME
from hub.app import create_app
from hub.db import create_engine, upgrade
from hub.demo import prepare_demo
from hub.settings import Settings


class Statements:
    """Every statement sent to the engines it listens on, in order."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def listen(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "before_cursor_execute", self._before)
        event.listen(engine.sync_engine, "commit", lambda _conn: self.seen.append("COMMIT"))
        event.listen(engine.sync_engine, "rollback", lambda _conn: self.seen.append("ROLLBACK"))

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        self.seen.append(re.sub(r"\s+", " ", statement).strip())


#: (layer, markers in a function's file), first match wins.
_LAYERS = (
    ("httpx (the client)", ("/httpx/", "/httpcore/")),
    ("SQLAlchemy", ("/sqlalchemy/",)),
    ("asyncpg", ("/asyncpg/",)),
    ("graphql-core", ("/graphql/",)),
    ("Strawberry", ("/strawberry/",)),
    ("Starlette", ("/starlette/",)),
    ("greenlet", ("greenlet",)),
    ("asyncio", ("/asyncio/", "selectors", "epoll", "socket")),
    ("hub: auth/", ("/auth/",)),
    ("hub: hub/", ("/hub/",)),
    ("hub: schema/", ("/schema/",)),
    ("hub: resolvers/", ("/resolvers/",)),
)


def _by_layer(stats: pstats.Stats) -> list[tuple[str, float]]:
    totals: dict[str, float] = {}
    for (filename, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{filename}:{function}"
        layer = next((name for name, marks in _LAYERS if any(m in where for m in marks)), "other")
        totals[layer] = totals.get(layer, 0.0) + row[2]
    return sorted(totals.items(), key=lambda kv: -kv[1])


def _check(response: httpx.Response) -> None:
    if response.status_code != 200 or "errors" in response.json():
        raise SystemExit(f"submitInquiry failed: {response.text}")


async def run(args: argparse.Namespace) -> None:
    async with throwaway_store(args.database_url, "hub_submit_profile") as (store, directory):
        await _run(args, store, directory)


async def _run(args: argparse.Namespace, store: str, directory: Path) -> None:
    settings = Settings(
        database_url=store,
        demo_dir=str(directory / ".hub-demo"),
        issuer="http://hub.bench",
        # As in `make bench`: every request counted, none refused.
        rate_requests_per_minute=1_000_000_000,
        rate_cost_per_minute=1_000_000_000_000,
    )
    engine = create_engine(settings)
    statements = Statements()
    statements.listen(engine)
    try:
        await upgrade(engine)
        await prepare_demo(settings, scale=args.scale)
        entries = json.loads((directory / ".hub-demo" / "clients.json").read_text())
        credentials = {e["audience"]: (e["client_id"], e["client_secret"]) for e in entries}
        workload = BY_NAME["submit"]
        app = create_app(settings, engine=engine)
        async with app.router.lifespan_context(app):
            appender = app.state.ledger_appender
            if appender is not None and appender.engine is not None:
                statements.listen(appender.engine)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://hub.bench"
            ) as client:
                client_id, secret = credentials[workload.audience]
                token = (
                    await client.post(
                        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
                    )
                ).json()["access_token"]
                headers = {"Authorization": f"Bearer {token}"}
                body = {"query": workload.hub["query"], "variables": workload.hub["variables"]}
                for _ in range(20):  # warm: documents, plans, pools, the token and status caches
                    response = await client.post("/graphql", json=body, headers=headers)
                _check(response)
                await asyncio.sleep(0.3)  # let a pending rate flush go before the one request shown
                statements.seen.clear()
                response = await client.post("/graphql", json=body, headers=headers)
                await asyncio.sleep(0.3)
                one = list(statements.seen)
                statements.seen.clear()
                profiler = cProfile.Profile() if args.profile else None
                cpu, wall = time.process_time(), time.perf_counter()
                if profiler is not None:
                    profiler.enable()
                for _ in range(args.requests):
                    response = await client.post("/graphql", json=body, headers=headers)
                if profiler is not None:
                    profiler.disable()
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                counted = len([s for s in statements.seen if s not in ("COMMIT", "ROLLBACK")])
                ends = len(statements.seen) - counted
                _check(response)
        print(f"store: {engine.dialect.name}; {args.requests} submitInquiry requests, one at a time")
        print(
            f"hub CPU per request: {cpu / args.requests * 1000:.2f} ms; wall {wall / args.requests * 1000:.2f} ms"
        )
        print(
            f"statements per request: {counted / args.requests:.2f}, plus {ends / args.requests:.2f} "
            "COMMIT/ROLLBACK (rate flushes, every HUB_RATE_FLUSH_MS, included)"
        )
        print("one request's statements (after a pause, so a rate flush may be among them):")
        for n, statement in enumerate(one, 1):
            print(f"  {n:>2}. {statement[:160]}")
        print(f"peak resident memory: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
        if profiler is not None:
            print("own CPU time by layer under cProfile (its overhead included; httpx is the client):")
            for layer, seconds in _by_layer(pstats.Stats(profiler)):
                print(f"  {layer:<24}{seconds / args.requests * 1000:>8.2f} ms/request")
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.profile)
            print(out.getvalue())
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--scale", type=int, default=300, help="people in the seeded department")
    parser.add_argument("--requests", type=int, default=300, help="measured requests")
    parser.add_argument("--database-url", help="a PostgreSQL server (a database is created and dropped)")
    parser.add_argument("--profile", type=int, default=0, help="print cProfile's top N functions")
    parser.add_argument("--sort", default="tottime", help="cProfile's order: tottime or cumulative")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
