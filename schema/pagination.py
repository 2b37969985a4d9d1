"""Cursor connections shared by every list: ``first``/``after``, ``totalCount``, ``pageInfo``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from auth.classes import FieldClass
from resolvers.pagination import Page
from schema.fields import classified, resolves

T = TypeVar("T")
R = TypeVar("R")


@strawberry.type(description="Where a page sits in its list.")
class PageInfo:
    has_next_page: bool = classified(FieldClass.STRUCTURE, "More rows follow this page.")
    end_cursor: str | None = classified(FieldClass.STRUCTURE, "Pass as `after` to get the next page.")
    start_cursor: str | None = classified(FieldClass.STRUCTURE, "Cursor of the first row of this page.")


@strawberry.type(description="A page of a list, in a stable order.")
class Connection(Generic[T]):
    #: The page the nodes were built from, kept for ``totalCount`` only (its row type is the
    #: builder's business, so any).
    page: strawberry.Private[Page[Any]]
    nodes: list[T] = classified(FieldClass.STRUCTURE, "The rows of this page.")
    page_info: PageInfo = classified(FieldClass.STRUCTURE, "Cursors for the next page.")

    @resolves(FieldClass.STRUCTURE, "Rows in the whole list, all pages together.")
    async def total_count(self) -> int:
        # Counted only when selected: a count over a large list can cost more than the page itself.
        return await self.page.total()


def connection(page: Page[R], build: Callable[[R], T]) -> Connection[T]:
    """The connection of one page: each typed row built into its node by ``build``."""
    return Connection(
        page=page,
        nodes=[build(row) for row in page.rows],
        page_info=PageInfo(
            has_next_page=page.has_next_page, end_cursor=page.end_cursor, start_cursor=page.start_cursor
        ),
    )
