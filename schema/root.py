"""The one schema: every domain's root fields merged in one place."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.tools import merge_types

from schema import inquiries, people

QUERIES: tuple[type[Any], ...] = (people.Query, inquiries.Query)
MUTATIONS: tuple[type[Any], ...] = (inquiries.Mutation,)


def build_schema() -> strawberry.Schema:
    query = merge_types("Query", QUERIES)
    mutation = merge_types("Mutation", MUTATIONS)
    return strawberry.Schema(query=query, mutation=mutation)
