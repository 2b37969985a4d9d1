"""The hub's token signing keys for administrators: the key ring and its rotation schedule, and the
mutations that rotate and retire keys (``schema/signing_keys_writes.py``).

The same keys ``hub keys list`` shows, read and written through the API so that the console works
under the policy and in the ledger; ``hub keys`` calls the same functions
(``resolvers/signing_keys.py``, ``resolvers/signing_keys_writes.py``).
Only public facts are here: a private key never leaves the store. Every process signs with a new key
within ``HUB_KEY_CACHE_S`` of its rotation, as after ``hub keys rotate``.
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from auth.classes import FieldClass
from resolvers import signing_keys as data
from schema.context import Info
from schema.fields import classified, resolves

L = FieldClass.LEDGER


@strawberry.type(description="A token signing key: its public facts only.")
class HubSigningKey:
    kid: str = classified(L, "Key id, in the header of every token it signed.")
    alg: str = classified(L, "Signature algorithm (RS256 or ES256).")
    created_at: datetime = classified(L, "When it was made.")
    status: str = classified(L, "active (may sign) or retired (verifies only, until verifiesUntil).")
    signing: bool = classified(L, "True for the one key new tokens are signed with: the newest active one.")
    retired_at: datetime | None = classified(L, "When it stopped signing; null while active.")
    verifies_until: datetime | None = classified(
        L, "When it stops verifying the tokens it signed (after the last of them expired); null while active."
    )

    @classmethod
    def of(cls, key: data.KeyState) -> HubSigningKey:
        return cls(
            kid=key.kid,
            alg=key.alg,
            created_at=key.created_at,
            status=key.status,
            signing=key.signing,
            retired_at=key.retired_at,
            verifies_until=key.expires_at,
        )


@strawberry.type(description="The hub's signing keys and when the next rotation is due.")
class SigningKeyRing:
    keys: list[HubSigningKey] = classified(L, "Every key still in the store, oldest first.")
    next_rotation_due: datetime | None = classified(
        L,
        "When the signing key has signed for HUB_KEY_ROTATE_DAYS: rotate by then (the hub never "
        "rotates on its own). Null when no key signs yet.",
    )
    rotate_every_days: int = classified(L, "The key policy's rotation interval (HUB_KEY_ROTATE_DAYS).")

    @classmethod
    def of(cls, ring: data.KeyRing) -> SigningKeyRing:
        return cls(
            keys=[HubSigningKey.of(k) for k in ring.keys],
            next_rotation_due=ring.next_rotation_due,
            rotate_every_days=ring.rotate_every_days,
        )


async def signing_key_ring(info: Info) -> SigningKeyRing:
    ctx = info.context
    return SigningKeyRing.of(await data.key_ring(ctx.db, ctx.principal, ctx.key_policy))


@strawberry.type
class Query:
    @resolves(L, "The hub's token signing keys (public facts only) and the rotation schedule.")
    async def signing_keys(self, info: Info) -> SigningKeyRing:
        return await signing_key_ring(info)
