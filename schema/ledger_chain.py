"""The ledger chain's state for administrators (``ledgerChain``): what the console's *Ledger chain*
page shows. See ``resolvers/ledger_chain.py`` for what it checks and what it leaves to ``hub audit``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from auth.classes import FieldClass
from resolvers import ledger_chain as data
from schema.context import Info
from schema.fields import classified, resolves
from schema.ids import to_global_id

L = FieldClass.LEDGER

Recent = Annotated[
    int,
    strawberry.argument(description=f"How many of the newest events to check, 1 to {data.MAX_RECENT}."),
]


@strawberry.type(description="The ledger chain's head and a check of its newest events.")
class LedgerChain:
    events: int = classified(L, "Events in the chain up to its head (after a purge: those still stored).")
    head_hash: str | None = classified(L, "The newest event's hash; null for an empty ledger.")
    head_at: datetime | None = classified(L, "When the newest event happened.")
    checked_events: int = classified(
        L,
        "How many of the newest events were checked: each one's hash over its content and "
        "disclosures, and each link to the one before it. Older events are not: `hub audit verify` "
        "walks the whole chain, and `--checkpoints` checks it against the signed checkpoints, which "
        "are written outside the database (hub serve's log, `hub audit checkpoint`) and not kept here.",
    )
    intact: bool = classified(L, "True when every checked event holds.")
    broken_reason: str | None = classified(
        L, "What is wrong with the first checked event that does not hold."
    )
    head_pk: strawberry.Private[int | None]
    broken_pk: strawberry.Private[int | None]

    @resolves(L, "Global id of the newest event.")
    def head_id(self) -> strawberry.ID | None:
        return None if self.head_pk is None else strawberry.ID(to_global_id("AuditEvent", self.head_pk))

    @resolves(L, "Global id of the first checked event that does not hold.")
    def broken_event_id(self) -> strawberry.ID | None:
        return None if self.broken_pk is None else strawberry.ID(to_global_id("AuditEvent", self.broken_pk))


@strawberry.type
class Query:
    @resolves(L, "The ledger chain's head, and its newest events checked link by link.")
    async def ledger_chain(self, info: Info, recent: Recent = 100) -> LedgerChain:
        ctx = info.context
        status = await data.chain_status(ctx.db, ctx.principal, recent)
        return LedgerChain(
            events=status.events,
            head_hash=status.head_hash,
            head_at=status.head_at,
            checked_events=status.checked,
            intact=status.broken is None,
            broken_reason=None if status.broken is None else status.broken[1],
            head_pk=status.head_id,
            broken_pk=None if status.broken is None else status.broken[0],
        )
