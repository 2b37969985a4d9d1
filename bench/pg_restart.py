"""A PostgreSQL restart in the middle of a write load loses no acknowledged write (README, Hardening).

On a temporary database of the machine's PostgreSQL 15 cluster: migrate, register a legislative
client, start a real ``hub serve``, then run writers that each submit inquiries through HTTP with an
idempotency key, retrying every write with its own key until it is acknowledged. A few seconds in,
PostgreSQL is restarted (``pg_ctlcluster --skip-systemctl-redirect 15 main restart``). At the end,
every acknowledged write must be in the database exactly once, and nothing else.

    .venv/bin/python bench/pg_restart.py [--writers 8] [--duration 20] [--restart-at 6] [--force]

The restart cuts every client of the cluster: it refuses to run while other databases have clients
(other test runs) unless ``--force``. Only the processes it started are signalled.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

BIN = Path(sys.executable).parent
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
RESTART = ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"]

SUBMIT = """
mutation($input: SubmitInquiryInput!, $key: String!) {
  submitInquiry(input: $input, idempotencyKey: $key) { replayed errors { code } inquiry { id reference } }
}"""


@dataclass
class Tally:
    acknowledged: dict[str, str] = field(default_factory=dict)  # key -> inquiry reference
    replayed: int = 0
    attempts: int = 0
    failures: dict[str, int] = field(default_factory=dict)  # what a failed attempt got
    slowest_failure_s: dict[str, float] = field(default_factory=dict)  # per kind of failure
    first_failure: float | None = None
    last_failure: float | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hub(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN / "hub"), *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"hub {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def start_server(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """``hub serve`` in a process group of its own, so that stopping it stops its workers too."""
    log = Path(tempfile.gettempdir()) / f"hub_pg_restart_{os.getpid()}.log"
    print(f"hub serve logs to {log}", file=sys.stderr)
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(BIN / "hub"), "serve"], env=env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT
        )


async def others_connected(database: str) -> list[str]:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        rows = await conn.fetch(
            "select distinct datname from pg_stat_activity where datname is not null "
            "and datname not in ($1, 'postgres') and pid <> pg_backend_pid()",
            database,
        )
    finally:
        await conn.close()
    return [r["datname"] for r in rows]


async def writer(n: int, http: httpx.AsyncClient, token: str, stop_at: float, tally: Tally) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    while time.monotonic() < stop_at:
        key = f"restart-{n}-{uuid.uuid4().hex}"
        variables = {
            "key": key,
            "input": {
                "source": "LEGISLATIVE",
                "category": "MEDICAL",
                "channel": "EMAIL",
                "requesterName": "Restart Test",
                "summary": key,
                "details": "written during a PostgreSQL restart",
            },
        }
        give_up = max(stop_at, time.monotonic()) + 60
        while time.monotonic() < give_up:  # the same write, with its key, until it is acknowledged
            tally.attempts += 1
            started = time.monotonic()
            outcome = None
            try:
                response = await http.post(
                    "/graphql", json={"query": SUBMIT, "variables": variables}, headers=headers
                )
                body = response.json()
                payload = (body.get("data") or {}).get("submitInquiry")
                if response.status_code == 200 and payload and payload["inquiry"] and not payload["errors"]:
                    tally.acknowledged[key] = payload["inquiry"]["reference"]
                    tally.replayed += payload["replayed"]
                    break
                errors = body.get("errors") or [{}]
                outcome = f"{response.status_code} {errors[0].get('extensions', {}).get('code')}"
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            now = time.monotonic()
            tally.failures[outcome] = tally.failures.get(outcome, 0) + 1
            tally.slowest_failure_s[outcome] = round(
                max(tally.slowest_failure_s.get(outcome, 0), now - started), 3
            )
            tally.first_failure = tally.first_failure or now
            tally.last_failure = now
            await asyncio.sleep(0.1)


async def main(args: argparse.Namespace) -> dict[str, object]:
    database = f"hub_pg_restart_{os.getpid()}"
    busy = await others_connected(database)
    if busy and not args.force:
        raise SystemExit(
            f"other databases have clients ({', '.join(busy)}); a restart would cut them. --force to run anyway"
        )
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'create database "{database}"')
    await admin.close()
    port = free_port()
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"
    env = {
        **os.environ,
        "HUB_DATABASE_URL": url,
        "HUB_PORT": str(port),
        "HUB_WORKERS": str(args.workers),
        "HUB_LOG_LEVEL": "warning",
        "HUB_RATE_REQUESTS_PER_MINUTE": "0",
        "HUB_RATE_COST_PER_MINUTE": "0",
    }
    server: subprocess.Popen[bytes] | None = None
    try:
        hub(env, "migrate")
        hub(env, "partners", "add", "--name", "Restart Office", "--audience", "legislative")
        out = hub(env, "clients", "add", "--partner", "Restart Office")
        client_id = out.split("client_id:")[1].split()[0]
        secret = out.split("client_secret:")[1].split()[0]
        server = start_server(env)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            for _ in range(100):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
            token = (
                await http.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    headers={"Authorization": f"Basic {basic}"},
                )
            ).json()["access_token"]

            tally = Tally()
            started = time.monotonic()
            stop_at = started + args.duration
            writers = [
                asyncio.create_task(writer(n, http, token, stop_at, tally)) for n in range(args.writers)
            ]
            await asyncio.sleep(args.restart_at)
            restart_started = time.monotonic()
            restarted = await asyncio.to_thread(subprocess.run, RESTART, capture_output=True, text=True)
            restart_s = time.monotonic() - restart_started
            if restarted.returncode != 0:
                raise SystemExit(f"restart failed: {restarted.stderr.strip()}")
            await asyncio.gather(*writers)
            elapsed = time.monotonic() - started
            ready = (await http.get("/readyz")).json()

        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}")
        try:
            rows = await conn.fetch("select summary, reference from inquiries where summary like 'restart-%'")
            keys = await conn.fetchval("select count(*) from idempotency_records where key like 'restart-%'")
        finally:
            await conn.close()
        stored: dict[str, list[str]] = {}
        for row in rows:
            stored.setdefault(row["summary"], []).append(row["reference"])
        lost = [k for k in tally.acknowledged if k not in stored]
        duplicated = [k for k, refs in stored.items() if len(refs) > 1]
        unacknowledged = [k for k in stored if k not in tally.acknowledged]
        mismatched = [k for k, ref in tally.acknowledged.items() if k in stored and stored[k] != [ref]]
        return {
            "hub_workers": args.workers,
            "writers": args.writers,
            "duration_s": round(elapsed, 1),
            "restart_took_s": round(restart_s, 2),
            "attempts": tally.attempts,
            "acknowledged": len(tally.acknowledged),
            "acknowledged_as_replay": tally.replayed,
            "failed_attempts": tally.failures,
            "slowest_failed_attempt_s": tally.slowest_failure_s,
            "failures_span_s": round((tally.last_failure or 0) - (tally.first_failure or 0), 2),
            "rows_in_store": len(rows),
            "idempotency_records": keys,
            "lost": len(lost),
            "duplicated": len(duplicated),
            "stored_but_never_acknowledged": len(unacknowledged),
            "reference_mismatch": len(mismatched),
            "readyz_after": ready,
            "ok": not (lost or duplicated or unacknowledged or mismatched),
        }
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        admin = await asyncpg.connect(ADMIN_DSN)
        await admin.execute(f'drop database if exists "{database}" with (force)')
        await admin.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers")
    parser.add_argument("--workers", type=int, default=2, help="hub serve worker processes")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    parser.add_argument("--restart-at", type=float, default=6.0, help="seconds into the load")
    parser.add_argument("--force", action="store_true", help="restart even if other databases have clients")
    result = asyncio.run(main(parser.parse_args()))
    print(json.dumps(result, indent=2))
    sys.exit(0 if result["ok"] else 1)
