"""The registry of partners and their clients: registration, secrets and status.

A client secret exists in clear only in the one response that creates it. Secrets are 256 bits of
randomness, so the store keeps a keyed fast hash of them, HMAC-SHA-256 under a server-side pepper
(``HUB_SECRET_PEPPER``, or one the hub generates and keeps in the store), compared in constant time:
a deliberately slow password hash (argon2id) protects low-entropy secrets and the hub has none,
while it made every anonymous token request cost 0.18 s of CPU. Hashes made by earlier versions
(argon2id) still verify and are replaced by an HMAC at the client's next successful use. Every
change is an audit event.

A configured pepper is the caller's to pass (``pepper=``: the app's ``ClientAuthenticator``, the
CLI's commands, from ``Settings.secret_pepper_key``); ``None`` means the store's own. Nothing here
holds it, so two apps in one process may use different ones.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
import re
import secrets
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from auth import tokens
from auth.audit import record_event
from resolvers.models.partners import Audience, Client, ClientStatus, Partner, ServerSecret

log = logging.getLogger("hub.auth.clients")

#: The scope every client holds today: calling ``/graphql``. What a caller may see is decided by
#: its audience and the disclosure policy, not by scopes.
DEFAULT_SCOPES = "graphql"
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 section 3.3 scope-token

HMAC_SCHEME = "hmac-sha256"
PEPPER_NAME = "client-secret-pepper"
_legacy_hasher = PasswordHasher()
#: At most one argon2 verification at a time per process: only clients not seen since the switch to
#: HMAC have one, and an attacker naming them must not get more than one core.
_legacy_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


class RegistryError(Exception):
    """A registry request that cannot be done; the message names what is wrong and the fix."""


# --- secrets --------------------------------------------------------------------------------------


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_client_id(audience: str) -> str:
    return f"{audience.replace('_', '-')}-{secrets.token_hex(8)}"


#: The store's own pepper once read, per store URL (a cache: a pepper never changes once written).
_store_peppers: dict[str, bytes] = {}


def pepper_id(pepper: bytes) -> str:
    """Names a pepper in the hashes made with it, without revealing it."""
    return hashlib.sha256(b"hub-secret-pepper:" + pepper).hexdigest()[:12]


def _store_key(session: AsyncSession) -> str:
    return str(session.get_bind().engine.url)


async def _store_pepper(session: AsyncSession, *, create: bool) -> bytes | None:
    cached = _store_peppers.get(_store_key(session))
    if cached is not None:
        return cached
    value = await session.scalar(select(ServerSecret.value).where(ServerSecret.name == PEPPER_NAME))
    if value is None and create:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        await session.execute(
            insert(ServerSecret)
            .values(name=PEPPER_NAME, value=secrets.token_bytes(32))
            .on_conflict_do_nothing(index_elements=[ServerSecret.name])
        )
        value = await session.scalar(select(ServerSecret.value).where(ServerSecret.name == PEPPER_NAME))
        # Not cached: this transaction may still roll back.
        return value
    if value is not None:
        _store_peppers[_store_key(session)] = value
    return value


async def _hashing_pepper(session: AsyncSession, configured: bytes | None) -> bytes:
    if configured is not None:
        return configured
    pepper = await _store_pepper(session, create=True)
    assert pepper is not None
    return pepper


async def _known_peppers(session: AsyncSession, configured: bytes | None) -> dict[str, bytes]:
    peppers = {}
    store = await _store_pepper(session, create=False)
    if store is not None:
        peppers[pepper_id(store)] = store
    if configured is not None:
        peppers[pepper_id(configured)] = configured
    return peppers


def _digest(pepper: bytes, secret: str) -> str:
    return hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()


async def hash_secret(session: AsyncSession, secret: str, *, pepper: bytes | None) -> str:
    """``hmac-sha256$<pepper id>$<hex digest>`` under the current pepper (``pepper``, else the store's)."""
    pepper = await _hashing_pepper(session, pepper)
    return f"{HMAC_SCHEME}${pepper_id(pepper)}${_digest(pepper, secret)}"


def is_current(secret_hash: str, current_pepper_id: str | None) -> bool:
    return secret_hash.startswith(f"{HMAC_SCHEME}$") and secret_hash.split("$")[1] == current_pepper_id


async def current_pepper_id(session: AsyncSession, *, pepper: bytes | None) -> str | None:
    if pepper is not None:
        return pepper_id(pepper)
    store = await _store_pepper(session, create=False)
    return pepper_id(store) if store is not None else None


@dataclass(frozen=True, slots=True)
class Peppers:
    """The peppers hashes may have been made with, by id, and the one new hashes use."""

    known: dict[str, bytes]
    current: str | None


async def peppers(session: AsyncSession, *, pepper: bytes | None) -> Peppers:
    """The peppers a hash may verify under: the store's and ``pepper`` (the configured one, current)."""
    return Peppers(await _known_peppers(session, pepper), await current_pepper_id(session, pepper=pepper))


@dataclass(frozen=True, slots=True)
class SecretCheck:
    ok: bool
    #: The hash should be replaced: an argon2id hash, or an HMAC under a pepper no longer current.
    rehash: bool = False


@functools.cache
def _dummy_key() -> bytes:
    return secrets.token_bytes(32)


@functools.cache
def _dummy_expected() -> str:
    # Computed once: an unknown id then costs one HMAC and one comparison, as a wrong secret does.
    return _digest(_dummy_key(), "-")


async def secret_matches(known: Peppers, secret_hash: str | None, secret: str) -> SecretCheck:
    """Verify ``secret`` against the stored hash. With no hash (unknown client, or one without a
    secret) an HMAC is computed and compared anyway, so the answer takes as long either way."""
    if secret_hash is not None and secret_hash.startswith("$argon2"):
        return SecretCheck(await _legacy_verify(secret_hash, secret), rehash=True)
    scheme, _, rest = (secret_hash or "").partition("$")
    pid, _, expected = rest.partition("$")
    pepper = known.known.get(pid) if scheme == HMAC_SCHEME else None
    if secret_hash is not None and pepper is None:
        log.warning("a client secret hash uses a pepper this hub does not have", extra={"pepper_id": pid})
    computed = _digest(pepper or _dummy_key(), secret)
    ok = hmac.compare_digest(computed, expected if pepper is not None else _dummy_expected())
    ok = ok and pepper is not None
    return SecretCheck(ok, rehash=ok and pid != known.current)


async def _legacy_verify(secret_hash: str, secret: str) -> bool:
    def _verify() -> bool:
        try:
            return _legacy_hasher.verify(secret_hash, secret)
        except (VerificationError, InvalidHashError):
            return False

    slot = _legacy_slots.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(1))
    async with slot:
        return await asyncio.to_thread(_verify)


