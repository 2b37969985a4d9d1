"""Time and peak memory of one research extract over a whole synthetic department.

    python bench/research_extract.py postgresql+asyncpg://postgres@127.0.0.1:5432/hub_bench_research \
        [--scale 100000] [--reuse]

Re-creates the database (its name must contain ``bench``), migrates it and seeds ``--scale`` people
(``--reuse`` keeps a store seeded by an earlier run), adds an agreement granting every field over
every admission year, then downloads ``GET /research/extracts/{id}.csv`` through the hub's ASGI app
twice: once for the wall time, once under ``tracemalloc`` for the peak of Python allocations. The
response body is counted and dropped as it arrives (an ASGI ``send`` of our own: httpx's ASGI
transport would buffer the whole body and measure itself).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import secrets
import time
import tracemalloc
from datetime import date
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from auth.principal import Principal
from hub.app import create_app
from hub.db import create_engine, session_factory, upgrade
from hub.settings import Settings, normalize_database_url
from hub.synthetic.bench import recreate
from hub.synthetic.department import seed_department
from resolvers.models.partners import Audience, Partner
from resolvers.models.people import Person
from resolvers.models.research import ResearchAgreement
from resolvers.research_terms import FIELD_NAMES


async def _download(app: Any, path: str) -> tuple[int, int, int]:
    """Bytes and lines of the body, and the number of body messages, of GET ``path``."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": [(b"host", b"bench"), (b"authorization", b"Bearer bench")],
        "client": ("127.0.0.1", 1), "server": ("bench", 80),
    }  # fmt: skip
    counts = {"bytes": 0, "lines": 0, "messages": 0, "status": 0}
    requested, done = asyncio.Event(), asyncio.Event()

    async def receive() -> dict[str, Any]:
        # The request body once; then, as a server would, nothing until the client goes away.
        if not requested.is_set():
            requested.set()
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            counts["status"] = message["status"]
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            counts["bytes"] += len(body)
            counts["lines"] += body.count(b"\n")
            counts["messages"] += 1
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    if counts["status"] != 200:
        raise SystemExit(f"the extract answered {counts['status']}")
    return counts["bytes"], counts["lines"], counts["messages"]


async def main(url: str, scale: int, reuse: bool) -> None:
    if not reuse:
        await recreate(url)
    settings = Settings(database_url=url)
    engine = create_engine(settings)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        async with sessions() as session:
            people = int(await session.scalar(select(func.count()).select_from(Person)) or 0)
        if not people:
            started = time.perf_counter()
            await seed_department(engine, scale=scale, random_seed=7)
            print(f"seeded {scale:,} people in {time.perf_counter() - started:.0f} s")
        # Planner statistics, as autovacuum would gather them on a store in service (an engine
        # without the hub's per-statement timeouts: ANALYZE of a large store takes longer).
        maintenance = create_async_engine(
            normalize_database_url(url), isolation_level="AUTOCOMMIT", hide_parameters=True
        )
        try:
            async with maintenance.connect() as conn:
                await conn.execute(text("ANALYZE"))
        finally:
            await maintenance.dispose()
        async with sessions() as session:
            partner = (await session.scalars(select(Partner).where(Partner.audience == "researcher"))).first()
            assert partner is not None
            cohort = {"admitted_from": "1900-01-01", "admitted_to": "2200-12-31"}
            agreement = ResearchAgreement(
                reference=f"RA-BENCH-{secrets.token_hex(3)}", partner_id=partner.id, title="Bench",
                investigator="Bench", institution="Bench", irb_number="IRB-BENCH", irb_expires_on=date(2199, 1, 1),
                purpose="Benchmark.", requested_fields=list(FIELD_NAMES), requested_cohort=cohort,
                granted_fields=list(FIELD_NAMES), granted_cohort=cohort, starts_on=date(2000, 1, 1),
                ends_on=date(2199, 1, 1), small_cell_threshold=11, tier="record", status="approved",
                pseudonym_key=secrets.token_bytes(32),
            )  # fmt: skip
            session.add(agreement)
            await session.commit()
            agreement_id, partner_id = agreement.id, partner.id

        async def authenticate(request: Any) -> Principal:
            return Principal(audience=Audience.RESEARCHER, partner_id=partner_id, client_id="bench")

        app = create_app(settings, engine=engine, sessions=sessions, authenticate=authenticate)
        path = f"/research/extracts/{agreement_id}.csv"
        started = time.perf_counter()
        size, lines, messages = await _download(app, path)
        seconds = time.perf_counter() - started
        tracemalloc.start()
        await _download(app, path)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"extract of {lines - 1:,} records ({size / 1e6:.1f} MB of CSV in {messages} chunks): "
            f"{seconds:.1f} s, {(lines - 1) / seconds:,.0f} records/s; "
            f"peak Python allocations while streaming {peak / 1e6:.1f} MB; process max RSS {rss:.0f} MB"
        )
    finally:
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("url")
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.url, args.scale, args.reuse))
