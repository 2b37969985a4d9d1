"""The audit ledger's one writer: every event is chained to the one before it by a SHA-256 hash.

``hash = sha256(prev_hash + canonical JSON of the event and its disclosures)``, so changing or
removing any past event, or any record it disclosed, breaks every hash after it (``hub audit verify``
walks the chain).

Appends are serialized, so the chain stays one line under concurrent requests and processes: on
PostgreSQL a transaction-scoped advisory lock is taken before the previous hash is read; on SQLite the
append's first statement is a write, which takes the database's one write lock before the read (a
deferred transaction that reads first and writes later fails with "database is locked" when another
connection committed in between, and SQLite cannot retry that for us).

``append_chain`` writes any number of events under one lock (one read of the previous hash, one
multi-row INSERT of the events and one of their disclosures): ``record_event`` is one event in the
caller's transaction, auth/ledger_appender.py a group commit of many requests' events.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import delete, false, func, insert, select, text
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


def new_event(
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
    occurred_at: datetime | None = None,
    correlation_id: str | None = None,
    source_address: str | None = None,
) -> AuditEvent:
    """An event not yet in the chain: ``append_chain`` gives it its time (unless set), link and hash.

    The request's origin is read here, in the request's own context (an appender's task has another).
    """
    if correlation_id is None and source_address is None:
        correlation_id, source_address = request_origin.get()
    return AuditEvent(
        occurred_at=occurred_at,
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
        correlation_id=correlation_id,
        source_address=source_address,
    )


#: The columns an append writes, in one order for every row of a multi-row INSERT.
_WRITTEN = (*HASHED_FIELDS, *HASHED_WHEN_PRESENT, "prev_hash", "hash")
#: Their PostgreSQL types, for the arrays ``_POSTGRESQL_APPEND`` unnests (JSON travels as text).
_PG_TYPES = {"occurred_at": "timestamptz", "partner_id": "integer"}
_JSON = frozenset({"variables", "authority", "detail"})
_DISCLOSED = {"hash": "text", "kind": "text", "pk": "integer", "classes": "text", "sealed": "boolean"}

#: On PostgreSQL every event and every disclosure of an append in one statement (one round trip while
#: the lock is held), whatever the number of events: arrays of columns unnested in chain order, so the
#: ids follow the chain; the disclosures find their event's id by its hash (unique). One text, so the
#: driver prepares it once per connection.
_POSTGRESQL_APPEND = text(
    "WITH ev AS (INSERT INTO audit_events ({columns}) SELECT {values} FROM unnest({arrays}) "
    "WITH ORDINALITY AS e({columns}, n) ORDER BY n RETURNING id, hash), "
    "dis AS (INSERT INTO audit_disclosures (event_id, subject_kind, subject_id, field_classes, sealed) "
    "SELECT ev.id, d.kind, d.pk, d.classes::json, d.sealed FROM unnest({disclosed}) "
    "AS d(hash, kind, pk, classes, sealed) JOIN ev ON ev.hash = d.hash) "
    "SELECT id, hash FROM ev".format(
        columns=", ".join(_WRITTEN),
        values=", ".join(f"{name}::json" if name in _JSON else name for name in _WRITTEN),
        arrays=", ".join(f"CAST(:{name} AS {_PG_TYPES.get(name, 'text')}[])" for name in _WRITTEN),
        disclosed=", ".join(f"CAST(:d_{name} AS {kind}[])" for name, kind in _DISCLOSED.items()),
    )
)


async def append_chain(
    session: AsyncSession, events: Sequence[tuple[AuditEvent, Sequence[Disclosure]]]
) -> None:
    """Chain ``events``, in order, after the ledger's head, in ``session``'s transaction; the caller commits.

    One lock, one read of the previous hash and the INSERTs of every event and disclosure (one
    statement on PostgreSQL, two on SQLite), whatever the number of events: the appender's group
    commit writes a batch of requests this way. Each event gets its ``id``, ``prev_hash`` and
    ``hash``; the events are not added to the session.
    """
    if not events:
        return
    await lock_ledger(session)
    previous = await session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    previous = previous or GENESIS
    # Taken under the lock, so times never run backwards along the chain (purge relies on it).
    now = datetime.now(UTC)
    for event, disclosures in events:
        if event.occurred_at is None:
            event.occurred_at = now
        event.prev_hash = previous
        event.hash = previous = chain_hash(event.prev_hash, event, disclosures)
    if session.get_bind().dialect.name == "postgresql":
        await _insert_postgresql(session, events)
    else:
        await _insert(session, events)


def _disclosure_rows(events: Sequence[tuple[AuditEvent, Sequence[Disclosure]]]) -> list[dict[str, Any]]:
    return [
        {
            "event_id": event.id,
            "hash": event.hash,
            "subject_kind": kind_,
            "subject_id": pk,
            "field_classes": sorted(classes),
            "sealed": event.audience == SEALED_AUDIENCE,
        }
        for event, disclosures in events
        for kind_, pk, classes in disclosures
    ]


def _take_ids(events: Sequence[tuple[AuditEvent, Sequence[Disclosure]]], returned: Iterable[Any]) -> None:
    ids = {hash_: event_id for event_id, hash_ in returned}
    numbered = [ids[event.hash] for event, _ in events]
    # The chain is read back in id order (verify): the ids must follow it, as they do under the lock;
    # a store that numbered them otherwise would break the chain, so the append fails.
    if any(later <= earlier for earlier, later in pairwise(numbered)):
        raise RuntimeError("the store numbered a batch of ledger events out of chain order")
    for (event, _), event_id in zip(events, numbered, strict=True):
        event.id = event_id


async def _insert_postgresql(
    session: AsyncSession, events: Sequence[tuple[AuditEvent, Sequence[Disclosure]]]
) -> None:
    params: dict[str, list[Any]] = {name: [] for name in _WRITTEN}
    for event, _ in events:
        for name in _WRITTEN:
            value = getattr(event, name)
            params[name].append(json.dumps(value) if name in _JSON and value is not None else value)
    disclosed = _disclosure_rows(events)
    params["d_hash"] = [d["hash"] for d in disclosed]
    params["d_kind"] = [d["subject_kind"] for d in disclosed]
    params["d_pk"] = [d["subject_id"] for d in disclosed]
    params["d_classes"] = [json.dumps(d["field_classes"]) for d in disclosed]
    params["d_sealed"] = [d["sealed"] for d in disclosed]
    _take_ids(events, await session.execute(_POSTGRESQL_APPEND, params))


async def _insert(session: AsyncSession, events: Sequence[tuple[AuditEvent, Sequence[Disclosure]]]) -> None:
    # Core INSERT … RETURNING (the unit of work would cost more than the rest of the append); several
    # rows go as one multi-row statement.
    rows = [{name: getattr(event, name) for name in _WRITTEN} for event, _ in events]
    if len(rows) == 1:
        statement = insert(AuditEvent).values(rows[0]).returning(AuditEvent.id)
        events[0][0].id = (await session.execute(statement)).scalar_one()
    else:
        _take_ids(
            events, await session.execute(insert(AuditEvent).returning(AuditEvent.id, AuditEvent.hash), rows)
        )
    disclosed = _disclosure_rows(events)  # now that each event has its id
    for row in disclosed:
        del row["hash"]
    if disclosed:
        await session.execute(insert(AuditDisclosure), disclosed)


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
    event = new_event(
        kind=kind,
        outcome=outcome,
        request_id=request_id,
        partner_id=partner_id,
        client_id=client_id,
        staff_subject=staff_subject,
        audience=audience,
        operation_name=operation_name,
        document_hash=document_hash,
        variables=variables,
        authority=authority,
        detail=detail,
        occurred_at=occurred_at,
        correlation_id=correlation_id,
        source_address=source_address,
    )
    await append_chain(session, [(event, disclosures)])
    return event
