"""``hub research expire``: mark approved agreements past their last day expired and destroy their
pseudonym keys (run it daily, e.g. from cron). Access does not wait for it: the research root and
extracts already refuse an agreement whose end date has passed."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import Any

from hub.settings import Settings


async def _expire(settings: Settings) -> int:
    from hub.db import create_engine, session_factory
    from resolvers.research_writes import expire_agreements

    engine = create_engine(settings)
    try:
        async with session_factory(engine)() as session:
            ids = await expire_agreements(session, datetime.now(UTC).date())
            await session.commit()
    finally:
        await engine.dispose()
    print(f"expired {len(ids)} research agreement(s); their pseudonym keys are destroyed")
    return 0


def cmd_expire(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(_expire(settings))


def register(sub: Any) -> None:
    research = sub.add_parser("research", help="research agreements")
    commands = research.add_subparsers(dest="research_command", required=True)
    expire = commands.add_parser(
        "expire", help="expire agreements past their last day and destroy their keys"
    )
    expire.set_defaults(handler=cmd_expire)
