"""Scale-out evidence (issue 16, item 6): the hub with 1, 2 and 4 processes against one PostgreSQL,
without and with a streaming read replica.

By default the run brings its own PostgreSQL: a primary in a temporary directory with PostgreSQL's
durable defaults (fsync and full-page writes on) and a replica streaming from it
(tests/hub/streaming_replica.py: initdb, pg_basebackup -R), seeds ``--scale`` people into it (10,000:
about ten seconds), and stops and deletes both at the end. The machine's own cluster is not touched
(it allows no replication connections). ``--database NAME`` instead runs on a database of the
machine's cluster at 127.0.0.1:5432 (e.g. ``hub_bench_seed`` after ``make bench-seed``), primary only.

Each configuration starts ``hub serve`` with ``HUB_WORKERS`` = 1, 2, 4 (uvicorn workers: separate
processes that share nothing but the store, as separate nodes would), warms up, and drives it with wrk
at ``--connections`` for ``--duration`` seconds per workload (person, nested, submit of bench/run.py).
Reported per run: answered req/s, latency, the hub's CPU per request (its process tree), the database
backends' CPU per request on the primary and on the replica, ledger events appended per second (rows
added to ``audit_events`` on the primary), the hub's peak RSS (VmHWM summed over its processes) and
the run's wall time, with the load average: the machine is shared, so numbers are noisy.

    .venv/bin/python bench/scale.py --duration 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import loadgen
import prepare
import processes
from prepare import HUB, ROOT, log
from run import RESULTS, machine, post, token_for
from workloads import BY_NAME, Workload

sys.path.insert(0, str(ROOT))
from tests.hub.streaming_replica import StreamingPair, free_port, unavailable_reason

#: The database the run seeds in its own PostgreSQL.
OWN_DATABASE = "hub_scale"
#: Connections per workload where ``--connections`` would leave a short run without answers: 32
#: concurrent pages of 100 people take longer than a 5 s run on two shared cores.
CONNECTIONS = {"nested": 8}


@dataclass(frozen=True)
class Store:
    """Where the hubs run against: the primary's URL, and the replica's when there is one."""

    database: str
    primary: str
    replica: str | None

    def dsn(self, *, replica: bool = False) -> str:
        url = self.replica if replica else self.primary
        assert url is not None
        return url.replace("postgresql+asyncpg://", "postgresql://")


def _hub(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(HUB), *args], env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"hub {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def add_clients(env: dict[str, str]) -> dict[str, tuple[str, str]]:
    """One client per audience the workloads use (bench/prepare.py's, against ``env``'s store)."""
    clients = {}
    for audience, partner in prepare.CLIENT_PARTNERS.items():
        out = _hub(env, "clients", "add", "--partner", partner, "--name", "bench-scale")
        client_id = re.search(r"client_id:\s+(\S+)", out)
        secret = re.search(r"client_secret:\s+(\S+)", out)
        if not client_id or not secret:
            raise SystemExit(f"could not read the new client from `hub clients add`:\n{out}")
        clients[audience] = (client_id.group(1), secret.group(1))
    return clients


@contextmanager
def own_store(scale: int) -> Iterator[Store]:
    """A durable primary and its streaming replica, seeded with ``scale`` people."""
    reason = unavailable_reason()
    if reason is not None:
        raise SystemExit(f"cannot start a PostgreSQL primary and replica here: {reason}")
    pair = StreamingPair.create(durable=True)
    try:
        started = time.monotonic()
        pair.start()
        pair.psql(f"CREATE DATABASE {OWN_DATABASE}")
        store = Store(OWN_DATABASE, pair.url(OWN_DATABASE), pair.url(OWN_DATABASE, replica=True))
        env = prepare.hub_env(OWN_DATABASE, HUB_DATABASE_URL=store.primary)
        _hub(env, "migrate")
        _hub(env, "seed", "--scale", str(scale), "--quiet")
        pair.psql("ANALYZE", database=OWN_DATABASE)
        pair.wait_replayed(timeout_s=300)
        log(
            f"own primary :{pair.primary_port} and replica :{pair.replica_port}, {scale:,} people "
            f"seeded in {time.monotonic() - started:.0f} s"
        )
        yield store
    finally:
        pair.stop()


async def _scalar(dsn: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def _backends(dsn: str, database: str) -> list[int]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "select pid from pg_stat_activity where datname = $1 and backend_type = 'client backend'",
            database,
        )
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


def backends(store: Store, *, replica: bool) -> list[int]:
    if replica and store.replica is None:
        return []
    return asyncio.run(_backends(store.dsn(replica=replica), store.database))


def events(store: Store) -> int:
    return int(asyncio.run(_scalar(store.dsn(), "select coalesce(max(id), 0) from audit_events")))


def events_since(store: Store, last_id: int) -> int:
    return int(asyncio.run(_scalar(store.dsn(), "select count(*) from audit_events where id > $1", last_id)))


def cpu_delta(before: dict[int, float], pids: list[int]) -> float:
    after = processes.cpu_seconds(sorted(set(before) | set(pids)))
    return sum(after[p] - before.get(p, 0.0) for p in after if after[p] >= before.get(p, 0.0))


def run_one(
    args: argparse.Namespace,
    store: Store,
    config: str,
    workers: int,
    workload: Workload,
    server: processes.Server,
    token: str,
) -> dict[str, Any]:
    url, body = server.base + "/graphql", workload.hub
    for _ in range(10):  # a worker may still be starting behind the one that answered
        status, payload = post(url, body, token)
        if status < 500:
            break
        time.sleep(1)
    if status != 200 or not isinstance(payload, dict) or payload.get("errors"):
        raise SystemExit(f"{config} {workload.name}: HTTP {status}: {json.dumps(payload)[:600]}")
    script = loadgen.write_script(RESULTS / "lua" / f"scale-{workload.name}.lua", body, token)
    connections = min(args.connections, CONNECTIONS.get(workload.name, args.connections))
    loadgen.run(url, script, args.warmup, connections)
    pids = server.pids()
    primary_pids, replica_pids = backends(store, replica=False), backends(store, replica=True)
    cpu0 = processes.cpu_seconds(pids)
    db0 = processes.cpu_seconds(primary_pids)
    rep0 = processes.cpu_seconds(replica_pids)
    last_event = events(store)
    started = time.monotonic()
    load = loadgen.run(url, script, args.duration, connections)
    wall = time.monotonic() - started
    appended = events_since(store, last_event)
    server_cpu = cpu_delta(cpu0, server.pids())
    db_cpu = cpu_delta(db0, backends(store, replica=False))
    rep_cpu = cpu_delta(rep0, backends(store, replica=True))
    unanswered = sum(v for k, v in load.errors.items() if k != "status")
    ok = max(load.requests - load.failed, 0)

    def per_request(cpu: float) -> float | None:
        return round(1000 * cpu / ok, 3) if ok else None

    row = {
        "config": config,
        "processes": workers,
        "workload": workload.name,
        "connections": connections,
        **asdict(load),
        "ok_requests": ok,
        "failed_or_unanswered": load.failed + unanswered,
        "ok_rps": round(ok / load.seconds, 1) if load.seconds else 0.0,
        "hub_cpu_ms_per_req": per_request(server_cpu),
        "primary_db_cpu_ms_per_req": per_request(db_cpu),
        "replica_db_cpu_ms_per_req": per_request(rep_cpu) if store.replica and config == "replica" else None,
        "ledger_events": appended,
        "ledger_events_per_s": round(appended / load.seconds, 1) if load.seconds else 0.0,
        "peak_rss_mb": round(sum(processes.peak_rss_kb(p) for p in server.pids()) / 1024, 1),
        "wall_s": round(wall, 1),
        "loadavg_after": round(os.getloadavg()[0], 2),
    }
    log(
        f"  {config:<10} x{workers} {workload.name:<7} {row['ok_rps']:8.1f} req/s  p99 {load.p99_ms:7.1f} ms"
        f"  hub {row['hub_cpu_ms_per_req']} ms/req  primary {row['primary_db_cpu_ms_per_req']} ms/req"
        f"  replica {row['replica_db_cpu_ms_per_req']} ms/req  ledger {row['ledger_events_per_s']}/s"
        f"  rss {row['peak_rss_mb']} MB  failed {row['failed_or_unanswered']}"
    )
    return row


def measure(
    args: argparse.Namespace, store: Store, clients: dict[str, tuple[str, str]]
) -> list[dict[str, Any]]:
    configs = [c for c in args.configs if c != "replica" or (store.replica and not args.no_replica)]
    results = []
    # Rounds interleave the configurations, so a change in the machine's other load hits each alike.
    for round_ in range(1, args.rounds + 1):
        for config, workers in [(c, w) for c in configs for w in args.processes]:
            port = free_port()
            extra = {
                "HUB_DATABASE_URL": store.primary,
                "HUB_PORT": str(port),
                "HUB_WORKERS": str(workers),
                "HUB_ISSUER": f"http://127.0.0.1:{port}",
            }
            if config == "replica":
                assert store.replica is not None
                # Every query reads the replica: no partner of the benchmark writes and reads.
                extra["HUB_READ_DATABASE_URL"] = store.replica
            elif config == "ledger-off":
                # Only to see what the ledger's serialized appends cost as processes are added.
                extra["HUB_LEDGER"] = "off-for-benchmark"
            env = prepare.hub_env(store.database, **extra)
            server = processes.Server(
                "hub",
                [str(HUB), "serve"],
                env,
                port,
                "/healthz",
                ROOT,
                RESULTS / "logs" / f"scale-{config}-w{workers}.log",
            )
            log(f"round {round_}, {config}: hub serve with {workers} process(es)")
            server.start()
            try:
                tokens = {aud: token_for(server.base, cred) for aud, cred in clients.items()}
                for name in args.workloads:
                    workload = BY_NAME[name]
                    row = run_one(args, store, config, workers, workload, server, tokens[workload.audience])
                    results.append({"round": round_, **row})
            finally:
                server.stop()
    return results


# --- the ledger's ceiling: appends alone, no HTTP or GraphQL ----------------------------------------


async def _append_for(url: str, seconds: float, concurrency: int) -> int:
    """Append ledger events through the hub's own append (auth/audit.py ``record_event``, one
    transaction each: lock, previous hash, insert, commit) from ``concurrency`` tasks; how many."""
    from uuid import uuid4

    from auth.audit import record_event
    from auth.ledger_requests import GRAPHQL
    from hub.db import create_engine, session_factory
    from hub.settings import Settings

    engine = create_engine(Settings(database_url=url, db_pool_size=concurrency))
    sessions = session_factory(engine)
    deadline = time.monotonic() + seconds
    done = 0

    async def appender() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            async with sessions() as session:
                await record_event(
                    session,
                    kind=GRAPHQL,
                    request_id=uuid4().hex,
                    audience="admin",
                    staff_subject="bench-scale",
                )
                await session.commit()
            done += 1

    try:
        await asyncio.gather(*(appender() for _ in range(concurrency)))
    finally:
        await engine.dispose()
    return done


def ledger_ceiling(args: argparse.Namespace, store: Store) -> list[dict[str, Any]]:
    """Events per second the primary's ledger takes from 1, 2, 4 processes appending at once."""
    rows = []
    for count in [c for _ in range(args.rounds) for c in args.processes]:
        before = events(store)
        started = time.monotonic()
        workers = [
            subprocess.Popen(
                [sys.executable, __file__, "--ledger-worker", store.primary, str(args.duration), "16"],
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            for _ in range(count)
        ]
        outputs = [w.communicate()[0] for w in workers]
        wall = time.monotonic() - started
        if any(w.returncode for w in workers):
            raise SystemExit(f"a ledger appender failed: {outputs}")
        appended = events_since(store, before)
        row = {
            "processes": count,
            "concurrency": 16 * count,
            "events": appended,
            "events_per_s": round(appended / args.duration, 1),
            "wall_s": round(wall, 1),
            "loadavg_after": round(os.getloadavg()[0], 2),
        }
        log(f"  ledger x{count} ({16 * count} appenders): {row['events_per_s']} events/s")
        rows.append(row)
    return rows


def medians(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per workload, configuration and process count: the median of each figure over the rounds."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["workload"], r["config"], r["processes"]), []).append(r)
    out = []
    for rows in groups.values():
        merged = dict(rows[0])
        for key, value in rows[0].items():
            if isinstance(value, int | float) and not isinstance(value, bool) and key != "processes":
                values = [r[key] for r in rows if r[key] is not None]
                merged[key] = statistics.median(values) if values else None
        merged["rounds"] = len(rows)
        out.append(merged)
    return out


def table(results: list[dict[str, Any]]) -> str:
    results = medians(results)
    head = (
        f"{'workload':<8} {'config':<10} {'procs':>5} {'ok req/s':>9} {'x1 proc':>7} {'failed':>6} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'hub cpu ms/req':>14} {'primary ms/req':>14} {'replica ms/req':>14} {'ledger ev/s':>11} "
        f"{'peak RSS MB':>11} {'wall s':>6} {'load':>5}"
    )
    lines = [head, "-" * len(head)]
    for workload in dict.fromkeys(r["workload"] for r in results):
        for config in dict.fromkeys(r["config"] for r in results):
            rows = [r for r in results if r["workload"] == workload and r["config"] == config]
            one = next((r["ok_rps"] for r in rows if r["processes"] == 1), None)
            for r in rows:
                replica = r["replica_db_cpu_ms_per_req"]
                lines.append(
                    f"{workload:<8} {config:<10} {r['processes']:>5} {r['ok_rps']:>9.1f} "
                    f"{(r['ok_rps'] / one if one else 0):>7.2f} {r['failed_or_unanswered']:>6} {r['p50_ms']:>7.1f} "
                    f"{r['p99_ms']:>7.1f} {r['hub_cpu_ms_per_req'] or 0:>14.2f} "
                    f"{r['primary_db_cpu_ms_per_req'] or 0:>14.2f} {'-' if replica is None else f'{replica:.2f}':>14} "
                    f"{r['ledger_events_per_s']:>11.1f} {r['peak_rss_mb']:>11.1f} {r['wall_s']:>6.1f} "
                    f"{r['loadavg_after']:>5.2f}"
                )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, default=10_000, help="people seeded into the run's own store")
    parser.add_argument(
        "--database",
        default=None,
        help="a database of the machine's PostgreSQL (127.0.0.1:5432) instead of the run's own store; "
        "seeded with --scale people unless it holds them (make bench-seed: hub_bench_seed, 100,000); no replica",
    )
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat every configuration; the table shows medians"
    )
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--processes", default="1,2,4", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument("--workloads", default="person,nested,submit", type=lambda s: s.split(","))
    parser.add_argument(
        "--configs",
        default="primary,replica",
        type=lambda s: s.split(","),
        help="primary (everything on the primary), replica (queries read the replica), ledger-off "
        "(primary, HUB_LEDGER=off-for-benchmark: what the ledger's appends cost)",
    )
    parser.add_argument("--no-replica", action="store_true", help="leave out the replica configuration")
    parser.add_argument("--label", default="", help="suffix of the results file")
    parser.add_argument(
        "--ledger-worker", nargs=3, metavar=("URL", "SECONDS", "TASKS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.ledger_worker:
        url, seconds, tasks = args.ledger_worker
        print(asyncio.run(_append_for(url, float(seconds), int(tasks))))
        return 0
    unknown = set(args.workloads) - set(BY_NAME)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {sorted(BY_NAME)}")
    if set(args.configs) - {"primary", "replica", "ledger-off"}:
        parser.error("--configs takes primary, replica and ledger-off")
    if any(n < 1 or n > 64 for n in args.processes):
        parser.error("--processes takes counts between 1 and 64, e.g. 1,2,4")
    loadgen.ensure_wrk()

    info = machine()
    started = time.monotonic()
    if args.database:
        prepare.prepare_database(args.database, args.scale, False)
        store = Store(args.database, prepare.hub_url(args.database), None)
        clients = prepare.add_clients(args.database)
        results = measure(args, store, clients)
        ceiling = ledger_ceiling(args, store)
    else:
        with own_store(args.scale) as store:
            clients = add_clients(prepare.hub_env(store.database, HUB_DATABASE_URL=store.primary))
            results = measure(args, store, clients)
            ceiling = ledger_ceiling(args, store)
    text = (
        table(results) + "\n\nledger appends alone (auth/audit.py record_event, 16 appenders per process):\n"
    )
    text += "\n".join(
        f"  {n} process(es), {16 * n} appenders: "
        + ", ".join(f"{r['events_per_s']:.0f}" for r in ceiling if r["processes"] == n)
        + " events/s (load "
        + ", ".join(f"{r['loadavg_after']:.1f}" for r in ceiling if r["processes"] == n)
        + ")"
        for n in args.processes
    )
    info["loadavg_at_end"] = os.getloadavg()
    print(text)
    print(
        f"\n{info['nproc']} cores ({info['cpu']}); load average at start "
        f"{' '.join(f'{x:.2f}' for x in info['loadavg_at_start'])}, at end "
        f"{' '.join(f'{x:.2f}' for x in info['loadavg_at_end'])}; {time.monotonic() - started:.0f} s in all"
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"scale-{stamp}{'-' + args.label if args.label else ''}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"machine": info, "settings": vars(args), "results": results, "ledger": ceiling, "table": text},
            indent=2,
            default=str,
        )
    )
    print(f"results: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
