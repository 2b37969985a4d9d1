"""``make bench``: the hub, hand-written SQL (asyncpg) and PostGraphile v5 side by side on one database.

Each server is started on 127.0.0.1 with 1 and then 2 worker processes, warmed up, and driven by wrk
at a fixed concurrency for a fixed time per workload. Server CPU (utime+stime of its process tree),
the database backends' CPU and the servers' peak RSS (VmHWM) are read from /proc around each run.
The table goes to stdout; the full results to bench/results/<time>[-label].json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import loadgen
import prepare
import processes
from prepare import BENCH, HUB, NODE, PEER_DIR, ROOT, log
from workloads import BY_NAME, WORKLOADS, Workload

RESULTS = BENCH / "results"
PORTS = {"hub": 8201, "sql": 8202, "peer": 8203}
PYTHON = str(ROOT / ".venv" / "bin" / "python")


def machine() -> dict[str, Any]:
    model = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadavg_at_start": os.getloadavg(),
    }


def make_server(
    kind: str, workers: int, database: str, hub_env: dict[str, str], partner: int
) -> processes.Server:
    logs = RESULTS / "logs"
    if kind == "hub" or kind.startswith("hub:"):
        port = PORTS["hub"] + (0 if kind == "hub" else 3)
        env = prepare.hub_env(
            database,
            HUB_PORT=str(port),
            HUB_WORKERS=str(workers),
            HUB_ISSUER=f"http://127.0.0.1:{port}",
            **hub_env,
        )
        if kind == "hub":
            cmd = [str(HUB), "serve"]
        else:
            env["BENCH_VARIANT"] = kind.split(":", 1)[1]
            cmd = [
                PYTHON,
                "-m",
                "uvicorn",
                "hub_variants:app_from_environment",
                "--factory",
                "--app-dir",
                str(BENCH),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--no-access-log",
                "--log-level",
                "warning",
            ]
        return processes.Server(
            kind, cmd, env, port, "/healthz", ROOT, logs / f"{kind.replace(':', '-')}-w{workers}.log"
        )
    if kind == "sql":
        env = {**os.environ, "BENCH_SQL_DSN": prepare.dsn(database), "BENCH_SQL_PARTNER_ID": str(partner)}
        cmd = [
            PYTHON,
            "-m",
            "uvicorn",
            "sqlserver:app",
            "--app-dir",
            str(BENCH),
            "--host",
            "127.0.0.1",
            "--port",
            str(PORTS["sql"]),
            "--workers",
            str(workers),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        return processes.Server("sql", cmd, env, PORTS["sql"], "/", ROOT, logs / f"sql-w{workers}.log")
    if kind == "peer":
        env = {
            **os.environ,
            "PEER_DATABASE_URL": prepare.dsn(database),
            "PEER_PORT": str(PORTS["peer"]),
            "PEER_WORKERS": str(workers),
            "NODE_ENV": "production",
        }
        return processes.Server(
            "peer",
            [str(NODE), "server.mjs"],
            env,
            PORTS["peer"],
            "/graphql",
            PEER_DIR,
            logs / f"peer-w{workers}.log",
        )
    raise SystemExit(f"unknown server {kind!r}")


def post(url: str, body: dict[str, Any], token: str | None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw or b"null")
        except ValueError:
            return exc.code, raw.decode(errors="replace")


def token_for(base: str, credentials: tuple[str, str]) -> str:
    basic = b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
    request = urllib.request.Request(
        base + "/oauth/token",
        b"grant_type=client_credentials",
        {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["access_token"])


def target(kind: str, server: processes.Server, workload: Workload) -> tuple[str, dict[str, Any]] | None:
    if kind == "sql":
        return (server.base + workload.sql, workload.hub) if workload.sql else None
    if kind == "peer":
        return (server.base + "/graphql", workload.peer) if workload.peer else None
    return server.base + "/graphql", workload.hub


async def backend_pids(database: str) -> list[int]:
    conn = await asyncpg.connect(prepare.dsn("postgres"))
    try:
        rows = await conn.fetch(
            "select pid from pg_stat_activity where datname = $1 and backend_type = 'client backend'",
            database,
        )
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


def check(kind: str, workload: Workload, status: int, payload: Any, reference: dict[str, Any]) -> str:
    """One request before the load: it must succeed, and the SQL server must answer what the hub did."""
    if status != 200 or not isinstance(payload, dict) or payload.get("errors") or payload.get("data") is None:
        raise SystemExit(f"{kind} {workload.name}: HTTP {status}: {json.dumps(payload)[:800]}")
    data = payload["data"]
    if kind == "hub":
        reference[workload.name] = data
        return "reference"
    if kind == "sql" and workload.name in reference and workload.name != "submit":
        return "same JSON as the hub" if data == reference[workload.name] else "DIFFERS from the hub"
    return "ok"


def profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    spy = ROOT / ".venv" / "bin" / "py-spy"
    if not spy.exists():
        raise SystemExit("py-spy is not installed: .venv/bin/pip install -e '.[bench]'")
    return subprocess.Popen(
        [
            str(spy),
            "record",
            "--native",
            "-r",
            "200",
            "-p",
            str(pid),
            "-d",
            str(int(seconds)),
            "-f",
            "raw",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def measure(
    args: argparse.Namespace, clients: dict[str, tuple[str, str]], partner: int
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    reference: dict[str, dict[str, Any]] = {}
    hub_env = dict(kv.split("=", 1) for kv in args.hub_env)
    for workers in args.workers:
        for kind in args.servers:
            chosen = [BY_NAME[n] for n in args.workloads]
            if kind.startswith("hub:"):
                if workers != 1 and not args.all_variants:
                    continue
                if not args.all_variants:
                    chosen = [w for w in chosen if w.name in ("person", "nested")]
            server = make_server(kind, workers, args.database, hub_env, partner)
            log(f"{kind} with {workers} worker(s): starting")
            server.start()
            try:
                tokens = {}
                if kind.startswith("hub"):
                    tokens = {aud: token_for(server.base, cred) for aud, cred in clients.items()}
                for workload in chosen:
                    aim = target(kind, server, workload)
                    if aim is None:
                        continue
                    url, body = aim
                    token = tokens.get(workload.audience)
                    for _ in range(10):  # a worker may still be starting behind the one that answered
                        status, payload = post(url, body, token)
                        if status < 500:
                            break
                        time.sleep(1)
                    verdict = check(kind, workload, status, payload, reference)
                    script = loadgen.write_script(
                        RESULTS / "lua" / f"{kind.replace(':', '-')}-{workload.name}.lua", body, token
                    )
                    loadgen.run(url, script, args.warmup, args.connections)
                    pids = server.pids()
                    db_pids = asyncio.run(backend_pids(args.database))
                    cpu0 = processes.cpu_seconds(pids)
                    db0 = processes.cpu_seconds(db_pids)
                    spy = None
                    if args.profile and kind.startswith("hub") and workload.name in args.profile:
                        worker_pid = max(pids, key=processes.cpu_ticks)
                        out = RESULTS / f"profile-{kind.replace(':', '-')}-{workload.name}-w{workers}.txt"
                        spy = profile(worker_pid, args.duration, out)
                    load = loadgen.run(url, script, args.duration, args.connections)
                    if spy is not None:
                        spy.wait()
                    pids_after = server.pids()
                    cpu1 = processes.cpu_seconds(sorted(set(pids) | set(pids_after)))
                    db1 = processes.cpu_seconds(
                        sorted(set(db_pids) | set(asyncio.run(backend_pids(args.database))))
                    )
                    server_cpu = sum(cpu1[p] - cpu0.get(p, 0.0) for p in cpu1)
                    db_cpu = sum(db1[p] - db0.get(p, 0.0) for p in db1 if db1[p] >= db0.get(p, 0.0))
                    rss_kb = sum(processes.peak_rss_kb(p) for p in pids_after)
                    ok = max(load.requests - load.failed, 0)
                    # Requests that never got an answer (over wrk's 10 s timeout, broken connections).
                    unanswered = sum(v for k, v in load.errors.items() if k != "status")
                    row = {
                        "server": kind,
                        "workers": workers,
                        "workload": workload.name,
                        "check": verdict,
                        **asdict(load),
                        "ok_requests": ok,
                        "failed_or_unanswered": load.failed + unanswered,
                        "ok_rps": round(ok / load.seconds, 1) if load.seconds else 0.0,
                        "server_cpu_s": round(server_cpu, 3),
                        "server_cpu_ms_per_req": round(1000 * server_cpu / ok, 3) if ok else None,
                        "db_cpu_ms_per_req": round(1000 * db_cpu / ok, 3) if ok else None,
                        "server_cpu_util": round(server_cpu / load.seconds, 2) if load.seconds else None,
                        "peak_rss_mb": round(rss_kb / 1024, 1),
                        "processes": len(pids_after),
                        "loadavg_after": os.getloadavg()[0],
                    }
                    results.append(row)
                    log(
                        f"  {workload.name:<11} {load.rps:8.1f} req/s  p50 {load.p50_ms:7.1f} ms  p99 {load.p99_ms:7.1f} ms"
                        f"  cpu {row['server_cpu_ms_per_req']} ms/req  db {row['db_cpu_ms_per_req']} ms/req"
                        f"  rss {row['peak_rss_mb']} MB  failed {load.failed}  [{verdict}]"
                    )
            finally:
                server.stop()
    return results


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "-"


def table(results: list[dict[str, Any]]) -> str:
    lines = []
    head = (
        f"{'workload':<11} {'server':<17} {'ok req/s':>8} {'failed':>6} {'p50 ms':>8} {'p99 ms':>8} {'cpu ms/req':>10} "
        f"{'db ms/req':>9} {'peak RSS MB':>11} {'hub/peer':>8} {'hub/SQL':>7}"
    )
    for workers in sorted({r["workers"] for r in results}):
        lines += ["", f"{workers} worker process(es) per server", head, "-" * len(head)]
        for workload in WORKLOADS:
            rows = [r for r in results if r["workers"] == workers and r["workload"] == workload.name]
            rps = {r["server"]: r["ok_rps"] for r in rows}
            for r in rows:
                is_hub = r["server"].startswith("hub")
                lines.append(
                    f"{workload.name:<11} {r['server']:<17} {r['ok_rps']:>8.1f} {r['failed_or_unanswered']:>6} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} "
                    f"{r['server_cpu_ms_per_req'] or 0:>10.2f} {r['db_cpu_ms_per_req'] or 0:>9.2f} {r['peak_rss_mb']:>11.1f} "
                    f"{ratio(r['ok_rps'], rps.get('peer')) if is_hub else '':>8} {ratio(r['ok_rps'], rps.get('sql')) if is_hub else '':>7}"
                )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE", "hub_bench"))
    parser.add_argument("--scale", type=int, default=int(os.environ.get("BENCH_SCALE", "100000")))
    parser.add_argument(
        "--reseed", action="store_true", help="seed again even if the database holds the scale"
    )
    parser.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_DURATION", "15")))
    parser.add_argument("--warmup", type=float, default=float(os.environ.get("BENCH_WARMUP", "3")))
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", default="1,2", type=lambda s: [int(x) for x in s.split(",")])
    parser.add_argument(
        "--servers",
        default="hub,sql,peer,hub:resolvers,hub:no-auth,hub:ledger-off,hub:no-rate-limit",
        type=lambda s: s.split(","),
    )
    parser.add_argument(
        "--workloads", default=",".join(w.name for w in WORKLOADS), type=lambda s: s.split(",")
    )
    parser.add_argument(
        "--hub-env", action="append", default=[], metavar="HUB_X=Y", help="extra setting for the hub"
    )
    parser.add_argument(
        "--all-variants",
        action="store_true",
        help="run hub:<variant> servers on every workload and worker count",
    )
    parser.add_argument(
        "--profile",
        default="",
        type=lambda s: [x for x in s.split(",") if x],
        help="workloads to profile with py-spy",
    )
    parser.add_argument("--label", default="", help="suffix of the results file")
    args = parser.parse_args()
    unknown = set(args.workloads) - set(BY_NAME)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; choose from {sorted(BY_NAME)}")

    info = machine()
    started = time.monotonic()
    prepare.prepare_database(args.database, args.scale, args.reseed)
    if "peer" in args.servers:
        prepare.install_peer()
    clients = prepare.add_clients(args.database)
    partner = asyncio.run(prepare.partner_id(args.database, prepare.CLIENT_PARTNERS["legislative"]))
    results = measure(args, clients, partner)
    text = table(results)
    print(text)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"{stamp}{'-' + args.label if args.label else ''}.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    info["loadavg_at_end"] = os.getloadavg()
    out.write_text(
        json.dumps(
            {
                "machine": info,
                "settings": dict(vars(args).items()),
                "scale": args.scale,
                "elapsed_s": round(time.monotonic() - started, 1),
                "results": results,
                "table": text,
            },
            indent=2,
        )
    )
    print(
        f"\nresults: {out.relative_to(ROOT)}  (load average at start {info['loadavg_at_start'][0]:.2f}, "
        f"at end {info['loadavg_at_end'][0]:.2f}; {info['nproc']} cores)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