async def rehash(
    session: AsyncSession, client_pk: int, old_hash: str, secret: str, *, pepper: bytes | None
) -> bool:
    """Replace a verified legacy hash by the current HMAC (unless another request already did)."""
    client = await session.get(Client, client_pk)
    if client is None or client.secret_hash != old_hash:
        return False
    client.secret_hash = await hash_secret(session, secret, pepper=pepper)
    await _changed(session, client, "client.secret_rehashed", scheme=HMAC_SCHEME)
    return True


async def legacy_hashes(session: AsyncSession, *, pepper: bytes | None) -> list[Client]:
    """Clients whose stored hash is not an HMAC under the current pepper: they cannot be converted
    without their secret, which the hub does not have (rotate them, or wait for their next use)."""
    current = await current_pepper_id(session, pepper=pepper)
    rows = await session.scalars(select(Client).where(Client.secret_hash.is_not(None)).order_by(Client.id))
    return [client for client in rows if client.secret_hash and not is_current(client.secret_hash, current)]


def parse_scopes(text: str) -> list[str]:
    scopes = text.split()
    for scope in scopes:
        if not _SCOPE_TOKEN.match(scope):
            raise RegistryError(f"scope {scope!r} has characters RFC 6749 does not allow")
    return sorted(set(scopes))


# --- partners -------------------------------------------------------------------------------------


async def add_partner(
    session: AsyncSession,
    *,
    name: str,
    audience: str,
    contact_email: str | None = None,
    district: str | None = None,
) -> Partner:
    name = " ".join(name.split())
    if not name or len(name) > 160:
        raise RegistryError("a partner name must be 1 to 160 characters")
    if audience not in set(Audience):
        raise RegistryError(f"unknown audience {audience!r}; use one of {', '.join(Audience)}")
    if await session.scalar(select(Partner.id).where(Partner.name == name)) is not None:
        raise RegistryError(f"a partner named {name!r} already exists")
    partner = Partner(name=name, audience=audience, contact_email=contact_email, district=district)
    session.add(partner)
    await session.flush()
    await record_event(
        session, kind="partner.added", partner_id=partner.id, audience=audience, detail={"name": name}
    )
    return partner


