"""Signed checkpoints of the ledger's head: tamper evidence that does not trust the database.

The chain's SHA-256 links are unkeyed: whoever can write the tables (their owner, with the triggers
disabled) can change a past event and recompute every hash after it, and ``hub audit verify`` then
passes. A checkpoint is the head at one moment, ``{events, head_id, head, at}``, signed (a compact JWS,
``typ`` ``hub-ledger-checkpoint+jwt``) with the hub's current signing key and written outside the
database (``hub audit checkpoint`` to a file or standard output, ``hub serve`` to its log every
``HUB_CHECKPOINT_INTERVAL_S``) for an append-only sink, and recorded in the store as well
(``ledger_checkpoints``, ``record``: the console's Ledger page shows the latest and checks it against
the chain now; ``hub audit verify --stored-checkpoints`` checks them all). ``hub audit verify --checkpoints FILE`` then
demands that the chain still extends every checkpoint: the event ``head_id`` still has hash ``head``.
A rewrite of any event at or before a checkpointed head changes that hash and is caught.

What it cannot catch: changes after the newest checkpoint (keep the interval short), and someone
who holds the signing key's private half too (encrypt it with ``HUB_KEY_PASSPHRASE``, kept off the
database host). The copies in the store are a convenience, not the evidence: whoever rewrites the
ledger can delete them too (though not forge new ones without the key), so the copies outside the
database stay the ones to verify against.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth import tokens
from resolvers.models.ledger import AuditEvent, LedgerCheckpointRecord
from resolvers.models.signing_keys import SigningKey

CHECKPOINT_TYPE = "hub-ledger-checkpoint+jwt"


@dataclass(frozen=True, slots=True)
class Head:
    #: Events in the chain up to and including ``head_id`` (after a purge: those still stored).
    events: int
    head_id: int
    head: str


async def chain_head(session: AsyncSession) -> Head | None:
    """The newest event and how many events the chain holds up to it; None for an empty ledger."""
    last = (
        await session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    ).first()
    if last is None:
        return None
    count = await session.scalar(select(func.count()).where(AuditEvent.id <= last.id)) or 0
    return Head(events=int(count), head_id=int(last.id), head=last.hash)


async def checkpoint(
    session: AsyncSession, signer: tokens.SignerKey, now: datetime | None = None
) -> dict[str, Any]:
    """The signed checkpoint of the current head, as the JSON object written a line each."""
    head = await chain_head(session)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    claims: dict[str, Any] = {
        "iat": int(moment.timestamp()),
        "at": moment.isoformat(timespec="microseconds"),
        "events": head.events if head else 0,
        "head_id": head.head_id if head else 0,
        "head": head.head if head else None,
    }
    token = tokens.sign(claims, signer, typ=CHECKPOINT_TYPE)
    return {**{k: v for k, v in claims.items() if k != "iat"}, "kid": signer.kid, "jws": token}


def checkpoint_line(value: dict[str, Any]) -> str:
    return orjson.dumps(value).decode()


async def record(session: AsyncSession, value: dict[str, Any]) -> None:
    """Add a checkpoint made by ``checkpoint`` to the store's ``ledger_checkpoints`` (the caller
    commits)."""
    session.add(
        LedgerCheckpointRecord(
            events=int(value["events"]),
            head_id=int(value["head_id"]),
            head=value["head"],
            kid=str(value["kid"]),
            jws=str(value["jws"]),
            signed_at=datetime.fromisoformat(str(value["at"])),
        )
    )


async def latest_recorded(session: AsyncSession) -> LedgerCheckpointRecord | None:
    """The newest checkpoint in the store; None when none was recorded."""
    return await session.scalar(
        select(LedgerCheckpointRecord)
        .order_by(LedgerCheckpointRecord.signed_at.desc(), LedgerCheckpointRecord.id.desc())
        .limit(1)
    )


async def recorded_lines(session: AsyncSession) -> list[str]:
    """Every checkpoint in the store, oldest first, as lines ``check_checkpoints`` reads."""
    rows = await session.scalars(select(LedgerCheckpointRecord.jws).order_by(LedgerCheckpointRecord.id))
    return [checkpoint_line({"jws": jws}) for jws in rows]


async def check_recorded(
    session: AsyncSession, row: LedgerCheckpointRecord, purged_through: int | None = None
) -> str | None:
    """Why a checkpoint in the store does not hold now (its signature, its columns against what it
    signed, the chain against it); None when it holds."""
    try:
        claims = await _verified_claims(session, row.jws)
    except ValueError as exc:
        return f"the checkpoint is not the hub's: {exc}"
    if (claims["head_id"], claims["events"], claims.get("head")) != (row.head_id, row.events, row.head):
        return "the stored row does not say what its signature covers (the row was changed)"
    report = await check_checkpoints(session, [checkpoint_line({"jws": row.jws})], purged_through)
    return None if report.broken is None else report.broken[1]


@dataclass(frozen=True, slots=True)
class CheckpointReport:
    checked: int
    #: (line number, what is wrong) of the first checkpoint the chain no longer extends.
    broken: tuple[int, str] | None = None


def _jws_of(line: str) -> str | None:
    """The JWS of a checkpoint line, or of a log line carrying one; None for any other line."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if isinstance(value, dict) and isinstance(value.get("checkpoint"), dict):
        value = value["checkpoint"]
    if isinstance(value, dict) and isinstance(value.get("jws"), str):
        return str(value["jws"])
    return None


