"""Bulk writing of generated rows: COPY through asyncpg on PostgreSQL, executemany on SQLite.

Rows are plain tuples in a fixed column order (a ``Layout``), generated in chunks and written in
foreign-key order, so the generator never waits for the store to hand back a key: every primary key
is allocated here (``Ids``) before its row is written.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from resolvers.models import Base

Row = tuple[Any, ...]

#: Rows per executemany call on SQLite; PostgreSQL takes a whole chunk in one COPY.
SQLITE_BATCH = 5000

#: asyncpg applies the engine's short per-command timeout unless told otherwise; a COPY of a chunk or
#: an index build over millions of rows may take longer, and the seed holds its transaction anyway.
BULK_TIMEOUT_S = 3600.0


#: Every table a layout writes to.
SEEDED_TABLES: set[str] = set()


@dataclass(frozen=True, slots=True, eq=False)  # identity hash: looked up once per generated row
class Layout:
    """The columns of one table, in the order the generators build their tuples."""

    table: str
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        SEEDED_TABLES.add(self.table)

    def check(self) -> None:
        known = Base.metadata.tables[self.table].columns.keys()
        unknown = [c for c in self.columns if c not in known]
        assert not unknown, f"{self.table} has no column(s) {unknown}"


#: Tables in the order their foreign keys allow them to be written.
_WRITE_ORDER = {t.name: i for i, t in enumerate(Base.metadata.sorted_tables)}


@dataclass(slots=True)
class Ids:
    """The next primary key of each table; starts after whatever the store already holds."""

    start: dict[str, int] = field(default_factory=dict)
    _next: dict[str, int] = field(default_factory=dict)

    def take(self, table: str) -> int:
        value = self._next.get(table)
        if value is None:
            value = self.start.get(table, 0) + 1
        self._next[table] = value + 1
        return value

    def peek(self, table: str) -> int:
        """The key the next ``take`` will return."""
        return self._next.get(table, self.start.get(table, 0) + 1)


@dataclass(slots=True)
class Batch:
    """Rows generated but not yet written, per layout."""

    rows: dict[Layout, list[Row]] = field(default_factory=dict)

    def add(self, layout: Layout, row: Row) -> None:
        bucket = self.rows.get(layout)
        if bucket is None:
            bucket = self.rows[layout] = []
        bucket.append(row)

    def size(self) -> int:
        return sum(len(r) for r in self.rows.values())


class Writer:
    """Writes batches inside one transaction of ``conn`` and counts rows per table."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.is_postgres = conn.dialect.name == "postgresql"
        self.counts: Counter[str] = Counter()
        self._raw: Any = None
        self._restore: list[str] = []

    async def prepare(self) -> Ids:
        """Allocate keys after the largest already present, and lift PostgreSQL's statement timeout."""
        if self.is_postgres:
            await self.conn.execute(text("SET LOCAL statement_timeout = 0"))
            raw = await self.conn.get_raw_connection()
            self._raw = raw.driver_connection
        start: dict[str, int] = {}
        for table in Base.metadata.sorted_tables:
            pk = table.primary_key.columns
            if len(pk) == 1 and "id" in pk:
                start[table.name] = int(
                    await self.conn.scalar(select(func.coalesce(func.max(pk["id"]), 0))) or 0
                )
        return Ids(start=start)

    async def suspend_checks(self) -> None:
        """PostgreSQL: drop the foreign keys and plain indexes of the seeded tables until ``restore_checks``.

        This is how pg_restore loads data: checking each row's foreign keys and inserting into each
        index row by row costs several times more than building the indexes once and validating each
        foreign key with one join at the end. It all happens inside the seeding transaction, and
        ``restore_checks`` re-creates every index and constraint from its own catalogue definition, so
        the schema ends as it began and every row has been checked; if a check fails, nothing is kept.
        """
        if not self.is_postgres:
            return
        tables = sorted(SEEDED_TABLES)
        foreign = await self._raw.fetch(
            """
            SELECT c.conrelid::regclass::text AS tbl, c.conname AS name, pg_get_constraintdef(c.oid) AS def
            FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
            WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace AND t.relname = ANY($1)
            ORDER BY 1, 2
            """,
            tables,
        )
        indexes = await self._raw.fetch(
            """
            SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
            FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
            WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY($1)
              AND NOT EXISTS (
                SELECT 1 FROM pg_constraint c
                WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x'))
            ORDER BY 1
            """,
            tables,
        )
        for row in foreign:
            await self._raw.execute(f'ALTER TABLE {row["tbl"]} DROP CONSTRAINT "{row["name"]}"')
        for row in indexes:
            await self._raw.execute(f"DROP INDEX {row['name']}")
        self._restore = [r["def"] for r in indexes] + [
            f'ALTER TABLE {r["tbl"]} ADD CONSTRAINT "{r["name"]}" {r["def"]}' for r in foreign
        ]

    async def restore_checks(self, progress: Callable[[int, int], None]) -> None:
        for done, statement in enumerate(self._restore):
            await self._raw.execute(statement, timeout=BULK_TIMEOUT_S)
            progress(done + 1, len(self._restore))
        self._restore = []

    async def write(self, batch: Batch) -> None:
        for layout in sorted(batch.rows, key=lambda lay: _WRITE_ORDER[lay.table]):
            rows = batch.rows[layout]
            if rows:
                await self._write(layout, rows)
                self.counts[layout.table] += len(rows)
        batch.rows.clear()

    async def _write(self, layout: Layout, rows: list[Row]) -> None:
        assert len(rows[0]) == len(layout.columns), f"{layout.table}: row width != layout"
        table = Base.metadata.tables[layout.table]
        if self.is_postgres:
            await self._raw.copy_records_to_table(
                layout.table,
                records=_json_as_text(table, layout, rows),
                columns=layout.columns,
                timeout=BULK_TIMEOUT_S,
            )
            return
        for start in range(0, len(rows), SQLITE_BATCH):
            part = rows[start : start + SQLITE_BATCH]
            await self.conn.execute(table.insert(), [dict(zip(layout.columns, r, strict=True)) for r in part])

    async def finish(self) -> None:
        """On PostgreSQL the explicit keys bypassed the sequences: move each past its table's largest key."""
        if not self.is_postgres:
            return
        for name in sorted(self.counts):
            table = Base.metadata.tables[name]
            if "id" not in table.primary_key.columns:
                continue
            await self.conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
            )


def _json_as_text(table: Table, layout: Layout, rows: Sequence[Row]) -> Sequence[Row]:
    """asyncpg's COPY encodes ``json`` columns from text; SQLAlchemy would have serialised them."""
    positions = [i for i, c in enumerate(layout.columns) if isinstance(table.columns[c].type, JSON)]
    if not positions:
        return rows
    out: list[Row] = []
    for row in rows:
        values = list(row)
        for i in positions:
            if values[i] is not None:
                values[i] = json.dumps(values[i], sort_keys=True)
        out.append(tuple(values))
    return out
