"""Each cheap gain's effect, as the hub worker's own CPU time per request.

Under wrk the table's numbers move with whatever else the machine runs; a gain is measured better as
the CPU time one process spends per operation. This drives the hub's ASGI app in-process (httpx, no
sockets) with a few concurrent operations at a time, once per variant of bench/hub_variants.py, each
in a fresh process, rounds interleaved so that a change in the machine's load hits every variant alike.

``.venv/bin/python bench/gains.py [--requests 150] [--rounds 2] [--workloads nested,person]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

import prepare
from prepare import ROOT
from workloads import BY_NAME

VARIANTS = ("", "gc-default", "keep-loaders", "no-doc-cache", "stdlib-json", "in-lists", "no-auth")
LABELS = {
    "": "the hub as committed (every gain on)",
    "gc-default": "without GC tuning (HUB_GC_TUNING=false)",
    "keep-loaders": "without releasing the loaders",
    "no-doc-cache": "without the document cache",
    "stdlib-json": "json instead of orjson",
    "in-lists": "IN lists instead of = ANY(:keys)",
    "no-auth": "token check off (claims read unverified)",
}


async def _drive(
    workload: str, requests: int, concurrency: int, credentials: tuple[str, str]
) -> dict[str, Any]:
    import httpx
    import hub_variants

    app = hub_variants.app_from_environment()
    body = BY_NAME[workload].hub
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
            answer = await client.post(
                "/oauth/token", data={"grant_type": "client_credentials"}, auth=credentials
            )
            headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}

            async def one() -> None:
                response = await client.post("/graphql", json=body, headers=headers)
                payload = response.json()
                if response.status_code != 200 or payload.get("errors"):
                    raise SystemExit(f"{workload}: {response.status_code} {str(payload)[:300]}")

            async def batch(n: int) -> None:
                for _ in range(n // concurrency):
                    await asyncio.gather(*(one() for _ in range(concurrency)))

            await batch(max(concurrency * 3, requests // 5))  # warm-up: caches, pool, prepared statements
            cpu0, wall0 = time.process_time(), time.perf_counter()
            await batch(requests)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    done = (requests // concurrency) * concurrency
    return {"cpu_ms_per_req": 1000 * cpu / done, "wall_ms_per_req": 1000 * wall / done}


def child(args: argparse.Namespace) -> int:
    credentials = tuple(json.loads(os.environ["BENCH_CREDENTIALS"]))
    result = asyncio.run(_drive(args.workload, args.requests, args.concurrency, credentials))  # type: ignore[arg-type]
    print("GAINJSON " + json.dumps(result))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="hub_bench")
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workloads", default="nested,person")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--child-workload", dest="workload", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.workload:
        return child(args)
    clients = prepare.add_clients(args.database)
    variants = args.variants.split(",")
    measured: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for workload in args.workloads.split(","):
            for variant in variants:
                env = prepare.hub_env(
                    args.database,
                    BENCH_VARIANT=variant,
                    BENCH_CREDENTIALS=json.dumps(clients[BY_NAME[workload].audience]),
                    HUB_LOG_LEVEL="error",
                )
                cmd = [
                    str(ROOT / ".venv" / "bin" / "python"),
                    str(ROOT / "bench" / "gains.py"),
                    "--child-workload",
                    workload,
                    "--requests",
                    str(args.requests),
                    "--concurrency",
                    str(args.concurrency),
                ]
                done = subprocess.run(cmd, env=env, capture_output=True, text=True)
                line = next((ln for ln in done.stdout.splitlines() if ln.startswith("GAINJSON ")), None)
                if line is None:
                    raise SystemExit(
                        f"{variant or 'hub'} {workload} failed:\n{done.stdout}{done.stderr[-2000:]}"
                    )
                cpu = json.loads(line.removeprefix("GAINJSON "))["cpu_ms_per_req"]
                measured.setdefault((workload, variant), []).append(cpu)
                prepare.log(f"{workload:<8} {variant or 'hub':<14} {cpu:8.2f} ms CPU/request")
    print(f"\n{'workload':<8} {'variant':<46} {'CPU ms/req':>10} {'vs hub':>7}")
    for workload in args.workloads.split(","):
        base = statistics.median(measured[(workload, "")])
        for variant in variants:
            value = statistics.median(measured[(workload, variant)])
            print(f"{workload:<8} {LABELS.get(variant, variant):<46} {value:>10.2f} {value / base:>6.2f}x")
    print(
        f"(median of {args.rounds} rounds; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
