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
caller's transaction, auth/ledger_appender.py a group commit of many requests' events. On PostgreSQL
all of that is one call of ``hub_ledger_append`` (migration ``0010_ledger_append``), which chains the
events in the database from the canonical JSON this module writes (``canonical_parts``), so the hash
is the same whichever path wrote an event.
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
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from resolvers.models.ledger import AuditDisclosure, AuditEvent

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


def _content(event: AuditEvent, disclosures: Iterable[Disclosure]) -> dict[str, Any]:
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
    return content


def _json(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical(event: AuditEvent, disclosures: Iterable[Disclosure] = ()) -> bytes:
    """The event's hashed content as compact, key-sorted JSON (timestamps in UTC ISO 8601)."""
    return _json(_content(event, disclosures))


def canonical_parts(event: AuditEvent, disclosures: Iterable[Disclosure] = ()) -> tuple[bytes, bytes | None]:
    """``canonical`` of an event whose time is not yet known, as the bytes before and after its value.

    ``canonical`` is ``head + '"<occurred_at in UTC ISO 8601>"' + tail``: PostgreSQL's
    ``hub_ledger_append`` puts the time it takes under the lock in between. An event whose time is set
    comes whole: ``(canonical(event), None)``.
    """
    content = _content(event, disclosures)
    if event.occurred_at is not None:
        return _json(content), None
    del content["occurred_at"]
    # The top-level keys in json.dumps's sorted order, the time's place among them; each side is the
    # same items json.dumps writes for the whole object, so the three parts join to its bytes.
    before = _json({k: v for k, v in content.items() if k < "occurred_at"})[1:-1]
    after = _json({k: v for k, v in content.items() if k > "occurred_at"})[1:-1]
    head = b"{" + before + (b"," if before else b"") + b'"occurred_at":'
    return head, (b"," + after if after else b"") + b"}"


def chain_hash(prev_hash: str, event: AuditEvent, disclosures: Iterable[Disclosure] = ()) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(event, disclosures)).hexdigest()


#: Where an append runs: a session's transaction, or (the appender's own) a connection.
Store = AsyncSession | AsyncConnection


def _dialect(store: Store) -> str:
    return (store.dialect if isinstance(store, AsyncConnection) else store.get_bind().dialect).name


async def lock_ledger(store: Store) -> None:
    """Take the ledger's append lock for the rest of ``store``'s transaction."""
    if _dialect(store) == "postgresql":
        await store.execute(select(func.pg_advisory_xact_lock(LEDGER_LOCK)))
    else:
        # A write that touches no row still takes SQLite's write lock (waiting up to busy_timeout).
        await store.execute(delete(AuditEvent).where(false()))


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
_JSON = frozenset({"variables", "authority", "detail"})

#: On PostgreSQL the whole append is one call (migration ``0010_ledger_append``): the lock, the
#: previous hash, the time, the chain and the INSERTs of the events and their disclosures. Arrays, one
#: element per event (or disclosure), so one text whatever the batch: the driver prepares it once per
#: connection.
_POSTGRESQL_ARGUMENTS = (
    *(
        (name, {"occurred_at": "timestamptz", "partner_id": "integer"}.get(name, "text"))
        for name in _WRITTEN[:-2]
    ),
    ("head", "bytea"),
    ("tail", "bytea"),
    ("d_event", "integer"),
    ("d_kind", "text"),
    ("d_pk", "integer"),
    ("d_classes", "text"),
    ("d_sealed", "boolean"),
)
_POSTGRESQL_APPEND = text(
    "SELECT event_id, event_at, event_prev, event_hash FROM hub_ledger_append("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _POSTGRESQL_ARGUMENTS)
    + ")"
)


async def append_chain(store: Store, events: Sequence[tuple[AuditEvent, Sequence[Disclosure]]]) -> None:
    """Chain ``events``, in order, after the ledger's head, in ``store``'s transaction; the caller commits.

    One lock, one read of the previous hash and the INSERTs of every event and disclosure, whatever
    the number of events: the appender's group commit writes a batch of requests this way. On
    PostgreSQL all of it is one call of ``hub_ledger_append`` (one round trip; on a connection in
    autocommit, a transaction of its own); on SQLite four statements at most. Each event gets its
    ``id``, ``occurred_at`` (unless set), ``prev_hash`` and ``hash``; the events are not added to the
    session.
    """
    if not events:
        return
    if _dialect(store) == "postgresql":
        await _append_postgresql(store, events)
    else:
        await append_in_python(store, events)


