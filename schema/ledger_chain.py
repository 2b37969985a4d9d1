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


@strawberry.type(description="A signed checkpoint of the ledger's head, as recorded in the store.")
class LedgerCheckpoint:
    events: int = classified(L, "Events in the chain up to the head it signed.")
    head_hash: str | None = classified(L, "The hash of the head event it signed; null: the ledger was empty.")
    signed_at: datetime = classified(L, "When it was signed.")
    key_id: str = classified(L, "The signing key's id (`signingKeys`).")
    verified: bool = classified(
        L,
        "True when, checked now, its signature holds under that key, the stored row says what the "
        "signature covers, and the chain still extends it (the event it names still has that hash and "
        "the same number of events up to it).",
    )
    problem: str | None = classified(L, "Why it does not hold now; null when it does.")
    head_pk: strawberry.Private[int]

    @resolves(L, "Global id of the head event it signed; null when the ledger was empty.")
    def head_id(self) -> strawberry.ID | None:
        return None if not self.head_pk else strawberry.ID(to_global_id("AuditEvent", self.head_pk))


@strawberry.type(description="The ledger chain's head and a check of its newest events.")
class LedgerChain:
    events: int = classified(L, "Events in the chain up to its head (after a purge: those still stored).")
    head_hash: str | None = classified(L, "The newest event's hash; null for an empty ledger.")
    head_at: datetime | None = classified(L, "When the newest event happened.")
    checked_events: int = classified(
        L,
        "How many of the newest events were checked: each one's hash over its content and "
        "disclosures, and each link to the one before it. Older events are not: `hub audit verify` "
        "walks the whole chain, and `--checkpoints` checks it against the signed checkpoints written "
        "outside the database (hub serve's log, `hub audit checkpoint`).",
    )
    intact: bool = classified(L, "True when every checked event holds.")
    broken_reason: str | None = classified(
        L, "What is wrong with the first checked event that does not hold."
    )
    latest_checkpoint: LedgerCheckpoint | None = classified(
        L,
        "The newest signed checkpoint recorded in the store (hub serve's interval, `hub audit "
        "checkpoint`), checked against the chain now; null when none is recorded. The copies written "
        "outside the database remain the evidence: whoever rewrites the ledger can delete these too.",
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
        checkpoint = status.checkpoint
        return LedgerChain(
            latest_checkpoint=None
            if checkpoint is None
            else LedgerCheckpoint(
                events=checkpoint.events,
                head_hash=checkpoint.head,
                signed_at=checkpoint.signed_at,
                key_id=checkpoint.kid,
                verified=checkpoint.problem is None,
                problem=checkpoint.problem,
                head_pk=checkpoint.head_id,
            ),
            events=status.events,
            head_hash=status.head_hash,
            head_at=status.head_at,
            checked_events=status.checked,
            intact=status.broken is None,
            broken_reason=None if status.broken is None else status.broken[1],
            head_pk=status.head_id,
            broken_pk=None if status.broken is None else status.broken[0],
        )
