"""The one schema: every domain's root fields merged in one place."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.tools import merge_types

from schema import (
    custody,
    fiscal_notes,
    grants,
    grants_writes,
    hub_health,
    inquiries,
    ledger,
    ledger_chain,
    partners,
    people,
    programs,
    reentry,
    reentry_writes,
    research,
    research_root,
    research_writes,
    signing_keys,
    statistics,
    statistics_admin,
    victims_writes,
)
from schema.scalars import SCALAR_OVERRIDES

QUERIES: tuple[type[Any], ...] = (
    people.Query,
    custody.Query,
    programs.Query,
    reentry.Query,
    statistics.Query,
    inquiries.Query,
    victims_writes.Query,
    grants.Query,
    fiscal_notes.Query,
    research.Query,
    research_root.Query,
    statistics_admin.Query,
    ledger.Query,
    partners.Query,
    signing_keys.Query,
    hub_health.Query,
    ledger_chain.Query,
)
MUTATIONS: tuple[type[Any], ...] = (
    custody.Mutation,
    programs.Mutation,
    reentry_writes.Mutation,
    inquiries.Mutation,
    victims_writes.Mutation,
    grants_writes.Mutation,
    fiscal_notes.Mutation,
    research_writes.Mutation,
    partners.Mutation,
    signing_keys.Mutation,
)


def build_schema() -> strawberry.Schema:
    query = merge_types("Query", QUERIES)
    mutation = merge_types("Mutation", MUTATIONS)
    return strawberry.Schema(query=query, mutation=mutation, scalar_overrides=SCALAR_OVERRIDES)
