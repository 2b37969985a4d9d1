"""One hub process for tests/hub/test_ledger_group_commit.py: an app with group commit on, driven in
process (no sockets) with reads, mutations and refusals, 32 at a time.

``python -m tests.hub.ledger_process DATABASE_URL REQUESTS`` prints ``ready``, waits for a line on
stdin (so that two processes start sending together), sends its requests and prints their statuses
as one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter

import httpx
from starlette.requests import Request

from auth.principal import Principal
from hub.app import create_app
from hub.settings import Settings
from resolvers.models.partners import Audience

READ: dict[str, object] = {"query": "{ facilities(first: 2) { totalCount nodes { name } } }"}
SUBMIT: dict[str, object] = {
    "query": "mutation($i: SubmitInquiryInput!) { submitInquiry(input: $i) { inquiry { id } errors { code } } }",
    "variables": {
        "i": {
            "source": "PUBLIC",
            "category": "OTHER",
            "channel": "EMAIL",
            "requesterName": "Someone",
            "summary": "A question",
            "details": "Details.",
        }
    },
}
INVALID: dict[str, object] = {"query": "{ noSuchField }"}
#: Per 5 requests: 3 reads (group commit), 1 mutation (its own transaction), 1 refusal (group commit).
MIX = (READ, READ, SUBMIT, READ, INVALID)
CONCURRENCY = 32


async def as_admin(request: Request) -> Principal:
    return Principal(audience=Audience.ADMIN, client_id="ledger-process")


async def run(url: str, requests: int) -> dict[str, int]:
    # A small pool (the test server's connections are shared), waited on for long rather than refused.
    settings = Settings(
        database_url=url, issuer="http://hub.test", ledger_batch_ms=2, db_pool_size=4, db_pool_timeout_s=120
    )
    app = create_app(settings, authenticate=as_admin)
    transport = httpx.ASGITransport(app=app)
    statuses: Counter[str] = Counter()
    bodies = [MIX[i % len(MIX)] for i in range(requests)]
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://hub.test", timeout=120) as client,
    ):
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def send(body: dict[str, object]) -> None:
            async with gate:
                response = await client.post("/graphql", json=body)
            statuses[str(response.status_code)] += 1

        await asyncio.gather(*(send(body) for body in bodies))
    return dict(statuses)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(sys.argv[1], int(sys.argv[2])))), flush=True)
