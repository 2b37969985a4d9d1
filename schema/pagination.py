"""Cursor connections shared by every list: ``first``/``after``, ``totalCount``, ``pageInfo``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from auth.classes import FieldClass
from resolvers.pagination import Page
from schema.fields import classified

T = TypeVar("T")


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool = classified(FieldClass.STRUCTURE, "More rows follow this page.")
    end_cursor: str | None = classified(FieldClass.STRUCTURE, "Pass as `after` to get the next page.")
    start_cursor: str | None = classified(FieldClass.STRUCTURE, "Cursor of the first row of this page.")


@strawberry.type(description="A page of a list, in a stable order.")
class Connection(Generic[T]):
    nodes: list[T] = classified(FieldClass.STRUCTURE, "The rows of this page.")
    total_count: int = classified(FieldClass.STRUCTURE, "Rows in the whole list, all pages together.")
    page_info: PageInfo = classified(FieldClass.STRUCTURE, "Cursors for the next page.")


def connection(page: Page[Any], build: Callable[[Any], T]) -> Connection[T]:
    return Connection(
        nodes=[build(row) for row in page.rows],
        total_count=page.total_count,
        page_info=PageInfo(
            has_next_page=page.has_next_page, end_cursor=page.end_cursor, start_cursor=page.start_cursor
        ),
    )
