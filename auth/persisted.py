"""Persisted operations: documents a client registered by their sha256, and the automatic persisted
queries protocol (APQ, ``extensions.persistedQuery``, version 1).

A client registers its operations ahead (``hub clients operations add`` with a manifest) or on first
use (APQ: the hash with the query registers it). A client set to persisted-only runs nothing but
its registered operations and cannot register new ones by APQ: its operations change only through
the department. Documents are immutable by their hash, so a process may keep what it has found; it
asks the store again after ``recheck_s`` whether a client still has it (an administrator may remove it).

What a client registers itself through APQ is bounded: at most ``apq_max_per_client`` entries (a new
one past it pushes out the client's least recently used one), and an entry unused for
``apq_expire_days`` is dropped (the client's own on each registration, everyone's at most once an
hour per process). ``last_used_at`` is written at most once a day per entry and process. Operations
the department registered from a manifest are neither counted nor dropped.
"""

from __future__ import annotations

import hashlib
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.audit import record_event
from auth.principal import Principal
from auth.refusals import Refusal
from resolvers.models.partners import Client, PersistedOperation

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
REQUIRED = "PERSISTED_QUERY_REQUIRED"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: How stale a registered entry's ``last_used_at`` may get (one write per entry per process per day).
TOUCH_INTERVAL = timedelta(days=1)
#: How often a process drops every client's expired APQ entries (on a registration).
SWEEP_INTERVAL = timedelta(hours=1)


