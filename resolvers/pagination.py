"""Keyset pagination: stable order, opaque cursors, a capped page size, an exact total count."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from resolvers.errors import InvalidInput
from resolvers.session import R, RequestDb

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

T = TypeVar("T")


@dataclass(slots=True)
class Page(Generic[T]):
    """One page of a list. ``total_count`` is exact when ``count`` is None; otherwise the total is
    counted only if asked for (``await page.total()``), since a count can cost more than the page."""

    rows: Sequence[T]
    total_count: int
    has_next_page: bool
    end_cursor: str | None
    start_cursor: str | None = None
    count: Callable[[], Awaitable[int]] | None = None

    async def total(self) -> int:
        if self.count is not None:
            self.total_count = await self.count()
            self.count = None
        return self.total_count


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and "d" in value:
        text = value["d"]
        return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
    if isinstance(value, dict) and "n" in value:
        return Decimal(value["n"])
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    """The cursor of a row with keyset ``values``: base64url, unpadded, of their compact JSON in UTF-8
    (as the compiled reads write it in SQL, ``schema/compiled/compiler.Dialect.cursor``)."""
    return cursor_of_json(
        json.dumps([_jsonable(v) for v in values], separators=(",", ":"), ensure_ascii=False)
    )


def cursor_of_json(text: str) -> str:
    """A cursor from its JSON text (SQLite's compiled reads call this as ``hub_cursor``)."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != width:
            raise ValueError
        return [_from_json(v) for v in values]
    except (ValueError, binascii.Error, UnicodeDecodeError, TypeError, KeyError):
        raise InvalidInput("after", "is not a cursor returned by this list") from None


def check_page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0:
        raise InvalidInput("first", "must not be negative")
    if first > MAX_PAGE_SIZE:
        raise InvalidInput("first", f"must be at most {MAX_PAGE_SIZE} (got {first})")
    return first


def keyset_after(order: Sequence[ColumnElement[Any]], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in ascending lexicographic ``order``.

    Expanded as (a > x) OR (a = x AND b > y) ..., which both stores plan well with the indexes.
    """
    clauses = []
    for i, col in enumerate(order):
        equal = [order[j] == values[j] for j in range(i)]
        clauses.append(and_(*equal, col > values[i]))
    return or_(*clauses)


async def paginate(
    db: RequestDb,
    statement: Select[Any],
    order: Sequence[ColumnElement[Any]],
    *,
    row: type[R],
    first: int | None,
    after: str | None,
    count: bool = True,
) -> Page[R]:
    """One page of ``statement`` in ascending ``order`` (the last column must be unique), as ``row``s
    (the statement's columns are ``row``'s fields, in order).

    ``statement`` already carries the caller's filters and row scope; the total counts them all, when
    the caller asks for it.
    """
    size = check_page_size(first)

    async def count_rows() -> int:
        return int(
            await db.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
        )

    page_stmt = statement.order_by(*order)
    if after:
        page_stmt = page_stmt.where(keyset_after(order, decode_cursor(after, len(order))))
    rows = await db.rows_as(page_stmt.limit(size + 1), row) if size else []
    has_next = len(rows) > size
    rows = rows[:size]
    keys = [str(c.key) for c in order]
    end = encode_cursor([getattr(rows[-1], k) for k in keys]) if rows else None
    start = encode_cursor([getattr(rows[0], k) for k in keys]) if rows else None
    return Page(
        rows=rows,
        total_count=0,
        has_next_page=has_next,
        end_cursor=end,
        start_cursor=start,
        count=count_rows if count else None,
    )
