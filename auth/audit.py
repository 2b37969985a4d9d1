"""The audit ledger's one writer: every event is chained to the one before it by a SHA-256 hash.

``hash = sha256(prev_hash + canonical JSON of the event and its disclosures)``, so changing or
removing any past event, or any record it disclosed, breaks every hash after it (``hub audit verify``
walks the chain).

Appends are serialized, so the chain stays one line under concurrent requests and processes: on
PostgreSQL a transaction-scoped advisory lock is taken before the previous hash is read; on SQLite the
append's first statement is a write, which takes the database's one write lock before the read (a
deferred transaction that reads first and writes later fails with "database is locked" when another
connection committed in between, and SQLite cannot retry that for us).
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, false, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.audit import AuditDisclosure, AuditEvent

#: The ``prev_hash`` of the first event.
GENESIS = "0" * 64

#: The key of the PostgreSQL advisory lock that serializes ledger appends ("LEDGER" in ASCII).
LEDGER_LOCK = 0x4C4544474552

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

#: Columns added after the chain began: hashed only when they hold a value, so every event written
#: before them keeps its hash.
HASHED_WHEN_PRESENT = ("correlation_id", "source_address")

#: The audience whose disclosures are sealed from every other reader of the ledger.
SEALED_AUDIENCE = "victim_services"

#: Where the current request came from: (the caller's correlation id, its source address). Set by the
#: HTTP middleware for each request, so every event written while serving it (a GraphQL request, a
#: token, a failed sign-in, an extract) carries both without each writer passing them along.
request_origin: contextvars.ContextVar[tuple[str | None, str | None]] = contextvars.ContextVar(
    "request_origin", default=(None, None)
)

#: One disclosed record: (subject kind, subject id, the field classes shown).
Disclosure = tuple[str, int, Sequence[str]]


def _disclosure_list(disclosures: Iterable[Disclosure]) -> list[list[Any]]:
    return sorted([kind, int(pk), sorted(classes)] for kind, pk, classes in disclosures)


def canonical(event: AuditEvent, disclosures: Iterable[Disclosure] = ()) -> bytes:
    """The event's hashed content as compact, key-sorted JSON (timestamps in UTC ISO 8601)."""
    content: dict[str, Any] = {}
    for name in HASHED_FIELDS:
        value = getattr(event, name)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).isoformat(timespec="microseconds")
        content[name] = value
    for name in HASHED_WHEN_PRESENT:
        value = getattr(event, name, None)
        if value is not None:
            content[name] = value
    content["disclosures"] = _disclosure_list(disclosures)
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, event: AuditEvent, disclosures: Iterable[Disclosure] = ()) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(event, disclosures)).hexdigest()


async def lock_ledger(session: AsyncSession) -> None:
    """Take the ledger's append lock for the rest of ``session``'s transaction."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(LEDGER_LOCK)))
    else:
        # A write that touches no row still takes SQLite's write lock (waiting up to busy_timeout).
        await session.execute(delete(AuditEvent).where(false()))


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
    operation_name: str | None = None,
    document_hash: str | None = None,
    variables: dict[str, Any] | None = None,
    authority: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
    disclosures: Sequence[Disclosure] = (),
    occurred_at: datetime | None = None,
    correlation_id: str | None = None,
    source_address: str | None = None,
) -> AuditEvent:
    """Append one event (and the records it disclosed) in ``session``'s transaction; the caller commits.

    The returned event is not in the session: read events back with a query.
    """
    if correlation_id is None and source_address is None:
        correlation_id, source_address = request_origin.get()
    await lock_ledger(session)
    previous = await session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    event = AuditEvent(
        # Taken under the lock, so times never run backwards along the chain (purge relies on it).
        occurred_at=occurred_at or datetime.now(UTC),
        kind=kind,
        request_id=request_id,
        partner_id=partner_id,
        client_id=client_id,
        staff_subject=staff_subject,
        audience=audience,
        operation_name=operation_name,
        document_hash=document_hash,
        variables=variables,
        outcome=outcome,
        authority=authority or None,
        detail=detail,
        prev_hash=previous or GENESIS,
        correlation_id=correlation_id,
        source_address=source_address,
    )
    event.hash = chain_hash(event.prev_hash, event, disclosures)
    # A Core INSERT ... RETURNING: the unit of work would cost more than the rest of the append.
    values = {
        name: getattr(event, name) for name in (*HASHED_FIELDS, *HASHED_WHEN_PRESENT, "prev_hash", "hash")
    }
    event.id = (
        await session.execute(insert(AuditEvent).values(values).returning(AuditEvent.id))
    ).scalar_one()
    if disclosures:
        await session.execute(
            insert(AuditDisclosure),
            [
                {
                    "event_id": event.id,
                    "subject_kind": kind_,
                    "subject_id": pk,
                    "field_classes": sorted(classes),
                    "sealed": audience == SEALED_AUDIENCE,
                }
                for kind_, pk, classes in disclosures
            ],
        )
    return event
