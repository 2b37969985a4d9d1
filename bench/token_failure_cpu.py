"""CPU time of one failed ``POST /oauth/token`` (wrong secret of a known client, and an unknown id).

Runs the hub in-process (httpx ASGITransport) on a fresh SQLite store in a temporary directory and
measures ``time.process_time()`` (every thread of the process, so argon2's worker threads count)
over N failed attempts, each from its own source address so that no throttle answers them early.

    .venv/bin/python bench/token_failure_cpu.py [N]
"""

from __future__ import annotations

import asyncio
import base64
import sys
import tempfile
import time
from pathlib import Path

import httpx

from auth import clients as registry
from auth.keys import KeyPolicy, ensure_signing_key
from hub.app import create_app
from hub.db import create_engine, session_factory, upgrade
from hub.settings import Settings
from resolvers.models.partners import Audience, Partner


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", issuer="http://hub.test"
        )
        engine = create_engine(settings)
        await upgrade(engine)
        sessions = session_factory(engine)
        app = create_app(settings, engine=engine)
        async with sessions() as session:
            await ensure_signing_key(session, KeyPolicy())
            partner = Partner(name="Bench partner", audience=Audience.REENTRY.value)
            session.add(partner)
            await session.flush()
            new = await registry.add_client(session, partner, pepper=settings.secret_pepper_key)
            await session.commit()
        client_id = new.client.client_id

        async def attempt(k: int, who: str) -> int:
            transport = httpx.ASGITransport(
                app=app, client=(f"10.{k // 65536 % 256}.{k // 256 % 256}.{k % 256}", 1)
            )
            async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
                response = await http.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    headers={"Authorization": basic(who, "x")},
                )
                return response.status_code

        for label, who in (
            ("wrong secret, known client", client_id),
            ("unknown client id", "no-such-client"),
        ):
            await attempt(0, who)  # warm up
            started = time.process_time()
            wall = time.perf_counter()
            statuses = [await attempt(k + 1, who) for k in range(n)]
            cpu = (time.process_time() - started) / n
            elapsed = (time.perf_counter() - wall) / n
            assert set(statuses) == {401}, statuses
            print(
                f"{label:<28} {cpu * 1000:8.2f} ms CPU/attempt  {elapsed * 1000:8.2f} ms wall/attempt  (n={n})"
            )
        # One address again and again: after 5 failures it waits, and each try is a 429 that costs
        # one read (hubs before the throttle answered 401 after another argon2 verification).
        started = time.process_time()
        statuses = [await attempt(10**6, client_id) for _ in range(n)]
        cpu = (time.process_time() - started) / n
        print(
            f"{'one address, repeated':<28} {cpu * 1000:8.2f} ms CPU/attempt  statuses {sorted(set(statuses))}"
        )
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 50))
