"""The one schema: every domain's root fields merged in one place."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.tools import merge_types

from schema import people

QUERIES: tuple[type[Any], ...] = (people.Query,)


def build_schema() -> strawberry.Schema:
    query = merge_types("Query", QUERIES)
    return strawberry.Schema(query=query)
