"""The registry of partners and their clients: registration, secrets, status and lockout.

A client secret exists in clear only in the one response that creates it; the store keeps an
argon2id hash (salted, deliberately slow). Every change is an audit event.
"""

from __future__ import annotations

import asyncio
import functools
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import tokens
from auth.audit import record_event
from resolvers.models.partners import Audience, AuthFailure, Client, ClientStatus, Partner

#: The scope every client holds today: calling ``/graphql``. What a caller may see is decided by
#: its audience and the disclosure policy, not by scopes.
DEFAULT_SCOPES = "graphql"
_SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 section 3.3 scope-token

_hasher = PasswordHasher()


class RegistryError(Exception):
    """A registry request that cannot be done; the message names what is wrong and the fix."""


# --- secrets --------------------------------------------------------------------------------------


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_client_id(audience: str) -> str:
    return f"{audience.replace('_', '-')}-{secrets.token_hex(8)}"


async def hash_secret(secret: str) -> str:
    return await asyncio.to_thread(_hasher.hash, secret)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(32))


async def prepare_dummy_hash() -> None:
    """Compute the dummy hash ahead of the first unknown client id, whose answer would otherwise
    be slower by one hash (and so tell that the id is unknown)."""
    await asyncio.to_thread(_dummy_hash)


async def secret_matches(secret_hash: str | None, secret: str) -> bool:
    """Verify ``secret``; with no hash (unknown client, or one without a secret) verify against a
    dummy hash anyway, so the answer takes as long whether or not the client exists."""

    def _verify() -> bool:
        try:
            ok = _hasher.verify(secret_hash or _dummy_hash(), secret)
        except (VerificationError, InvalidHashError):
            return False
        return ok and secret_hash is not None

    return await asyncio.to_thread(_verify)


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
        secret_hash=await hash_secret(secret) if secret else None,
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


async def rotate_secret(session: AsyncSession, client_id: str) -> NewClient:
    """A new secret replaces the old one at once: tokens already issued stay valid until they expire."""
    client = await get_client(session, client_id)
    secret = new_secret()
    client.secret_hash = await hash_secret(secret)
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
    if client.status == ClientStatus.LOCKED:
        raise RegistryError(f"client {client_id!r} is locked; `hub clients unlock {client_id}` releases it")
    if client.status == ClientStatus.ACTIVE:
        raise RegistryError(f"client {client_id!r} is already enabled")
    client.status = ClientStatus.ACTIVE
    await _changed(session, client, "client.enabled")
    return client


async def unlock(session: AsyncSession, client_id: str) -> Client:
    client = await get_client(session, client_id)
    if client.status != ClientStatus.LOCKED:
        raise RegistryError(f"client {client_id!r} is not locked (it is {client.status})")
    await session.execute(delete(AuthFailure).where(AuthFailure.client_pk == client.id))
    client.status = ClientStatus.ACTIVE
    client.locked_at = None
    client.failed_attempts = 0
    await _changed(session, client, "client.unlocked")
    return client


# --- lockout --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lockout:
    threshold: int = 5
    window: timedelta = timedelta(minutes=15)


async def record_failure(
    session: AsyncSession,
    client: Client | None,
    *,
    attempted: str | None,
    reason: str,
    lockout: Lockout,
    request_id: str | None = None,
) -> bool:
    """Count a failed authentication; lock the client at the threshold. True when this locked it."""
    now = datetime.now(UTC)
    await record_event(
        session,
        kind="auth.failed",
        outcome="denied",
        request_id=request_id,
        partner_id=client.partner_id if client else None,
        client_id=client.client_id if client else None,
        detail={"reason": reason} if client else {"reason": reason, "attempted_client_id": attempted},
    )
    if client is None:
        return False
    session.add(AuthFailure(client_pk=client.id, at=now))
    await session.flush()
    recent = await session.scalar(
        select(func.count())
        .select_from(AuthFailure)
        .where(AuthFailure.client_pk == client.id, AuthFailure.at > now - lockout.window)
    )
    client.failed_attempts = int(recent or 0)
    if client.status != ClientStatus.ACTIVE or client.failed_attempts < lockout.threshold:
        await session.flush()
        return False
    client.status = ClientStatus.LOCKED
    client.locked_at = now
    await _changed(session, client, "client.locked", failures=client.failed_attempts)
    return True
