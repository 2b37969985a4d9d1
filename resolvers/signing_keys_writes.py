"""The signing keys' writes: rotate the key ring, retire a key (the API's admin key mutations and
``hub keys`` call the same functions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from auth import keys
from auth.principal import Principal
from resolvers.errors import Conflict, NotFound
from resolvers.models.signing_keys import SigningKey
from resolvers.session import RequestDb
from resolvers.signing_keys import current_signer


@dataclass(frozen=True, slots=True)
class Rotated:
    kid: str
    alg: str
    #: The keys retired by the rotation: (kid, verifies until).
    retired: list[tuple[str, datetime]]


async def rotate_key(db: RequestDb, principal: Principal | None, policy: keys.KeyPolicy) -> Rotated:
    """A new signing key; the keys that signed until now are retired and verify for ``policy.overlap``."""
    new, retired = await db.uncounted(lambda: keys.rotate(db.session, policy))
    return Rotated(
        kid=new.kid,
        alg=new.alg,
        retired=[(k.kid, k.expires_at) for k in retired if k.expires_at is not None],
    )


async def retire_key(db: RequestDb, principal: Principal | None, policy: keys.KeyPolicy, kid: str) -> bool:
    """Stop a key that is not the signing key from signing; False when it was retired already.

    The signing key is refused: retiring it would leave no key (or an older one) to sign with, so it
    is retired by rotating, which puts a new key in its place first.
    """
    kid = kid.strip()
    row = await db.scalar(select(SigningKey).where(SigningKey.kid == kid))
    if row is None:
        raise NotFound("signing key", "kid")
    rows = await db.uncounted(lambda: keys.list_keys(db.session))
    signer = current_signer(rows, datetime.now(UTC))
    if signer is not None and signer.kid == kid:
        only = sum(1 for r in rows if r.retired_at is None) == 1
        raise Conflict(
            "kid",
            ("is the only signing key" if only else "is the current signing key")
            + ": rotate the keys instead (rotateSigningKey, `hub keys rotate`), which adds a new key "
            "before retiring this one",
        )
    assert isinstance(row, SigningKey)
    return await db.uncounted(lambda: keys.retire(db.session, policy, row))
