"""The hub's signing keys: creation, rotation, and the cached view each process signs and verifies with.

A key signs from its creation until it is retired (``hub keys rotate``) and verifies until its
``expires_at``: the token lifetime plus the key cache's refresh interval after retirement, so
every token it signed — even one signed by a process that had not yet seen the rotation — expires
before its key does. The store is the only source of truth: processes agree through it.

The first key is created when none can sign: at ``hub serve``/``hub demo`` start-up, and as a
last resort by the first token request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth import tokens
from auth.audit import record_event
from resolvers.models.signing_keys import SigningKey


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    alg: str = "RS256"
    passphrase: str | None = None
    token_ttl: timedelta = timedelta(minutes=15)
    #: How long a process trusts its cached copy of the key table.
    cache_s: float = 30.0
    #: How long the signing key signs before the next rotation is due (``HUB_KEY_ROTATE_DAYS``); the
    #: hub only reports it (``signingKeys.nextRotationDue``): rotating is the operator's act.
    rotate_every: timedelta = timedelta(days=90)

    @property
    def overlap(self) -> timedelta:
        """How long a retired key keeps verifying."""
        return self.token_ttl + timedelta(seconds=self.cache_s + tokens.LEEWAY_S)


async def create_key(session: AsyncSession, policy: KeyPolicy, *, reason: str = "created") -> SigningKey:
    new = await asyncio.to_thread(tokens.generate_key, policy.alg, policy.passphrase)
    row = SigningKey(
        kid=new.kid,
        alg=new.alg,
        private_pem=new.private_pem,
        public_jwk=new.public_jwk,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    await session.flush()
    await record_event(session, kind=f"key.{reason}", detail={"kid": row.kid, "alg": row.alg})
    return row


async def signing_keys(session: AsyncSession, now: datetime | None = None) -> list[SigningKey]:
    """Keys that may sign now, newest first."""
    now = now or datetime.now(UTC)
    stmt = (
        select(SigningKey)
        .where(or_(SigningKey.retired_at.is_(None), SigningKey.retired_at > now))
        .order_by(SigningKey.created_at.desc(), SigningKey.kid)
    )
    return list(await session.scalars(stmt))


async def ensure_signing_key(session: AsyncSession, policy: KeyPolicy) -> SigningKey | None:
    """Create a key when none can sign; the new key, or None when one already existed."""
    if await signing_keys(session):
        return None
    return await create_key(session, policy)


async def rotate(session: AsyncSession, policy: KeyPolicy) -> tuple[SigningKey, list[SigningKey]]:
    """Add a new signing key and retire the current ones; they keep verifying for ``policy.overlap``."""
    now = datetime.now(UTC)
    retired = await signing_keys(session, now)
    for key in retired:
        key.retired_at = now
        key.expires_at = now + policy.overlap
    new = await create_key(session, policy, reason="rotated")
    new.created_at = now + timedelta(microseconds=1)  # newest even within the same clock tick
    await session.flush()
    return new, retired


async def retire(session: AsyncSession, policy: KeyPolicy, key: SigningKey) -> bool:
    """Stop ``key`` signing now; it keeps verifying for ``policy.overlap``. False if already retired."""
    now = datetime.now(UTC)
    if key.retired_at is not None and key.retired_at <= now:
        return False
    key.retired_at = now
    key.expires_at = now + policy.overlap
    await session.flush()
    await record_event(session, kind="key.retired", detail={"kid": key.kid, "alg": key.alg})
    return True


async def list_keys(session: AsyncSession) -> list[SigningKey]:
    return list(await session.scalars(select(SigningKey).order_by(SigningKey.created_at, SigningKey.kid)))


# --- the cached view ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadedKey:
    kid: str
    alg: str
    public_jwk: str
    private_pem: bytes
    created_at: datetime
    retired_at: datetime | None
    expires_at: datetime | None

    def signs(self, now: datetime) -> bool:
        return self.retired_at is None or self.retired_at > now

    def verifies(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


class KeyStore:
    """Signing and verification keys read from the store, refreshed every ``policy.cache_s`` seconds
    and at once when a token names a key this process has not seen (at most once a second)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        policy: KeyPolicy,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self.policy = policy
        self._clock = clock
        self._keys: dict[str, LoadedKey] = {}
        self._signers: dict[str, tokens.SignerKey] = {}
        self._publics: dict[str, tokens.Key] = {}
        self._loaded_at: float | None = None
        self._lock = asyncio.Lock()

    async def refresh(self) -> None:
        async with self._lock, self._sessions() as session:
            now = datetime.now(UTC)
            rows = await session.scalars(
                select(SigningKey).where(or_(SigningKey.expires_at.is_(None), SigningKey.expires_at > now))
            )
            self._keys = {
                row.kid: LoadedKey(
                    row.kid,
                    row.alg,
                    row.public_jwk,
                    row.private_pem,
                    row.created_at,
                    row.retired_at,
                    row.expires_at,
                )
                for row in rows
            }
            self._loaded_at = self._clock()

    def _stale(self, within: float) -> bool:
        return self._loaded_at is None or self._clock() - self._loaded_at >= within

    async def signer(self) -> tokens.SignerKey:
        if self._stale(self.policy.cache_s):
            await self.refresh()
        now = datetime.now(UTC)
        candidates = sorted(
            (k for k in self._keys.values() if k.signs(now)),
            key=lambda k: (k.created_at, k.kid),
            reverse=True,
        )
        if not candidates:
            async with self._sessions() as session:
                await ensure_signing_key(session, self.policy)
                await session.commit()
            await self.refresh()
            return await self.signer()
        key = candidates[0]
        if key.kid not in self._signers:
            self._signers[key.kid] = tokens.load_signer(
                key.kid, key.alg, key.private_pem, self.policy.passphrase
            )
        return self._signers[key.kid]

    async def verification_key(self, kid: str) -> tuple[tokens.Key, str] | None:
        """The public key named ``kid`` and its algorithm, unless unknown or expired."""
        if self._stale(self.policy.cache_s) or (kid not in self._keys and self._stale(1.0)):
            await self.refresh()
        key = self._keys.get(kid)
        if key is None or not key.verifies(datetime.now(UTC)):
            return None
        if kid not in self._publics:
            self._publics[kid] = tokens.public_key(key.public_jwk)
        return self._publics[kid], key.alg

    async def published(self) -> dict[str, Any]:
        if self._stale(self.policy.cache_s):
            await self.refresh()
        now = datetime.now(UTC)
        live = sorted((k for k in self._keys.values() if k.verifies(now)), key=lambda k: k.created_at)
        return tokens.jwks(k.public_jwk for k in live)
