"""The ledger chain's state for administrators: its head, a check of its newest events and the
latest signed checkpoint in the store, checked against the chain now.

The whole walk is ``hub audit verify`` (it reads every event: minutes on a large ledger, not a page's
work). Signed checkpoints are written outside the database (``hub serve``'s log, ``hub audit
checkpoint``) and recorded in the store (``ledger_checkpoints``); ``hub audit verify --checkpoints``
checks the chain against the outside copies, which are the evidence that does not trust the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select

from auth import ledger
from auth.ledger_checkpoints import chain_head, check_recorded, latest_recorded
from auth.principal import Principal
from resolvers.models.ledger import AuditEvent
from resolvers.session import RequestDb

T = TypeVar("T")

#: The most events one look checks.
MAX_RECENT = 1000


@dataclass(frozen=True, slots=True)
class Checkpoint:
    #: Events in the chain up to ``head_id`` when it was signed.
    events: int
    head_id: int
    head: str | None
    kid: str
    signed_at: datetime
    #: Why it does not hold now (signature, row, chain); None when it holds.
    problem: str | None


@dataclass(frozen=True, slots=True)
class ChainStatus:
    #: Events in the chain up to the head (after a purge: those still stored); 0 for an empty ledger.
    events: int
    head_id: int | None
    head_hash: str | None
    head_at: datetime | None
    #: How many of the newest events were checked.
    checked: int
    #: (event id, what is wrong) of the first broken link among them; None when they hold.
    broken: tuple[int, str] | None
    #: The newest checkpoint recorded in the store, checked now; None when none is.
    checkpoint: Checkpoint | None = None


async def latest_checkpoint(db: RequestDb) -> Checkpoint | None:
    """The newest checkpoint in the store, its signature and the chain checked against it now."""

    async def read() -> Checkpoint | None:
        row = await latest_recorded(db.session)
        if row is None:
            return None
        anchors = await ledger.purge_anchors(db.session)
        problem = await check_recorded(db.session, row, max(anchors.values(), default=None))
        return Checkpoint(row.events, row.head_id, row.head, row.kid, row.signed_at, problem)

    return await db.uncounted(read)


async def chain_status(db: RequestDb, principal: Principal | None, recent: int) -> ChainStatus:
    """The head, and the newest ``recent`` events (at most ``MAX_RECENT``) checked link by link."""
    recent = max(1, min(recent, MAX_RECENT))
    head = await db.uncounted(lambda: chain_head(db.session))
    checkpoint = await latest_checkpoint(db)
    if head is None:
        return ChainStatus(0, None, None, None, 0, None, checkpoint)
    head_at = await db.scalar(select(AuditEvent.occurred_at).where(AuditEvent.id == head.head_id))
    checked = await db.uncounted(lambda: ledger.verify_tail(db.session, recent))
    return ChainStatus(
        events=head.events,
        head_id=head.head_id,
        head_hash=head.head,
        head_at=head_at,
        checked=checked.events,
        broken=checked.broken,
        checkpoint=checkpoint,
    )
