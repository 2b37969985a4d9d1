"""The audit ledger's one writer: every event is chained to the one before it by a SHA-256 hash.

``hash = sha256(prev_hash + canonical JSON of the event)``, so changing or removing any past event
breaks every hash after it (``hub audit verify`` walks the chain).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.audit import AuditEvent

#: The ``prev_hash`` of the first event.
GENESIS = "0" * 64

#: The columns the hash covers, in the order of the canonical form.
HASHED_FIELDS = (
    "occurred_at",
    "kind",
    "request_id",
    "partner_id",
    "client_id",
    "staff_subject",
    "audience",
    "operation_name",
    "document_hash",
    "variables",
    "outcome",
    "authority",
    "detail",
)


def canonical(event: AuditEvent) -> bytes:
    """The event's hashed content as compact, key-sorted JSON (timestamps in UTC ISO 8601)."""
    content: dict[str, Any] = {}
    for name in HASHED_FIELDS:
        value = getattr(event, name)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat(timespec="microseconds")
        content[name] = value
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(event)).hexdigest()


async def record_event(
    session: AsyncSession,
    *,
    kind: str,
    outcome: str = "served",
    request_id: str | None = None,
    partner_id: int | None = None,
    client_id: str | None = None,
    staff_subject: str | None = None,
    audience: str | None = None,
    detail: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Append one event to the ledger in ``session``'s transaction (the caller commits)."""
    previous = await session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    event = AuditEvent(
        occurred_at=occurred_at or datetime.now(UTC),
        kind=kind,
        request_id=request_id,
        partner_id=partner_id,
        client_id=client_id,
        staff_subject=staff_subject,
        audience=audience,
        outcome=outcome,
        detail=detail,
        prev_hash=previous or GENESIS,
    )
    event.hash = chain_hash(event.prev_hash, event)
    session.add(event)
    await session.flush()
    return event
