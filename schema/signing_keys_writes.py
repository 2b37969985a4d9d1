"""The mutations that rotate and retire the hub's signing keys (admin only; ``hub keys`` calls the
same functions, ``resolvers/signing_keys_writes.py``)."""

from __future__ import annotations

import strawberry

from resolvers import signing_keys_writes
from resolvers.models.partners import Audience
from schema.context import Info
from schema.fields import classified, mutation
from schema.mutations import IdempotencyKey, Payload, Refs, run_mutation
from schema.signing_keys import L, SigningKeyRing, signing_key_ring

ADMIN = (Audience.ADMIN,)


@strawberry.input(description="The signing key to retire.")
class RetireSigningKeyInput:
    kid: str = strawberry.field(description="Its key id.")


@strawberry.type(description="The result of rotating the signing keys.")
class RotateSigningKeyPayload(Payload):
    keys: SigningKeyRing | None = classified(
        L, "The keys as they are now (the new one is the signing key); null when refused."
    )
    retired: int | None = classified(L, "How many keys the rotation retired; null when refused.")


@strawberry.type(description="The result of retiring a signing key.")
class RetireSigningKeyPayload(Payload):
    keys: SigningKeyRing | None = classified(L, "The keys as they are now; null when refused.")
    changed: bool | None = classified(
        L, "False when the key was retired already (nothing was written); null when refused."
    )


@strawberry.type
class Mutation:
    @mutation(
        L,
        "Add a new signing key that signs every token from now on (in every process within "
        "HUB_KEY_CACHE_S); the keys that signed until now are retired and keep verifying until their "
        "tokens have expired. The same as `hub keys rotate`.",
        audiences=ADMIN,
    )
    async def rotate_signing_key(
        self, info: Info, idempotency_key: IdempotencyKey = None
    ) -> RotateSigningKeyPayload:
        ctx = info.context

        async def write() -> Refs:
            rotated = await signing_keys_writes.rotate_key(ctx.db, ctx.principal, ctx.key_policy)
            return {"retired": len(rotated.retired)}

        outcome = await run_mutation(info, {}, idempotency_key, write)
        if outcome.refs is None:
            return RotateSigningKeyPayload(keys=None, retired=None, errors=outcome.errors, replayed=False)
        return RotateSigningKeyPayload(
            keys=await signing_key_ring(info),
            retired=outcome.refs["retired"],
            errors=[],
            replayed=outcome.replayed,
        )

    @mutation(
        L,
        "Stop a key signing that is not the signing key (one left active by a concurrent start-up); it "
        "keeps verifying until its tokens have expired. The signing key is refused: rotate instead.",
        audiences=ADMIN,
    )
    async def retire_signing_key(
        self, info: Info, input: RetireSigningKeyInput, idempotency_key: IdempotencyKey = None
    ) -> RetireSigningKeyPayload:
        ctx = info.context

        async def write() -> Refs:
            changed = await signing_keys_writes.retire_key(ctx.db, ctx.principal, ctx.key_policy, input.kid)
            return {"changed": int(changed)}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        if outcome.refs is None:
            return RetireSigningKeyPayload(keys=None, changed=None, errors=outcome.errors, replayed=False)
        return RetireSigningKeyPayload(
            keys=await signing_key_ring(info),
            changed=bool(outcome.refs["changed"]),
            errors=[],
            replayed=outcome.replayed,
        )