async def append_in_python(store: Store, events: Sequence[tuple[AuditEvent, Sequence[Disclosure]]]) -> None:
    """``append_chain`` statement by statement, the chain computed here: SQLite's append (and
    PostgreSQL's before migration ``0010``; tests check that both paths make one chain)."""
    await lock_ledger(store)
    previous = await store.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    previous = previous or GENESIS
    # Taken under the lock, so times never run backwards along the chain (purge relies on it).
    now = datetime.now(UTC)
    for event, disclosures in events:
        if event.occurred_at is None:
            event.occurred_at = now
        event.prev_hash = previous
        event.hash = previous = chain_hash(event.prev_hash, event, disclosures)
    await _insert(store, events)


def _disclosure_rows(events: Sequence[tuple[AuditEvent, Sequence[Disclosure]]]) -> list[dict[str, Any]]:
    return [
        {
            "event_id": event.id,
            "subject_kind": kind_,
            "subject_id": pk,
            "field_classes": sorted(classes),
            "sealed": event.audience == SEALED_AUDIENCE,
        }
        for event, disclosures in events
        for kind_, pk, classes in disclosures
    ]


def _check_order(numbered: Sequence[int]) -> None:
    # The chain is read back in id order (verify): the ids must follow it, as they do under the lock;
    # a store that numbered them otherwise would break the chain, so the append fails.
    if any(later <= earlier for earlier, later in pairwise(numbered)):
        raise RuntimeError("the store numbered a batch of ledger events out of chain order")


async def _append_postgresql(store: Store, events: Sequence[tuple[AuditEvent, Sequence[Disclosure]]]) -> None:
    params: dict[str, list[Any]] = {name: [] for name, _ in _POSTGRESQL_ARGUMENTS}
    for position, (event, disclosures) in enumerate(events, start=1):
        if event.occurred_at is not None and event.occurred_at.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        for name in _WRITTEN[:-2]:
            value = getattr(event, name)
            params[name].append(json.dumps(value) if name in _JSON and value is not None else value)
        head, tail = canonical_parts(event, disclosures)
        params["head"].append(head)
        params["tail"].append(tail)
        for kind_, pk, classes in disclosures:
            params["d_event"].append(position)
            params["d_kind"].append(kind_)
            params["d_pk"].append(pk)
            params["d_classes"].append(json.dumps(sorted(classes)))
            params["d_sealed"].append(event.audience == SEALED_AUDIENCE)
    rows = (await store.execute(_POSTGRESQL_APPEND, params)).all()  # in id order
    if len(rows) != len(events):
        raise RuntimeError(f"hub_ledger_append wrote {len(rows)} of {len(events)} ledger events")
    # In id order the rows must link up as the chain does, or the ids do not follow it (_check_order).
    if any(later.event_prev != earlier.event_hash for earlier, later in pairwise(rows)):
        raise RuntimeError("the store numbered a batch of ledger events out of chain order")
    for (event, _), row in zip(events, rows, strict=True):
        event.id, event.occurred_at = row.event_id, row.event_at
        event.prev_hash, event.hash = row.event_prev, row.event_hash


async def _insert(store: Store, events: Sequence[tuple[AuditEvent, Sequence[Disclosure]]]) -> None:
    # Core INSERT … RETURNING (the unit of work would cost more than the rest of the append); several
    # rows go as one multi-row statement.
    rows = [{name: getattr(event, name) for name in _WRITTEN} for event, _ in events]
    if len(rows) == 1:
        statement = insert(AuditEvent).values(rows[0]).returning(AuditEvent.id)
        events[0][0].id = (await store.execute(statement)).scalar_one()
    else:
        returned = await store.execute(insert(AuditEvent).returning(AuditEvent.id, AuditEvent.hash), rows)
        ids = {hash_: event_id for event_id, hash_ in returned}
        numbered = [ids[event.hash] for event, _ in events]
        _check_order(numbered)
        for (event, _), event_id in zip(events, numbered, strict=True):
            event.id = event_id
    disclosed = _disclosure_rows(events)  # now that each event has its id
    if disclosed:
        await store.execute(insert(AuditDisclosure), disclosed)


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
