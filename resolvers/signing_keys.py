"""The hub's token signing keys for administrators: what each key is doing, when the next rotation is
due, and the rotation and retirement of keys (the API's admin key mutations and ``hub keys`` call the
same functions).

Only public facts leave the store this way (kid, algorithm, dates); private keys never do. Which key
signs is the newest key not retired, as ``auth.keys.KeyStore`` chooses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from auth import keys
from auth.principal import Principal
from resolvers.models.signing_keys import SigningKey
from resolvers.session import RequestDb

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class KeyState:
    """One signing key, as an administrator sees it."""

    kid: str
    alg: str
    created_at: datetime
    #: When it stopped (or stops) signing; None while it may sign.
    retired_at: datetime | None
    #: When it stops verifying the tokens it signed; None while it signs.
    expires_at: datetime | None
    #: True for the one key new tokens are signed with.
    signing: bool

    @property
    def status(self) -> str:
        return "active" if self.retired_at is None else "retired"


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Every key still in the store, oldest first, and when the signing key's rotation is due."""

    keys: list[KeyState]
    #: The signing key's creation plus ``KeyPolicy.rotate_every``; None when no key signs yet.
    next_rotation_due: datetime | None
    rotate_every_days: int


def current_signer(rows: list[SigningKey], now: datetime) -> SigningKey | None:
    """The key new tokens are signed with: the newest not retired (``KeyStore.signer``'s choice)."""
    live = [r for r in rows if r.retired_at is None or r.retired_at > now]
    return max(live, key=lambda r: (r.created_at, r.kid)) if live else None


async def key_ring(db: RequestDb, principal: Principal | None, policy: keys.KeyPolicy) -> KeyRing:
    """The keys and the rotation schedule. ``principal``: the caller through the API, None at the CLI."""
    rows = await db.uncounted(lambda: keys.list_keys(db.session))
    now = datetime.now(UTC)
    signer = current_signer(rows, now)
    states = [
        KeyState(
            kid=r.kid,
            alg=r.alg,
            created_at=r.created_at,
            retired_at=r.retired_at,
            expires_at=r.expires_at,
            signing=signer is not None and r.kid == signer.kid,
        )
        for r in rows
    ]
    return KeyRing(
        keys=states,
        next_rotation_due=None if signer is None else signer.created_at + policy.rotate_every,
        rotate_every_days=policy.rotate_every.days,
    )
