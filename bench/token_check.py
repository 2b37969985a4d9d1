"""CPU per token check on /graphql, with the verified-token cache and without it (issue 16, item 1).

    PYTHONPATH=. .venv/bin/python bench/token_check.py [ROUNDS]

Builds the hub on a fresh SQLite store in a temporary directory, registers one partner and client,
mints a token (RS256, the default), then times ``authenticate(request)`` — what every /graphql
request runs first: the signature and claims, then the client's status behind its short cache —
``ROUNDS`` times with the cache and ``ROUNDS`` times clearing it before each call. Prints process CPU
per call and the peak Python allocation of each loop (tracemalloc).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from starlette.requests import Request

from auth.keys import ensure_signing_key
from hub.app import create_app
from hub.db import create_engine, session_factory, upgrade
from hub.settings import Settings
from resolvers.models.partners import Audience
from tests.factories.partners import make_client, make_partner


def _request(token: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/graphql",
            "headers": [(b"authorization", f"Bearer {token}".encode())],
        }
    )


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", issuer="http://hub.bench"
        )
        engine = create_engine(settings)
        await upgrade(engine)
        sessions = session_factory(engine)
        app = create_app(settings, engine=engine)
        identity = app.state.identity
        async with sessions() as s:
            if await ensure_signing_key(s, identity.keys.policy):
                await s.commit()
        async with sessions() as s:
            partner = await make_partner(s, Audience.LEGISLATIVE)
            client = await make_client(s, partner)
            issued = await identity.issuer.issue(
                s, client, partner, client.scopes.split(), now=int(time.time())
            )
            await s.commit()
        authenticate = identity.authenticate
        access = authenticate.access_tokens
        await authenticate(_request(issued.access_token))  # warm: keys and status cache loaded

        async def loop(clear: bool) -> tuple[float, int]:
            tracemalloc.start()
            started = time.process_time()
            for _ in range(rounds):
                if clear:
                    access._verified.clear()
                await authenticate(_request(issued.access_token))
            spent = time.process_time() - started
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            return spent / rounds * 1000, peak

        uncached, uncached_peak = await loop(clear=True)
        cached, cached_peak = await loop(clear=False)
        await engine.dispose()
    print(f"token check, {rounds} calls each (RS256, SQLite store, status cache warm)")
    print(
        f"  signature verified every call : {uncached:.3f} ms CPU per call, peak {uncached_peak / 1024:.0f} KiB"
    )
    print(
        f"  verified-token cache          : {cached:.3f} ms CPU per call, peak {cached_peak / 1024:.0f} KiB"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
