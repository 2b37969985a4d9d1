"""What typed rows cost on the resolver path: the nested workload (100 people with facility, sentences
and charges, enrollments and programs) run in-process through Strawberry and the DataLoaders, no HTTP.

    .venv/bin/python bench/typed_rows.py [--store PATH] [--rounds N]

Seeds a synthetic department into a SQLite file once (``--store``, default ``hub-typed-rows.db`` in the temporary directory),
then reports the median and best wall time and the median CPU time (``process_time``: what other
processes on the machine disturb least) per request over ``--rounds`` after warm-up, and the peak
memory traced (``tracemalloc``) during one request, and the process's maximum resident set. Run it on
two checkouts (``PYTHONPATH=<checkout>``) to compare them: the rows are the only difference between
commits that changed the data layer and nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from workloads import NESTED_HUB

from auth.principal import Principal
from hub.db import create_engine, session_factory, upgrade
from hub.settings import Settings
from resolvers.models.partners import Audience
from resolvers.session import RequestDb
from schema.context import Context
from schema.loaders import Loaders
from schema.root import build_schema


async def main(store: Path, rounds: int, fresh: bool) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{store}")
    engine = create_engine(settings)
    await upgrade(engine)
    if fresh:
        from hub.synthetic import seed_department

        print(await seed_department(engine, scale=1000, random_seed=20261127, progress=None))
    schema = build_schema()
    principal = Principal(Audience.ADMIN)
    sessions = session_factory(engine)

    async def once() -> int:
        async with sessions() as session:
            db = RequestDb(session)
            context = Context(
                db=db,
                principal=principal,
                request_id="bench",
                now=datetime.now(UTC),
                loaders=Loaders.build(db, principal),
            )
            result = await schema.execute(NESTED_HUB, variable_values={"first": 100}, context_value=context)
            await db.close()
            assert result.errors is None, result.errors
            assert result.data is not None
            return len(result.data["people"]["nodes"])

    for _ in range(10):
        people = await once()
    times, cpu = [], []
    for _ in range(rounds):
        start, start_cpu = time.perf_counter(), time.process_time()
        await once()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    conversion = await _conversion(once) if hasattr(RequestDb, "rows_as") else ""
    tracemalloc.start()
    await once()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    await engine.dispose()
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    import resolvers

    print(
        f"{Path(resolvers.__file__).parents[1]}: nested, {people} people, resolver path: median {statistics.median(times) * 1000:.2f} ms, "
        f"best {min(times) * 1000:.2f} ms; CPU median {statistics.median(cpu) * 1000:.2f} ms over {rounds} "
        f"requests; peak traced {peak / 1024:.0f} KiB "
        f"per request; max RSS {rss_kib / 1024:.1f} MiB{conversion}"
    )


async def _conversion(once: Callable[[], Awaitable[int]]) -> str:
    """The typed rows' own cost: the result rows one request builds typed rows from, captured, then
    converted again and again (``timeit``), against the request's CPU time."""
    import timeit

    import resolvers.parent_pages
    import resolvers.session

    captured: list[tuple[Callable[[Any], Any], list[Any]]] = []
    real = resolvers.session.row_maker

    def capturing(row: Any) -> Callable[[Any], Any]:
        make = real(row)
        batch: list[Any] = []
        captured.append((make, batch))

        def keep(values: Any) -> Any:
            batch.append(values)
            return make(values)

        return keep

    resolvers.session.row_maker = capturing
    resolvers.parent_pages.row_maker = capturing  # type: ignore[attr-defined]
    try:
        await once()
    finally:
        resolvers.session.row_maker = real
        resolvers.parent_pages.row_maker = real  # type: ignore[attr-defined]
    rows = sum(len(batch) for _, batch in captured)

    def convert() -> None:
        for make, batch in captured:
            for values in batch:
                make(values)

    best = min(timeit.repeat(convert, number=100, repeat=5)) / 100
    return f"; {rows} rows made typed per request in {best * 1e6:.0f} µs"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=Path(tempfile.gettempdir()) / "hub-typed-rows.db")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.store, args.rounds, fresh=not args.store.exists()))
