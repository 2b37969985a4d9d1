"""Ledger events appended per second, and what the append adds to a request, with and without group
commit (issue 16, item 3), on PostgreSQL, from 1 and 2 processes.

    PYTHONPATH=. .venv/bin/python bench/ledger_append.py \\
        --url postgresql+asyncpg://postgres@127.0.0.1:5432/hub_ledger_bench [--seconds 10] [--concurrency 32]

Drops and re-creates the database of ``--url`` (it must be a throw-away one), migrates it, then for
each mode and process count starts that many processes (this file with ``--worker``), which start
appending together and keep ``--concurrency`` requests in flight between them for ``--seconds``:
each request appends one event like a person look-up's (a served GraphQL event with its redacted
variables and three disclosures) and waits for its commit, then the next begins at once.

- ``per-request``: what ``HUB_LEDGER_BATCH_MS=0`` does, each event in a transaction of its own
  (lock, previous hash, event, disclosures, commit), through the hub's own engine and pool;
- ``group``: the hub's appender (``HUB_LEDGER_BATCH_MS``, default 2 ms), many requests' events per
  transaction, built as hub/app.py builds it: on an engine of its own with one connection, which it
  holds across batches (each batch one call of ``hub_ledger_append`` in autocommit).

Each combination runs twice: as fast as it goes (each request's next append starts when its last
one committed: the capacity) and paced at ``--rate`` events/s in all (each of the requests in flight
appends once per period: the latency the ledger adds at a load below capacity). Prints, per row,
events committed per second (all processes together), the append's latency per request (p50 and
p99: what the ledger adds to a request's time), the processes' CPU per event, the wall time of the
row and the peak RSS (ru_maxrss) of its processes; then checks the chain (``auth.ledger.verify``)
and that the ledger holds exactly the events counted. Before the rows it times 200 one-row commits
on the store, one after another: the WAL flush each batch waits for while it holds the lock.
``--modes group`` leaves out the per-request rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

ROOT = Path(__file__).resolve().parents[1]
MODES = ("per-request", "group")


def _event_fields(worker: int, n: int) -> dict[str, Any]:
    return {
        "kind": "graphql",
        "request_id": f"bench-{worker}-{n}",
        "client_id": "bench-client",
        "audience": "constituent_services",
        "operation_name": "Person",
        "document_hash": "0" * 64,
        "variables": {"id": "UGVyc29uOjE="},
    }


DISCLOSURES = [("person", 1, ["public_person"]), ("person", 2, ["identity"]), ("victim", 3, ["victims"])]


async def worker(
    url: str, mode: str, concurrency: int, seconds: float, index: int, period: float
) -> dict[str, Any]:
    from auth.audit import new_event, record_event
    from auth.ledger_appender import LedgerAppender
    from hub.db import create_engine, session_factory
    from hub.settings import Settings

    settings = Settings(database_url=url)
    engine = create_engine(settings)
    sessions = session_factory(engine)
    own = create_engine(settings.model_copy(update={"db_pool_size": 1}))
    appender = LedgerAppender(session_factory(own), window_s=settings.ledger_batch_ms / 1000, engine=own)
    batches: list[int] = []
    appender.on_batch = lambda n, _s, failed: batches.append(n)
    async with sessions() as s:  # the pool's first connection, before the clock starts
        await s.execute(text("SELECT 1"))
    latencies: list[float] = []
    failures = 0
    counter = 0

    async def one_request(deadline: float, offset: float) -> None:
        nonlocal failures, counter
        tick = time.perf_counter() + offset
        while time.perf_counter() < deadline:
            if period:  # paced: one request per period, whatever the last one took
                tick += period
                await asyncio.sleep(max(0.0, tick - time.perf_counter()))
            counter += 1
            fields = _event_fields(index, counter)
            started = time.perf_counter()
            try:
                if mode == "group":
                    await appender.append(new_event(**fields), DISCLOSURES)
                else:
                    async with sessions() as s:
                        await record_event(s, **fields, disclosures=DISCLOSURES)
                        await s.commit()
            except Exception:  # noqa: BLE001 - counted: a refused request in the hub
                failures += 1
                continue
            latencies.append(time.perf_counter() - started)

    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    cpu, began = time.process_time(), time.perf_counter()
    await asyncio.gather(
        *(one_request(began + seconds, period * j / concurrency) for j in range(concurrency))
    )
    await appender.close()
    cpu, elapsed = time.process_time() - cpu, time.perf_counter() - began
    await engine.dispose()
    await own.dispose()
    return {
        "events": len(latencies),
        "failures": failures,
        "latencies_ms": [round(x * 1000, 3) for x in latencies],
        "cpu_s": cpu,
        "elapsed_s": elapsed,
        "batches": len(batches),
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _recreate(url: str) -> None:
    from hub.db import create_engine, upgrade
    from hub.settings import Settings

    parsed = make_url(Settings(database_url=url).database_url)
    admin = create_async_engine(
        parsed.set(database="postgres"), isolation_level="AUTOCOMMIT", hide_parameters=True
    )
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    await admin.dispose()
    engine = create_engine(Settings(database_url=url))
    await upgrade(engine)
    await engine.dispose()


async def _commit_floor(url: str, commits: int = 200) -> tuple[float, float]:
    """p50 and p99 ms of a one-row INSERT committed on its own, one after another: the WAL flush every
    batch waits for while it holds the ledger's lock, so the floor of a batch's hold."""
    from hub.db import create_engine
    from hub.settings import Settings

    engine = create_engine(Settings(database_url=url))
    times: list[float] = []
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("CREATE TABLE IF NOT EXISTS bench_commit_probe (x integer)"))
        for i in range(commits):
            started = time.perf_counter()
            await conn.execute(text("INSERT INTO bench_commit_probe VALUES (:x)"), {"x": i})
            times.append((time.perf_counter() - started) * 1000)
        await conn.execute(text("DROP TABLE bench_commit_probe"))
    await engine.dispose()
    return _percentile(times, 0.5), _percentile(times, 0.99)


async def _count_and_verify(url: str) -> tuple[int, str]:
    from auth.ledger import verify
    from hub.db import create_engine, session_factory
    from hub.settings import Settings
    from resolvers.models.ledger import AuditEvent

    engine = create_engine(Settings(database_url=url))
    async with session_factory(engine)() as s:
        count = int(await s.scalar(select(func.count()).select_from(AuditEvent)) or 0)
        result = await verify(s)
    await engine.dispose()
    return count, "holds" if result.broken is None else f"BROKEN at {result.broken}"


def run_row(
    url: str, mode: str, processes: int, concurrency: int, seconds: float, rate: float
) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    share = [concurrency // processes + (1 if i < concurrency % processes else 0) for i in range(processes)]
    procs = [
        subprocess.Popen(
            [
                *(sys.executable, __file__, "--worker", "--url", url, "--mode", mode),
                *("--concurrency", str(c), "--seconds", str(seconds), "--index", str(i)),
                *("--period", str(concurrency / rate if rate else 0.0)),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i, c in enumerate(share)
    ]
    for p in procs:
        assert p.stdout is not None
        line = p.stdout.readline()
        if line != "ready\n":
            raise SystemExit(f"a worker did not start: {line!r}")
    wall = time.perf_counter()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    wall = time.perf_counter() - wall
    latencies = [x for r in results for x in r["latencies_ms"]]
    events = sum(r["events"] for r in results)
    return {
        "mode": mode,
        "processes": processes,
        "offered": f"{rate:,.0f}/s" if rate else "as fast as it goes",
        "events": events,
        "failures": sum(r["failures"] for r in results),
        # Requests in flight at the deadline finish after it: divide by the time they all took.
        "events_per_s": events / max(r["elapsed_s"] for r in results),
        "p50_ms": _percentile(latencies, 0.50),
        "p99_ms": _percentile(latencies, 0.99),
        "mean_batch": events / max(1, sum(r["batches"] for r in results)) if mode == "group" else 1.0,
        "cpu_ms_per_event": 1000 * sum(r["cpu_s"] for r in results) / max(1, events),
        "wall_s": wall,
        "peak_rss_mb": max(r["maxrss_kb"] for r in results) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--url", required=True, help="a throw-away PostgreSQL database (dropped and re-created)"
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--rate",
        type=float,
        default=1000.0,
        help="events/s offered in the paced rows (latency at a load below capacity)",
    )
    parser.add_argument(
        "--modes", default=",".join(MODES), help=f"comma-separated, of {', '.join(MODES)} (default: both)"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--period", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, default="group", help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        out = asyncio.run(
            worker(args.url, args.mode, args.concurrency, args.seconds, args.index, args.period)
        )
        print(json.dumps(out), flush=True)
        return
    if not args.url.startswith("postgres"):
        raise SystemExit("--url must name a PostgreSQL database (postgresql+asyncpg://…)")
    modes = args.modes.split(",")
    if not modes or set(modes) - set(MODES):
        raise SystemExit(f"--modes takes {', '.join(MODES)}")
    started, load = time.perf_counter(), os.getloadavg()[0]
    asyncio.run(_recreate(args.url))
    floor = asyncio.run(_commit_floor(args.url))
    rows = [
        run_row(args.url, mode, n, args.concurrency, args.seconds, rate)
        for rate in (0.0, args.rate)
        for n in (1, 2)
        for mode in modes
    ]
    print(
        f"{args.concurrency} requests in flight, {args.seconds:g} s per row, machine load average "
        f"{load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; a one-row commit on this store "
        f"(the floor of a batch's hold on the lock): p50 {floor[0]:.1f} ms, p99 {floor[1]:.1f} ms\n"
    )
    print(
        "| offered | mode | processes | events/s | failed | append p50 ms | append p99 ms | events per commit "
        "| CPU ms/event | wall s | peak RSS MB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['offered']} | {r['mode']} | {r['processes']} | {r['events_per_s']:,.0f} | {r['failures']} | {r['p50_ms']:.1f} "
            f"| {r['p99_ms']:.1f} | {r['mean_batch']:.1f} | {r['cpu_ms_per_event']:.2f} | {r['wall_s']:.1f} "
            f"| {r['peak_rss_mb']:.0f} |"
        )
    count, chain = asyncio.run(_count_and_verify(args.url))
    expected = sum(r["events"] for r in rows)
    print(f"\nledger: {count} events (counted {expected}), the chain {chain}")
    print(
        f"total {time.perf_counter() - started:.0f} s; peak RSS of this process "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, of its largest worker "
        f"{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f} MB"
    )
    if count != expected or chain != "holds":
        raise SystemExit(1)


if __name__ == "__main__":
    main()
