"""Keyset pages of many parents' children in one statement (a facility's population, a program's
enrollments), so a connection nested under a list costs one query, not one per parent.

Each parent's page is cut with window functions (``ROW_NUMBER`` and ``COUNT`` partitioned by the
parent), which SQLite (3.25+) and PostgreSQL both run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from resolvers.pagination import Page, check_page_size, decode_cursor, encode_cursor, keyset_after
from resolvers.session import R, RequestDb, row_maker


@dataclass(frozen=True, slots=True)
class ChildPage:
    """What a nested connection asks for: the same arguments for every parent batch together."""

    first: int | None = None
    after: str | None = None
    #: Extra filters, as a hashable tuple of (name, value), interpreted by the batch function.
    filters: tuple[tuple[str, Hashable], ...] = ()

    def filter(self, name: str) -> Any:
        return dict(self.filters).get(name)


async def pages_by_parent(
    db: RequestDb,
    statement: Select[Any],
    parent: ColumnElement[Any],
    order: Sequence[str],
    keys: Sequence[tuple[int, ChildPage]],
    row: type[R],
) -> list[Page[R]]:
    """One page per ``(parent id, page)`` key, aligned with ``keys``.

    ``statement`` selects the children with the row scope and filters already applied (their columns
    ``row``'s fields, in order), then a column labelled ``parent_key`` (``parent``); ``order`` names
    its columns, the last one unique. Keys that share their page arguments share one statement.
    """
    # The child's own columns come first; the window columns after them are the page's, not the row's.
    width = list(statement.selected_columns.keys()).index("parent_key")
    make = row_maker(row)
    grouped: dict[ChildPage, list[int]] = defaultdict(list)
    for parent_id, page in keys:
        grouped[page].append(parent_id)
    pages: dict[tuple[int, ChildPage], Page[R]] = {}
    for page, parent_ids in grouped.items():
        size = check_page_size(page.first)
        inner = (
            statement.add_columns(func.count().over(partition_by=parent).label("total_count"))
            .where(parent.in_(parent_ids))
            .subquery()
        )
        cols = [inner.c[name] for name in order]
        ranked_stmt = select(
            inner,
            func.row_number().over(partition_by=inner.c.parent_key, order_by=cols).label("row_number"),
        )
        if page.after:
            ranked_stmt = ranked_stmt.where(keyset_after(cols, decode_cursor(page.after, len(cols))))
        ranked = ranked_stmt.subquery()
        rows_stmt = (
            select(ranked)
            .where(ranked.c.row_number <= size + 1)
            .order_by(ranked.c.parent_key, *[ranked.c[name] for name in order])
        )
        children: dict[int, list[R]] = defaultdict(list)
        totals: dict[int, int] = {}
        for found in await db.rows(rows_stmt):
            children[found.parent_key].append(make(found[:width]))
            totals[found.parent_key] = found.total_count
        for parent_id in parent_ids:
            rows = children.get(parent_id, [])
            has_next = len(rows) > size
            rows = rows[:size]
            end = encode_cursor([getattr(rows[-1], k) for k in order]) if rows else None
            start = encode_cursor([getattr(rows[0], k) for k in order]) if rows else None
            # A parent whose rows all precede the cursor has no row to carry its total: count it apart
            # only then, which a forward-paging client does once, at the end of the list.
            total = totals.get(parent_id)
            if total is None:
                total = await _count(db, statement, parent, parent_id) if page.after else 0
            pages[(parent_id, page)] = Page(
                rows=rows, total_count=total, has_next_page=has_next, end_cursor=end, start_cursor=start
            )
    return [pages[key] for key in keys]


async def _count(db: RequestDb, statement: Select[Any], parent: ColumnElement[Any], parent_id: int) -> int:
    sub = statement.where(parent == parent_id).order_by(None).subquery()
    return int(await db.scalar(select(func.count()).select_from(sub)) or 0)
