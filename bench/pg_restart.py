"""A PostgreSQL restart in the middle of a write load loses no acknowledged write (README, Hardening).

On a throw-away PostgreSQL 15 cluster of its own (``initdb`` in a temporary directory, on a free
port, started with ``pg_ctl``): migrate, register a legislative client, start a real ``hub serve``,
then run writers that each submit inquiries through HTTP with an idempotency key, retrying every
write with its own key until it is acknowledged. A few seconds in, that cluster is restarted
(``--mode restart``: ``pg_ctl restart -m fast``) or its postmaster is killed with SIGKILL and started
again (``--mode kill``: crash recovery). At the end, every acknowledged write must be in the database
exactly once, and nothing else.

    .venv/bin/python bench/pg_restart.py [--writers 8] [--duration 20] [--restart-at 6] [--mode restart|kill]

It never touches another cluster: every ``pg_ctl`` call names its own data directory, the only
process it kills is the postmaster whose pid file is in that directory, and the cluster is stopped
and its directory removed at the end, also when the run fails or is interrupted. Binaries come from
``/usr/lib/postgresql/15/bin`` (``--pg-bin``); run as root, the cluster runs as the ``postgres`` user
(initdb refuses root). Only the processes it started are signalled.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import pwd
import shutil
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
PG_BIN = Path("/usr/lib/postgresql/15/bin")

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


class ThrowawayCluster:
    """A PostgreSQL cluster of this run's own: created, restarted, killed and removed by it alone."""

    def __init__(self, pg_bin: Path) -> None:
        self.pg_bin = pg_bin
        self.dir = Path(tempfile.mkdtemp(prefix="hub-pg-restart-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        # initdb refuses to run as root: the cluster then belongs to the postgres user.
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.pg_bin / tool), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{tool} failed: {(done.stderr or done.stdout).strip()[-500:]}")
        return done

    def _pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", *args)

    def create(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
        self._pg_ctl("start")

    def restart(self) -> None:
        self._pg_ctl("-m", "fast", "restart")

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def kill_and_start(self) -> None:
        """SIGKILL this cluster's postmaster (its backends exit with it), then start it: crash recovery."""
        pid = self.postmaster_pid()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if str(self.data) not in command:  # never anyone else's process
            raise SystemExit(f"pid {pid} is not this run's postmaster ({command!r}); not killing it")
        os.kill(pid, signal.SIGKILL)
        for _ in range(200):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.05)
        # Its backends exit when they notice; until then the old shared memory is in use and a start
        # is refused, so try again for a while.
        for attempt in range(40):
            try:
                self._pg_ctl("start")
                return
            except SystemExit:
                if attempt == 39:
                    raise
                time.sleep(0.25)

    def remove(self) -> None:
        """Stop the cluster (if it runs) and delete its directory."""
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(SystemExit):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


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
    database = "hub_pg_restart"
    cluster = ThrowawayCluster(Path(args.pg_bin))
    print(f"throw-away cluster in {cluster.dir} on port {cluster.port}", file=sys.stderr)
    server: subprocess.Popen[bytes] | None = None
    try:
        cluster.create()
        admin = await asyncpg.connect(cluster.dsn)
        await admin.execute(f'create database "{database}"')
        await admin.close()
        port = free_port()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{cluster.port}/{database}"
        env = {
            **os.environ,
            "HUB_DATABASE_URL": url,
            "HUB_PORT": str(port),
            "HUB_WORKERS": str(args.workers),
            "HUB_LOG_LEVEL": "warning",
            "HUB_RATE_REQUESTS_PER_MINUTE": "0",
            "HUB_RATE_COST_PER_MINUTE": "0",
        }
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
            await asyncio.to_thread(cluster.kill_and_start if args.mode == "kill" else cluster.restart)
            restart_s = time.monotonic() - restart_started
            await asyncio.gather(*writers)
            elapsed = time.monotonic() - started
            ready = (await http.get("/readyz")).json()

        conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{cluster.port}/{database}")
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
            "cluster": f"throw-away, port {cluster.port}",
            "mode": args.mode,
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
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        cluster.remove()
        print(f"removed the throw-away cluster {cluster.dir}", file=sys.stderr)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--writers", type=int, default=8, help="concurrent writers")
    parser.add_argument("--workers", type=int, default=2, help="hub serve worker processes")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    parser.add_argument("--restart-at", type=float, default=6.0, help="seconds into the load")
    parser.add_argument(
        "--mode",
        choices=("restart", "kill"),
        default="restart",
        help="pg_ctl restart -m fast, or SIGKILL the postmaster and start it again",
    )
    parser.add_argument("--pg-bin", default=str(PG_BIN), help="directory of initdb and pg_ctl")
    # A SIGTERM ends the run like Ctrl-C: the hub and the throw-away cluster are stopped and removed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        result = asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        sys.exit("interrupted (the hub and the throw-away cluster were stopped and removed)")
    print(json.dumps(result, indent=2))
    sys.exit(0 if result["ok"] else 1)
