"""``python -m hub.synthetic.bench URL``: drop and re-create the PostgreSQL database ``URL`` names,
so that ``make bench-seed`` always measures seeding into a fresh, empty store.

Only a database whose name contains ``bench`` is touched: a mistyped URL must never drop real data.
"""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from hub.settings import normalize_database_url


async def recreate(raw_url: str) -> str:
    url = make_url(normalize_database_url(raw_url))
    name = url.database or ""
    if not url.drivername.startswith("postgresql") or "bench" not in name:
        raise SystemExit(
            f"hub bench: refusing to re-create {name!r}; name a PostgreSQL database containing 'bench'"
        )
    admin = create_async_engine(
        url.set(database="postgres"), isolation_level="AUTOCOMMIT", hide_parameters=True
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return name


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        raise SystemExit(
            "usage: python -m hub.synthetic.bench postgresql+asyncpg://user@host:5432/hub_bench_seed"
        )
    print(f"re-created the empty database {asyncio.run(recreate(argv[0]))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
