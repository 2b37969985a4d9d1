"""``seed_department``: write a whole synthetic department in one transaction.

Reference data (sites, partners, programs) comes first, then people in chunks: each chunk's
people, their custody, programs, referrals and victims are generated from a generator seeded by
the run's seed and the chunk's number, and written before the next chunk is generated, so memory
stays flat at any scale. Inquiries, grants and research follow.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.errors import HubError
from hub.synthetic.calendar import AS_OF
from hub.synthetic.chance import seeded
from hub.synthetic.context import Seeding
from hub.synthetic.facilities import build_sites
from hub.synthetic.grants import write_fiscal_notes, write_grants
from hub.synthetic.inquiries import inquiry_count, write_inquiries
from hub.synthetic.partners import build_partners
from hub.synthetic.people import generate_person
from hub.synthetic.programs import build_catalog, write_enrollments
from hub.synthetic.reentry import write_referrals
from hub.synthetic.research import write_research
from hub.synthetic.victims import write_victims
from hub.synthetic.writer import BULK_TIMEOUT_S, Batch, Writer
from resolvers.models.people import Person

Progress = Callable[[str, int, int], None]

#: People generated and written together; bounds memory and keeps each COPY a few megabytes.
CHUNK = 5000
MAX_SCALE = 2_000_000


class DepartmentExists(HubError):
    """Seeding twice would duplicate the department."""


class InvalidScale(HubError):
    exit_code = 2


def _quiet(step: str, done: int, total: int) -> None:
    return None


async def seed_department(
    engine: AsyncEngine,
    *,
    scale: int,
    random_seed: int,
    progress: Progress | None = None,
    as_of: date = AS_OF,
    chunk: int = CHUNK,
) -> str:
    """Write a department of ``scale`` people; the same seed, scale and as-of date give the same rows.

    Returns a one-paragraph summary. Raises ``DepartmentExists`` if the store already holds people.
    """
    if not 1 <= scale <= MAX_SCALE:
        raise InvalidScale(f"--scale must be between 1 and {MAX_SCALE:,} people (got {scale})")
    report = progress or _quiet
    started = time.perf_counter()
    async with engine.begin() as conn:
        existing = int(await conn.scalar(select(func.count()).select_from(Person)) or 0)
        if existing:
            raise DepartmentExists(
                f"the store already holds a department ({existing:,} people); seed an empty database"
            )
        writer = Writer(conn)
        ctx = Seeding(as_of=as_of, ids=await writer.prepare())

        report("sites, partners, programs", 0, 1)
        reference = seeded(random_seed, "reference")
        ctx.sites = build_sites(reference, ctx.ids, ctx.batch)
        ctx.partners = build_partners(ctx)
        ctx.catalog = build_catalog(ctx, reference)
        await writer.write(ctx.take_batch())
        report("sites, partners, programs", 1, 1)

        await writer.suspend_checks()
        report("people and their records", 0, scale)
        # Generation (Python) overlaps writing (the store's work): chunk k+1 is generated in a worker
        # thread while chunk k is being written. Chunks are generated strictly in order, so the keys
        # and the random streams do not depend on timing.
        writing: asyncio.Task[None] | None = None
        for number, first in enumerate(range(0, scale, chunk)):
            last = min(scale, first + chunk)
            batch = await asyncio.to_thread(_people_chunk, ctx, random_seed, number, last - first)
            if writing is not None:
                await writing
                report("people and their records", first, scale)
            writing = asyncio.create_task(writer.write(batch))
        if writing is not None:
            await writing
        report("people and their records", scale, scale)

        total = inquiry_count(scale)
        report("inquiries", 0, total)
        for number, first in enumerate(range(0, total, chunk)):
            write_inquiries(ctx, seeded(random_seed, "inquiries", number), first, min(total, first + chunk))
            await writer.write(ctx.take_batch())
            report("inquiries", min(total, first + chunk), total)

        report("grants, fiscal notes, research", 0, 1)
        write_grants(ctx, seeded(random_seed, "grants"))
        write_fiscal_notes(ctx, seeded(random_seed, "fiscal"))
        write_research(ctx, seeded(random_seed, "research"))
        await writer.write(ctx.take_batch())
        report("grants, fiscal notes, research", 1, 1)
        await writer.restore_checks(lambda done, total: report("indexes and foreign keys", done, total))
        await writer.finish()
    if engine.dialect.name == "postgresql":
        # A freshly loaded store has no planner statistics until autovacuum reaches it, and plans made
        # without them can be orders of magnitude slower: gather them before anyone queries.
        report("planner statistics", 0, 1)
        async with engine.begin() as conn:
            await conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
            raw = (await conn.get_raw_connection()).driver_connection
            assert raw is not None
            await raw.execute("ANALYZE", timeout=BULK_TIMEOUT_S)
        report("planner statistics", 1, 1)
    return _summary(writer.counts, time.perf_counter() - started, scale, random_seed, as_of)


def _people_chunk(ctx: Seeding, random_seed: int, number: int, size: int) -> Batch:
    """Generate one chunk of people and everything about them; runs in a worker thread."""
    rng = seeded(random_seed, "people", number)
    for _ in range(size):
        life = generate_person(ctx, rng, ctx.ids.take("people"))
        write_enrollments(ctx, rng, life)
        write_referrals(ctx, rng, life)
        write_victims(ctx, rng, life)
    return ctx.take_batch()


_LEAD = ("people", "facilities", "partners", "programs")


def _summary(counts: dict[str, int], seconds: float, scale: int, seed: int, as_of: date) -> str:
    rest = sorted(t for t in counts if t not in _LEAD)
    parts = [f"{counts.get(t, 0):,} {t.replace('_', ' ')}" for t in (*_LEAD, *rest)]
    rows = sum(counts.values())
    return (
        f"Seeded a synthetic department of {scale:,} people (seed {seed}, as of {as_of.isoformat()}) "
        f"in {seconds:.1f} s, {rows:,} rows in all: " + ", ".join(parts) + "."
    )
