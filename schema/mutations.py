"""How every mutation runs: idempotency key, a savepoint per write, typed errors returned as data.

A mutation's resolver validates and writes through ``run_mutation``; the write returns the primary
keys of what it touched, which are also what a retry with the same idempotency key gets back.
A write that fails leaves nothing behind: its savepoint is rolled back.

Rules such as "one open referral per person, partner and service" are checked by the write and
enforced by the store (partial unique indexes, migration 0003): a request that loses a race to a
concurrent one has its row refused, and its write runs again, now seeing the winner's row, so it
answers with the rule's own typed error. After each write the request's loaders forget what they
cached, so payloads (this mutation's and the next one's in the same operation) show the store as
it is now.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import strawberry
from sqlalchemy.exc import IntegrityError

from auth.classes import FieldClass
from resolvers import idempotency
from resolvers.errors import Conflict, InvalidInput, NotFound
from schema.context import Info
from schema.fields import classified


@strawberry.enum(description="Why a mutation was refused.")
class MutationErrorCode(enum.Enum):
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    STALE_VERSION = "stale_version"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"


@strawberry.type(description="A refusal: nothing of the mutation was written.")
class MutationError:
    code: MutationErrorCode = classified(FieldClass.STRUCTURE, "What kind of refusal this is.")
    field: str | None = classified(FieldClass.STRUCTURE, "The input field at fault, when there is one.")
    message: str = classified(FieldClass.STRUCTURE, "The rule that was broken, in words.")


@strawberry.type(description="What every mutation answers: the refusals, and whether this was a replay.")
class Payload:
    errors: list[MutationError] = classified(
        FieldClass.STRUCTURE, "Why the write was refused; empty on success."
    )
    replayed: bool = classified(
        FieldClass.STRUCTURE,
        "True when this answers a retry with a used idempotency key (nothing was written).",
    )


IdempotencyKey = Annotated[
    str | None,
    strawberry.argument(
        description="Your key for this write (up to 128 characters). Retrying with the same key returns "
        "the first result and writes nothing more; the same key with other input is refused."
    ),
]

Refs = dict[str, int]

#: Runs of a write refused by a unique index before the refusal is answered as a plain CONFLICT.
_ATTEMPTS = 3
#: How the store names a reused idempotency key in its refusal (PostgreSQL: the constraint; SQLite:
#: the table and columns).
_IDEMPOTENCY_INDEX = "idempotency_records"


@dataclass(frozen=True, slots=True)
class Outcome:
    refs: Refs | None
    errors: list[MutationError]
    replayed: bool = False


def _as_error(exc: Exception) -> MutationError:
    if isinstance(exc, InvalidInput):
        return MutationError(
            code=MutationErrorCode.INVALID, field=exc.field, message=f"{exc.field} {exc.rule}"
        )
    if isinstance(exc, NotFound):
        return MutationError(
            code=MutationErrorCode.NOT_FOUND, field=exc.field, message=f"{exc.what} not found"
        )
    if isinstance(exc, Conflict):
        if exc.field == "version":
            code = MutationErrorCode.STALE_VERSION
        elif exc.field == "idempotencyKey":
            code = MutationErrorCode.IDEMPOTENCY_KEY_REUSED
        else:
            code = MutationErrorCode.CONFLICT
        return MutationError(code=code, field=exc.field, message=f"{exc.field} {exc.rule}")
    raise exc


async def run_mutation(
    info: Info,
    arguments: Any,
    idempotency_key: str | None,
    write: Callable[[], Awaitable[Refs]],
) -> Outcome:
    """Run ``write`` in a savepoint, honouring the caller's idempotency key.

    ``arguments`` (what the request hash covers) may be given as a function returning them: it is
    then called only for a write with a key, the only one whose hash is kept.

    The mutation's name, which its idempotency records carry and its request hash covers, is the
    resolving field's own (``info.field_name``, never an alias), so it cannot drift from the schema.
    """
    name = info.field_name
    ctx = info.context
    db = ctx.db
    try:
        key = idempotency.check_key(idempotency_key) if idempotency_key is not None else None
    except InvalidInput as exc:
        return Outcome(None, [_as_error(exc)])
    # Only a keyed write is remembered or recalled: no hash for the others.
    digest = ""
    if key is not None:
        digest = idempotency.request_hash(name, arguments() if callable(arguments) else arguments)
    principal_key = ctx.principal.key
    refused: IntegrityError | None = None
    for _attempt in range(_ATTEMPTS):
        try:
            if key is not None:
                stored = await idempotency.recall(db, principal_key, key, name, digest)
                if stored is not None:
                    return Outcome(stored, [], replayed=True)
            async with db.savepoint():
                refs = await write()
                if key is not None:
                    idempotency.remember(db, principal_key, key, name, digest, refs)
                await db.flush()
        except idempotency.Replay as replay:
            return Outcome(replay.refs, [], replayed=True)
        except (InvalidInput, NotFound, Conflict) as exc:
            return Outcome(None, [_as_error(exc)])
        except IntegrityError as exc:
            # The store refused a row that a concurrent request committed first: the same idempotency
            # key, or a business rule's unique index (one open referral, one enrollment...). Its
            # savepoint is gone; run again: the key's recall or the rule's own check now sees the
            # committed row and answers as it does when the requests come one after the other.
            refused = exc
            continue
        # The write changed rows that this request's loaders may hold (an earlier field of the same
        # operation read them): drop what they cached so every payload reads the store as it is now.
        ctx.loaders.clear_all()
        return Outcome(refs, [])
    if refused is not None and _IDEMPOTENCY_INDEX in str(refused.orig):
        return Outcome(
            None,
            [
                MutationError(
                    code=MutationErrorCode.CONFLICT,
                    field="idempotencyKey",
                    message="idempotencyKey is in use by a concurrent request",
                )
            ],
        )
    return Outcome(
        None,
        [
            MutationError(
                code=MutationErrorCode.CONFLICT, field=None, message="conflicts with an existing record"
            )
        ],
    )
