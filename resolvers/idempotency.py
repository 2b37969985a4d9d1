"""Client idempotency keys: a retried mutation returns its first result and writes nothing more."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from sqlalchemy import select

from resolvers.errors import Conflict, InvalidInput
from resolvers.models.partners import IdempotencyRecord
from resolvers.session import RequestDb

MAX_KEY_LENGTH = 128


class Replay(Exception):
    """Raised by a write that found its own request already on file by a natural key (a receipt
    reference, say): nothing is written and the caller answers with ``refs`` as a replay."""

    def __init__(self, refs: dict[str, int]) -> None:
        super().__init__("already recorded")
        self.refs = refs


def request_hash(mutation: str, arguments: Any) -> str:
    return hashlib.sha256(
        orjson.dumps([mutation, arguments], option=orjson.OPT_SORT_KEYS, default=str)
    ).hexdigest()


def check_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidInput("idempotencyKey", f"must be 1 to {MAX_KEY_LENGTH} characters")
    return key


async def recall(
    db: RequestDb, principal_key: str, key: str, mutation: str, digest: str
) -> dict[str, Any] | None:
    """The stored result of an earlier call with this key, or None if there was none.

    The same key with another mutation or other arguments is refused.
    """
    record = await db.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.principal == principal_key, IdempotencyRecord.key == key
        )
    )
    if not record:
        return None
    first = record[0]
    if first.mutation != mutation or first.request_hash != digest:
        raise Conflict("idempotencyKey", "was already used for a different request; use a new key")
    result: dict[str, Any] = orjson.loads(first.response)
    return result


def remember(
    db: RequestDb, principal_key: str, key: str, mutation: str, digest: str, result: dict[str, Any]
) -> None:
    db.add(
        IdempotencyRecord(
            principal=principal_key,
            key=key,
            mutation=mutation,
            request_hash=digest,
            response=orjson.dumps(result).decode(),
        )
    )