async def find_partner(session: AsyncSession, ref: str) -> Partner:
    """A partner by id (digits) or exact name."""
    condition = Partner.id == int(ref) if ref.isdigit() else Partner.name == ref
    partner = await session.scalar(select(Partner).where(condition))
    if partner is None:
        raise RegistryError(f"no partner {ref!r}; `hub partners list` shows them")
    return partner


async def list_partners(session: AsyncSession) -> list[Partner]:
    return list(await session.scalars(select(Partner).order_by(Partner.id)))


# --- clients --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewClient:
    client: Client
    #: Shown once, never stored; None for a client that authenticates with its key only.
    secret: str | None


async def add_client(
    session: AsyncSession,
    partner: Partner,
    *,
    name: str | None = None,
    scopes: str = DEFAULT_SCOPES,
    public_jwk: str | None = None,
    with_secret: bool = True,
    client_id: str | None = None,
    pepper: bytes | None,
) -> NewClient:
    if public_jwk is not None:
        try:
            tokens.public_key(public_jwk)
        except ValueError as exc:
            raise RegistryError(str(exc)) from None
    if not with_secret and public_jwk is None:
        raise RegistryError("a client without a secret needs a public key (--public-key)")
    secret = new_secret() if with_secret else None
    client = Client(
        client_id=client_id or new_client_id(partner.audience),
        partner_id=partner.id,
        name=(name or f"{partner.name} client")[:120],
        secret_hash=await hash_secret(session, secret, pepper=pepper) if secret else None,
        status=ClientStatus.ACTIVE,
        scopes=" ".join(parse_scopes(scopes)),
        public_jwk=public_jwk,
        failed_attempts=0,
    )
    session.add(client)
    await session.flush()
    await record_event(
        session,
        kind="client.added",
        partner_id=partner.id,
        client_id=client.client_id,
        audience=partner.audience,
        detail={"scopes": client.scopes, "secret": secret is not None, "public_key": public_jwk is not None},
    )
    return NewClient(client, secret)


async def get_client(session: AsyncSession, client_id: str) -> Client:
    client = await session.scalar(select(Client).where(Client.client_id == client_id))
    if client is None:
        raise RegistryError(f"no client {client_id!r}; `hub clients list` shows them")
    return client


async def list_clients(session: AsyncSession, partner: Partner | None = None) -> list[tuple[Client, Partner]]:
    stmt = select(Client, Partner).join(Partner, Partner.id == Client.partner_id).order_by(Client.id)
    if partner is not None:
        stmt = stmt.where(Client.partner_id == partner.id)
    return [(row[0], row[1]) for row in await session.execute(stmt)]


async def _changed(session: AsyncSession, client: Client, kind: str, **detail: object) -> None:
    client.updated_at = datetime.now(UTC)
    client.version += 1
    await session.flush()
    await record_event(
        session, kind=kind, partner_id=client.partner_id, client_id=client.client_id, detail=detail or None
    )


async def rotate_secret(session: AsyncSession, client_id: str, *, pepper: bytes | None) -> NewClient:
    """A new secret replaces the old one at once: tokens already issued stay valid until they expire."""
    client = await get_client(session, client_id)
    secret = new_secret()
    client.secret_hash = await hash_secret(session, secret, pepper=pepper)
    await _changed(session, client, "client.secret_rotated")
    return NewClient(client, secret)


async def disable(session: AsyncSession, client_id: str) -> Client:
    client = await get_client(session, client_id)
    if client.status == ClientStatus.DISABLED:
        raise RegistryError(f"client {client_id!r} is already disabled")
    client.status = ClientStatus.DISABLED
    await _changed(session, client, "client.disabled")
    return client


async def enable(session: AsyncSession, client_id: str) -> Client:
    client = await get_client(session, client_id)
    if client.status == ClientStatus.ACTIVE:
        raise RegistryError(f"client {client_id!r} is already enabled")
    client.status = ClientStatus.ACTIVE
    await _changed(session, client, "client.enabled")
    return client