class PersistedQueryRefused(Refusal):
    """A persisted-operations refusal (``PERSISTED_QUERY_NOT_FOUND`` is a 200: APQ's cue to resend)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, code, message)


class ManifestError(Exception):
    """A manifest the hub will not register, with the reason (naming the entry)."""


def sha256_of(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def parse_manifest(raw: bytes) -> dict[str, str]:
    """``{sha256: document}`` from a manifest file.

    Two formats are read: Apollo's persisted query manifest
    (``{"format": "apollo-persisted-query-manifest", "operations": [{"id", "body", …}]}``) and a plain
    JSON object of ``{"<sha256>": "<document>"}`` (Relay's ``persisted-queries.json``). Every hash
    must be the sha256 of its document's exact text.
    """
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ManifestError("the manifest is not valid JSON") from None
    entries: list[tuple[str, Any]]
    if isinstance(data, dict) and isinstance(data.get("operations"), list):
        entries = []
        for index, op in enumerate(data["operations"]):
            if not isinstance(op, dict):
                raise ManifestError(f"operations[{index}] is not an object")
            entries.append((str(op.get("id", "")), op.get("body")))
    elif isinstance(data, dict):
        entries = list(data.items())
    else:
        raise ManifestError(
            'the manifest must be a JSON object: {"operations": [...]} or {"<sha256>": "<document>"}'
        )
    operations: dict[str, str] = {}
    for sha, document in entries:
        if not isinstance(document, str) or not document.strip():
            raise ManifestError(f"operation {sha or '(no id)'} has no document text")
        if not _SHA256.match(sha):
            raise ManifestError(f"operation id {sha!r} is not a lowercase hex sha256")
        if sha256_of(document) != sha:
            raise ManifestError(f"operation {sha} is not the sha256 of its document")
        operations[sha] = document
    if not operations:
        raise ManifestError("the manifest holds no operations")
    return operations


async def registered(session: AsyncSession, client_pk: int | None, sha256: str) -> str | None:
    owner = (
        PersistedOperation.client_pk.is_(None)
        if client_pk is None
        else PersistedOperation.client_pk == client_pk
    )
    return await session.scalar(
        select(PersistedOperation.document).where(owner, PersistedOperation.sha256 == sha256)
    )


async def register(
    session: AsyncSession, client_pk: int | None, operations: Mapping[str, str], *, apq: bool = False
) -> int:
    """Add operations for a client; ones it already has are left as they are. Returns how many were new.

    ``apq``: registered by the client's own request (bounded), not from the department's manifest."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    added = 0
    for sha, document in operations.items():
        stmt = (
            insert(PersistedOperation)
            .values(client_pk=client_pk, sha256=sha, document=document, apq=apq)
            .on_conflict_do_nothing(index_elements=[PersistedOperation.client_pk, PersistedOperation.sha256])
            .returning(PersistedOperation.id)
        )
        if (await session.execute(stmt)).first() is not None:
            added += 1
    return added


Dropped = list[tuple[int | None, str]]


async def expire_unused(
    session: AsyncSession, now: datetime, days: int, client_pk: int | None = None
) -> Dropped:
    """Drop APQ entries unused for ``days`` (one client's, or everyone's); the (client, hash) of each."""
    cutoff = now - timedelta(days=days)
    stmt = delete(PersistedOperation).where(
        PersistedOperation.apq.is_(True), PersistedOperation.last_used_at < cutoff
    )
    if client_pk is not None:
        stmt = stmt.where(PersistedOperation.client_pk == client_pk)
    rows = await session.execute(stmt.returning(PersistedOperation.client_pk, PersistedOperation.sha256))
    return [(row[0], row[1]) for row in rows]


async def keep_within_quota(session: AsyncSession, client_pk: int, quota: int) -> Dropped:
    """Drop the client's least recently used APQ entries past ``quota``; the (client, hash) of each."""
    count = await session.scalar(
        select(func.count())
        .select_from(PersistedOperation)
        .where(PersistedOperation.client_pk == client_pk, PersistedOperation.apq.is_(True))
    )
    excess = int(count or 0) - quota
    if excess <= 0:
        return []
    oldest = (
        select(PersistedOperation.id)
        .where(PersistedOperation.client_pk == client_pk, PersistedOperation.apq.is_(True))
        .order_by(PersistedOperation.last_used_at, PersistedOperation.id)
        .limit(excess)
    )
    rows = await session.execute(
        delete(PersistedOperation)
        .where(PersistedOperation.id.in_(oldest.scalar_subquery()))
        .returning(PersistedOperation.client_pk, PersistedOperation.sha256)
    )
    return [(row[0], row[1]) for row in rows]


async def list_operations(session: AsyncSession, client_pk: int) -> list[PersistedOperation]:
    rows = await session.scalars(
        select(PersistedOperation)
        .where(PersistedOperation.client_pk == client_pk)
        .order_by(PersistedOperation.created_at, PersistedOperation.id)
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class Resolved:
    """The document an HTTP request runs, and the hash to register once it is known to be valid."""

    query: str
    register: str | None = None


@dataclass
class PersistedOperations:
    """Turns a request body into the document it runs, under the client's persisted-only rule."""

    sessions: async_sessionmaker[AsyncSession]
    cache_size: int = 4096
    #: APQ entries a client may register itself (``HUB_APQ_MAX_PER_CLIENT``).
    max_per_client: int = 1000
    #: Days an APQ entry is kept unused (``HUB_APQ_EXPIRE_DAYS``).
    expire_days: int = 30
    #: How long a client's found entry is trusted before the store is asked again
    #: (``HUB_CLIENT_STATUS_CACHE_S``): an operation an administrator removed stops running within it.
    recheck_s: float = 3.0
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    _found: OrderedDict[tuple[int | None, str], str] = field(default_factory=OrderedDict)
    #: When each client's entry was last found in the store (staff front-ends' are this process's own).
    _checked: dict[tuple[int, str], datetime] = field(default_factory=dict)
    #: When this process last wrote each entry's ``last_used_at``.
    _touched: dict[tuple[int, str], datetime] = field(default_factory=dict)
    _swept: datetime | None = None

    async def lookup(self, principal: Principal, sha256: str) -> str | None:
        key = (principal.client_pk, sha256)
        found = self._found.get(key)
        if found is not None and principal.client_pk is not None:
            checked = self._checked.get((principal.client_pk, sha256))
            if checked is None or (self.clock() - checked).total_seconds() >= self.recheck_s:
                # The hash still names the same document, but it may no longer be registered.
                found = None
        if found is not None:
            self._found.move_to_end(key)
            await self._touch(principal.client_pk, sha256)
            return found
        async with self.sessions() as session:
            document = await registered(session, principal.client_pk, sha256)
        if document is not None:
            self._keep(key, document)
            await self._touch(principal.client_pk, sha256)
        else:
            self._forget(key)
        return document

    def _keep(self, key: tuple[int | None, str], document: str) -> None:
        self._found[key] = document
        if key[0] is not None:
            self._checked[(key[0], key[1])] = self.clock()
        if len(self._found) > self.cache_size:
            evicted, _ = self._found.popitem(last=False)
            if evicted[0] is not None:
                self._touched.pop((evicted[0], evicted[1]), None)
                self._checked.pop((evicted[0], evicted[1]), None)

    def _forget(self, key: tuple[int | None, str]) -> None:
        """A dropped entry leaves this process's cache too (other processes' caches keep theirs until
        they fill up: documents are immutable by their hash, so what they answer stays right)."""
        self._found.pop(key, None)
        if key[0] is not None:
            self._touched.pop((key[0], key[1]), None)
            self._checked.pop((key[0], key[1]), None)

    async def _touch(self, client_pk: int | None, sha256: str) -> None:
        """Record that a client's entry ran, at most once a day per entry in this process."""
        if client_pk is None:
            return
        now = self.clock()
        last = self._touched.get((client_pk, sha256))
        if last is not None and now - last < TOUCH_INTERVAL:
            return
        self._touched[(client_pk, sha256)] = now
        async with self.sessions() as session:
            await session.execute(
                update(PersistedOperation)
                .where(PersistedOperation.client_pk == client_pk, PersistedOperation.sha256 == sha256)
                .values(last_used_at=now)
            )
            await session.commit()

    async def resolve(self, principal: Principal, body: Mapping[str, Any]) -> Resolved:
        query = body.get("query")
        extensions = body.get("extensions")
        if extensions is not None and not isinstance(extensions, dict):
            raise PersistedQueryRefused(400, "BAD_REQUEST", "`extensions` must be a JSON object")
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if not isinstance(query, str) or not query.strip():
                raise PersistedQueryRefused(400, "BAD_REQUEST", "the request body needs a `query` string")
            if principal.persisted_only and await self.lookup(principal, sha256_of(query)) is None:
                raise _required()
            return Resolved(query)
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise PersistedQueryRefused(
                400, NOT_SUPPORTED, "extensions.persistedQuery: only version 1 (sha256Hash) is supported"
            )
        sha = persisted.get("sha256Hash")
        if not isinstance(sha, str) or not _SHA256.match(sha):
            raise PersistedQueryRefused(
                400, "BAD_REQUEST", "extensions.persistedQuery.sha256Hash must be a lowercase hex sha256"
            )
        if query is None or query == "":
            document = await self.lookup(principal, sha)
            if document is None:
                # The exact message Apollo's clients look for before they resend with the query.
                raise PersistedQueryRefused(200, NOT_FOUND, "PersistedQueryNotFound")
            return Resolved(document)
        if not isinstance(query, str):
            raise PersistedQueryRefused(400, "BAD_REQUEST", "`query` must be a string")
        if sha256_of(query) != sha:
            raise PersistedQueryRefused(
                400, HASH_MISMATCH, "extensions.persistedQuery.sha256Hash is not the sha256 of `query`"
            )
        if await self.lookup(principal, sha) is not None:
            return Resolved(query)
        if principal.persisted_only:
            raise _required()
        return Resolved(query, register=sha)

    async def remember(self, principal: Principal, sha256: str, query: str) -> None:
        """Register a valid document sent with its hash (its own short transaction).

        Staff front-ends have no client row to own it: their documents are kept in this process only
        (another process answers PersistedQueryNotFound once, and the front-end resends the query).
        """
        if principal.client_pk is not None:
            now = self.clock()
            async with self.sessions() as session:
                if self._swept is None or now - self._swept >= SWEEP_INTERVAL:
                    # Clients that stopped registering have their unused entries dropped too.
                    self._swept = now
                    dropped = await expire_unused(session, now, self.expire_days)
                else:
                    dropped = await expire_unused(session, now, self.expire_days, principal.client_pk)
                await register(session, principal.client_pk, {sha256: query}, apq=True)
                dropped += await keep_within_quota(session, principal.client_pk, self.max_per_client)
                await session.commit()
            for key in dropped:
                self._forget(key)
            self._touched[(principal.client_pk, sha256)] = now
        self._keep((principal.client_pk, sha256), query)


def _required() -> PersistedQueryRefused:
    return PersistedQueryRefused(
        403,
        REQUIRED,
        "this client runs only its registered operations: send a registered document or its "
        "extensions.persistedQuery.sha256Hash (the department registers a client's manifest)",
    )


# --- administration (``hub clients operations …``, ``hub clients persisted-only``) -------------------


async def set_persisted_only(session: AsyncSession, client: Client, on: bool) -> None:
    """Switch a client to (or from) running only its registered operations; recorded in the ledger."""
    client.persisted_only = on
    client.updated_at = datetime.now(UTC)
    client.version += 1
    await session.flush()
    await record_event(
        session,
        kind="client.persisted_only",
        partner_id=client.partner_id,
        client_id=client.client_id,
        detail={"persisted_only": on},
    )


async def add_manifest(session: AsyncSession, client: Client, operations: Mapping[str, str]) -> int:
    added = await register(session, client.id, operations)
    await record_event(
        session,
        kind="client.operations_added",
        partner_id=client.partner_id,
        client_id=client.client_id,
        detail={"operations": len(operations), "new": added},
    )
    return added
