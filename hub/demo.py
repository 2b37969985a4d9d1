"""``hub demo``: an embedded store with a synthetic department and demo partners, ready to query."""

from __future__ import annotations

from sqlalchemy import func, select

from hub.db import create_engine, session_factory, upgrade
from hub.settings import Settings
from resolvers.models.people import Person


async def prepare_demo(settings: Settings, scale: int) -> None:
    """Migrate, seed once, and (re)issue demo credentials. Safe to run again: nothing is duplicated."""
    from hub.synthetic import seed_department

    engine = create_engine(settings)
    try:
        await upgrade(engine)
        async with session_factory(engine)() as session:
            people = await session.scalar(select(func.count()).select_from(Person))
        if not people:
            print(await seed_department(engine, scale=scale, random_seed=20261127, progress=None))
        else:
            print(f"reusing the demo department already in {settings.database_url} ({people:,} people)")
    finally:
        await engine.dispose()
