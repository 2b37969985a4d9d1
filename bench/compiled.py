"""Compiled reads against the resolver path, in process: CPU per request and peak memory.

    PYTHONPATH=. .venv/bin/python bench/compiled.py [--scale 3000] [--requests 200] [--database-url URL]

Seeds a fresh demo department (SQLite in a temporary directory, or a new database on the PostgreSQL
server of ``--database-url``), builds the hub twice over it (``HUB_EXECUTION=compiled`` and
``resolvers``) and sends each read workload of ``bench/workloads.py`` through the whole hub (token
check, rate limit, ledger, response) over an in-process ASGI transport, one request at a time.
Prints, per workload and path, the hub's CPU per request (process time, so the database server's own
work on PostgreSQL is not counted), the wall time per request and the peak resident memory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from bench.stores import throwaway_store
from bench.workloads import WORKLOADS, global_id
from hub.app import create_app
from hub.db import create_engine, upgrade
from hub.demo import prepare_demo
from hub.settings import Settings


async def run(args: argparse.Namespace) -> None:
    async with throwaway_store(args.database_url, "hub_bench_compiled") as (store, directory):
        await _run(args, store, directory)


async def _run(args: argparse.Namespace, store: str, directory: Path) -> None:
    settings = Settings(
        database_url=store,
        demo_dir=str(directory / ".hub-demo"),
        issuer="http://hub.bench",
        rate_requests_per_minute=0,
        rate_cost_per_minute=0,
    )
    engine = create_engine(settings)
    try:
        await upgrade(engine)
        started = time.perf_counter()
        await prepare_demo(settings, scale=args.scale)
        print(
            f"seeded {args.scale:,} people in {time.perf_counter() - started:.1f} s ({engine.dialect.name})"
        )
        entries = json.loads((directory / ".hub-demo" / "clients.json").read_text())
        credentials = {e["audience"]: (e["client_id"], e["client_secret"]) for e in entries}
        async with engine.connect() as conn:
            person = (
                await conn.execute(text("SELECT id FROM people ORDER BY id LIMIT 1 OFFSET 50"))
            ).scalar_one()
        print(f"{'workload':<12}{'path':<11}{'CPU ms/req':>11}{'wall ms/req':>12}{'bytes':>9}")
        for workload in WORKLOADS:
            if workload.hub["query"].lstrip().startswith("mutation"):
                continue
            variables = dict(workload.hub.get("variables") or {})
            if "id" in variables:
                variables["id"] = global_id("Person", person)
            bodies = []
            for mode in ("compiled", "resolvers"):
                app = create_app(settings.model_copy(update={"execution": mode}), engine=engine)
                async with httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://hub.bench"
                ) as client:
                    client_id, secret = credentials[workload.audience]
                    token = (
                        await client.post(
                            "/oauth/token",
                            data={"grant_type": "client_credentials"},
                            auth=(client_id, secret),
                        )
                    ).json()["access_token"]
                    headers = {"Authorization": f"Bearer {token}"}
                    body = {"query": workload.hub["query"], "variables": variables}
                    for _ in range(10):  # warm: plans, documents, pools
                        response = await client.post("/graphql", json=body, headers=headers)
                    cpu, wall = time.process_time(), time.perf_counter()
                    for _ in range(args.requests):
                        response = await client.post("/graphql", json=body, headers=headers)
                    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                    assert response.status_code == 200, response.text
                    bodies.append(response.json()["data"])
                    reads = next(iter(app.state.executors.values())).compiled
                    compiled = [e.compiled for e in app.state.executors.values() if e.compiled is not None]
                    plans = sum(r.compiled_count for r in compiled)
                    compile_ms = sum(r.compile_seconds for r in compiled) * 1000 / plans if plans else 0.0
                    print(
                        f"{workload.name:<12}{mode:<11}{cpu / args.requests * 1000:>11.2f}"
                        f"{wall / args.requests * 1000:>12.2f}{len(response.content):>9,}"
                        + (
                            f"   plan compiled once in {compile_ms:.1f} ms"
                            if reads is not None and plans
                            else ""
                        )
                    )
            if bodies[0] != bodies[1]:
                print(f"  !! {workload.name}: the two paths answered differently", file=sys.stderr)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak resident memory: {peak:.0f} MiB")
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--scale", type=int, default=3000, help="people in the seeded department")
    parser.add_argument("--requests", type=int, default=200, help="measured requests per workload and path")
    parser.add_argument("--database-url", help="a PostgreSQL server (a database is created and dropped)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()

__all__: list[Any] = []
