"""The one schema: every domain's root fields merged in one place."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.tools import merge_types

from schema import (
    custody,
    custody_writes,
    fiscal_notes,
    fiscal_notes_writes,
    grants,
    grants_writes,
    hub_health,
    inquiries,
    inquiries_writes,
    ledger,
    ledger_chain,
    partners,
    partners_writes,
    people,
    programs,
    programs_writes,
    reentry,
    reentry_writes,
    research,
    research_root,
    research_writes,
    signing_keys,
    signing_keys_writes,
    statistics,
    statistics_admin,
    victims,
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
    victims.Query,
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
    custody_writes.Mutation,
    programs_writes.Mutation,
    reentry_writes.Mutation,
    inquiries_writes.Mutation,
    victims_writes.Mutation,
    grants_writes.Mutation,
    fiscal_notes_writes.Mutation,
    research_writes.Mutation,
    partners_writes.Mutation,
    signing_keys_writes.Mutation,
)


def build_schema() -> strawberry.Schema:
    query = merge_types("Query", QUERIES)
    mutation = merge_types("Mutation", MUTATIONS)
    return strawberry.Schema(query=query, mutation=mutation, scalar_overrides=SCALAR_OVERRIDES)