async def _verified_claims(session: AsyncSession, token: str) -> dict[str, Any]:
    try:
        kid = tokens.peek(token).kid
    except tokens.TokenError as exc:
        raise ValueError(f"its signature cannot be read ({exc.description})") from None
    row = await session.scalar(select(SigningKey).where(SigningKey.kid == kid))
    if row is None:
        raise ValueError(f"it is signed by key {kid!r}, which the store does not hold")
    try:
        claims = tokens.verify(
            token, tokens.public_key(row.public_jwk), [row.alg], typ=CHECKPOINT_TYPE, required=()
        )
    except tokens.TokenError as exc:
        raise ValueError(f"its signature does not hold ({exc.description})") from None
    if not isinstance(claims.get("head_id"), int) or not isinstance(claims.get("events"), int):
        raise ValueError("it does not name a head event")
    return claims


async def check_checkpoints(
    session: AsyncSession, lines: Iterable[str], purged_through: int | None = None
) -> CheckpointReport:
    """Check that the chain still extends every checkpoint among ``lines`` (other lines are skipped).

    ``purged_through``: the last event id a purge removed; a checkpoint of a head before it can no
    longer be checked and is passed over.
    """
    checked = 0
    for number, line in enumerate(lines, start=1):
        token = _jws_of(line)
        if token is None:
            continue
        try:
            claims = await _verified_claims(session, token)
        except ValueError as exc:
            return CheckpointReport(checked, (number, f"the checkpoint is not the hub's: {exc}"))
        head_id, head, at = claims["head_id"], claims.get("head"), claims.get("at")
        checked += 1
        if head is None or (purged_through is not None and head_id <= purged_through):
            continue
        stored = await session.scalar(select(AuditEvent.hash).where(AuditEvent.id == head_id))
        if stored is None:
            return CheckpointReport(
                checked,
                (number, f"the checkpoint of {at} names event {head_id}, which is no longer in the ledger"),
            )
        if stored != head:
            return CheckpointReport(
                checked,
                (
                    number,
                    f"the checkpoint of {at} signed event {head_id} with hash {head}; it now has {stored} "
                    "(the chain was rewritten up to it)",
                ),
            )
        if purged_through is None:
            count = await session.scalar(select(func.count()).where(AuditEvent.id <= head_id)) or 0
            if count != claims["events"]:
                return CheckpointReport(
                    checked,
                    (
                        number,
                        f"the checkpoint of {at} counted {claims['events']} events up to event {head_id}; "
                        f"the ledger now holds {count}",
                    ),
                )
    return CheckpointReport(checked)


async def emit_checkpoints(
    sessions: async_sessionmaker[AsyncSession],
    signer: Callable[[], Awaitable[tokens.SignerKey]],
    interval_s: float,
    log: logging.Logger,
) -> None:
    """``hub serve``'s loop: a checkpoint to the log (and the store) at start and every
    ``interval_s`` seconds."""
    while True:
        try:
            async with sessions() as session:
                value = await checkpoint(session, await signer())
                log.info("ledger checkpoint", extra={"checkpoint": value})
                await record(session, value)
                await session.commit()
        except Exception:
            # A missed checkpoint weakens the evidence but must not stop the server; it is seen.
            log.exception("ledger checkpoint failed")
        await asyncio.sleep(interval_s)
