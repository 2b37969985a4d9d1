"""The partner registry's writes: the registry's administration, for the API's admin mutations and
``hub partners|clients`` (partners, clients, client secrets, persisted operations, throttles).

Each function validates its input into the typed errors of ``resolvers.errors`` (the mutations
answer them as MutationError codes, the CLI prints them) and writes through ``auth.clients``, whose
audit events are the registry's history. ``principal`` is the caller through the API, None at the
CLI (the operator at the store): it keeps a signed-in administrator from cutting off their own access.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select

from auth import clients as registry
from auth import persisted, throttle, tokens
from auth.audit import record_event
from auth.principal import Principal
from resolvers.errors import Conflict, InvalidInput, NotFound
from resolvers.models.partners import (
    Audience,
    Client,
    ClientStatus,
    Partner,
    PersistedOperation,
    RateWindow,
    RevokedToken,
)
from resolvers.partners import DocumentCheck, client_audience, client_by_id
from resolvers.session import RequestDb
from resolvers.validation import optional_text

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, slots=True)
class NewPartner:
    name: str
    audience: str
    contact_email: str | None = None
    #: Legislative offices: the district; reentry partners: the counties served.
    district: str | None = None


@dataclass(frozen=True, slots=True)
class NewClient:
    partner_id: int
    name: str | None = None
    scopes: Sequence[str] = (registry.DEFAULT_SCOPES,)
    #: A public JWK (JSON) for private_key_jwt authentication.
    public_jwk: str | None = None
    with_secret: bool = True
    persisted_only: bool = False


@dataclass(frozen=True, slots=True)
class Applied:
    """What a write touched, and whether it changed anything (setting a state already set does not)."""

    pk: int
    changed: bool = True


@dataclass(frozen=True, slots=True)
class IssuedSecret:
    """A client and its new secret, in clear here and nowhere else (the store keeps its hash)."""

    pk: int
    client_id: str
    #: None for a client that authenticates with its key only.
    secret: str | None


def _partner_name(field: str, value: str) -> str:
    name = " ".join(value.split())
    if not name:
        raise InvalidInput(field, "must not be blank")
    if len(name) > 160:
        raise InvalidInput(field, f"must be at most 160 characters (got {len(name)})")
    return name


async def _name_free(db: RequestDb, name: str, other_than: int | None = None) -> None:
    stmt = select(Partner.id).where(Partner.name == name)
    if other_than is not None:
        stmt = stmt.where(Partner.id != other_than)
    if await db.scalar(stmt) is not None:
        raise Conflict("name", f"is taken: a partner named {name!r} already exists")


async def _partner(db: RequestDb, pk: int, field: str = "id") -> Partner:
    partner = await db.uncounted(lambda: db.session.get(Partner, pk))
    if partner is None:
        raise NotFound("partner", field)
    return partner


def _not_own_client(principal: Principal | None, client: Client, doing: str) -> None:
    if principal is not None and principal.client_id == client.client_id:
        raise Conflict("clientId", f"is the client of your own sign-in; {doing} it from another one")


async def add_partner(db: RequestDb, principal: Principal | None, new: NewPartner) -> int:
    """Register a partner; its name must be unique. Returns its key."""
    name = _partner_name("name", new.name)
    if new.audience not in set(Audience):
        raise InvalidInput("audience", f"must be one of {', '.join(Audience)} (got {new.audience!r})")
    email = optional_text("contactEmail", new.contact_email, max_length=254)
    if email is not None and not _EMAIL.match(email):
        raise InvalidInput("contactEmail", "must be an e-mail address (name@example.org)")
    district = optional_text("district", new.district, max_length=60)
    await _name_free(db, name)
    partner = await db.uncounted(
        lambda: registry.add_partner(
            db.session, name=name, audience=new.audience, contact_email=email, district=district
        ),
    )
    return int(partner.id)


async def rename_partner(db: RequestDb, principal: Principal | None, pk: int, name: str) -> Applied:
    """Give a partner another name (unique in the registry); its clients and tokens are unchanged."""
    name = _partner_name("name", name)
    partner = await _partner(db, pk)
    if partner.name == name:
        return Applied(pk, changed=False)
    await _name_free(db, name, other_than=pk)
    old = partner.name
    partner.name = name

    async def write() -> None:
        await db.session.flush()
        await record_event(
            db.session,
            kind="partner.renamed",
            partner_id=pk,
            audience=partner.audience,
            detail={"from": old, "to": name},
        )

    await db.uncounted(write)
    return Applied(pk)


async def set_partner_active(db: RequestDb, principal: Principal | None, pk: int, active: bool) -> Applied:
    """Suspend a partner (no client of it gets a token, and its tokens stop working within the client
    status cache) or restore its access."""
    partner = await _partner(db, pk)
    if partner.active == active:
        return Applied(pk, changed=False)
    if not active and principal is not None and principal.partner_id == pk:
        raise Conflict("id", "is the partner of your own sign-in; suspend it from another one")
    partner.active = active

    async def write() -> None:
        await db.session.flush()
        await record_event(
            db.session,
            kind="partner.enabled" if active else "partner.disabled",
            partner_id=pk,
            audience=partner.audience,
        )

    await db.uncounted(write)
    return Applied(pk)


async def add_client(
    db: RequestDb, principal: Principal | None, new: NewClient, *, pepper: bytes | None
) -> IssuedSecret:
    """Register a client of a partner, with a new secret (returned once) and/or a public key; the
    secret's hash is made with ``pepper`` (the app's ``HUB_SECRET_PEPPER``; None: the store's own)."""
    partner = await _partner(db, new.partner_id, "partnerId")
    name = optional_text("name", new.name, max_length=120)
    try:
        scopes = " ".join(registry.parse_scopes(" ".join(new.scopes)))
    except registry.RegistryError as exc:
        raise InvalidInput("scopes", str(exc)) from None
    if not scopes:
        raise InvalidInput("scopes", f"must name at least one scope ({registry.DEFAULT_SCOPES})")
    public_jwk = optional_text("publicJwk", new.public_jwk, max_length=8000)
    if public_jwk is not None:
        try:
            tokens.public_key(public_jwk)
        except ValueError as exc:
            raise InvalidInput("publicJwk", f"is not a usable public key: {exc}") from None
    if not new.with_secret and public_jwk is None:
        raise InvalidInput("withSecret", "may be false only for a client with a publicJwk")

    async def write() -> registry.NewClient:
        made = await registry.add_client(
            db.session,
            partner,
            name=name,
            scopes=scopes,
            public_jwk=public_jwk,
            with_secret=new.with_secret,
            pepper=pepper,
        )
        if new.persisted_only:
            await persisted.set_persisted_only(db.session, made.client, True)
        return made

    made = await db.uncounted(write)
    return IssuedSecret(int(made.client.id), made.client.client_id, made.secret)


async def rotate_client_secret(
    db: RequestDb, principal: Principal | None, client_id: str, *, pepper: bytes | None
) -> IssuedSecret:
    """A new secret replaces the client's old one at once (tokens already issued run out on their own);
    its hash is made with ``pepper`` as in ``add_client``."""
    client = await client_by_id(db, client_id)
    made = await db.uncounted(lambda: registry.rotate_secret(db.session, client.client_id, pepper=pepper))
    return IssuedSecret(int(made.client.id), made.client.client_id, made.secret)


async def set_client_enabled(
    db: RequestDb, principal: Principal | None, client_id: str, enabled: bool
) -> Applied:
    """Disable a client (its token requests and tokens are refused) or enable it again."""
    client = await client_by_id(db, client_id)
    wanted = ClientStatus.ACTIVE if enabled else ClientStatus.DISABLED
    if client.status == wanted:
        return Applied(int(client.id), changed=False)
    if not enabled:
        _not_own_client(principal, client, "disable")
    change = registry.enable if enabled else registry.disable
    await db.uncounted(lambda: change(db.session, client.client_id))
    return Applied(int(client.id))


async def set_client_persisted_only(
    db: RequestDb, principal: Principal | None, client_id: str, on: bool
) -> Applied:
    """Let a client run only its registered (persisted) operations, or any operation again."""
    client = await client_by_id(db, client_id)
    if client.persisted_only == on:
        return Applied(int(client.id), changed=False)
    await db.uncounted(lambda: persisted.set_persisted_only(db.session, client, on))
    return Applied(int(client.id))


async def remove_client(db: RequestDb, principal: Principal | None, client_id: str) -> int:
    """Delete a disabled client with its revocations, persisted operations and rate windows. The ledger
    keeps its history (events name clients by client id); an active client must be disabled first."""
    client = await client_by_id(db, client_id)
    _not_own_client(principal, client, "remove")
    if client.status != ClientStatus.DISABLED:
        raise Conflict("clientId", "is active; disable it first, then remove it")
    pk, partner_pk, public_id = int(client.id), client.partner_id, client.client_id

    async def write() -> None:
        for table in (RevokedToken, PersistedOperation, RateWindow):
            await db.session.execute(delete(table).where(table.client_pk == pk))
        await db.session.delete(client)
        await db.session.flush()
        await record_event(db.session, kind="client.removed", partner_id=partner_pk, client_id=public_id)

    await db.uncounted(write)
    return pk


@dataclass(frozen=True, slots=True)
class Registered:
    """What registering operations did: the client's key and how many of them were new."""

    pk: int
    added: int


async def register_operations(
    db: RequestDb,
    principal: Principal | None,
    client_id: str,
    operations: Mapping[str, str],
    check: DocumentCheck,
) -> Registered:
    """Register documents (``{sha256: document}``) for a client; each must be valid against its own
    audience's schema (``check``), or nothing is registered. Ones it has already are left as they are."""
    client = await client_by_id(db, client_id)
    if not operations:
        raise InvalidInput("document", "must not be blank")
    audience = await client_audience(db, client)
    for sha, document in operations.items():
        if not document.strip():
            raise InvalidInput("document", "must not be blank")
        if persisted.sha256_of(document) != sha:
            raise InvalidInput("document", f"{sha} is not the sha256 of its document")
        problem = check(audience, document)
        if problem is not None:
            raise InvalidInput("document", f"is not valid for the {audience} schema ({problem})")
    added = await db.uncounted(lambda: persisted.add_manifest(db.session, client, operations))
    return Registered(int(client.id), added)


async def remove_operation(
    db: RequestDb, principal: Principal | None, client_id: str, sha256: str
) -> Applied:
    """Remove one of a client's registered operations (a persisted-only client can no longer run it)."""
    client = await client_by_id(db, client_id)
    sha = sha256.strip().lower()
    pk, partner_pk, public_id = int(client.id), client.partner_id, client.client_id

    async def write() -> bool:
        rows = await db.session.execute(
            delete(PersistedOperation)
            .where(PersistedOperation.client_pk == pk, PersistedOperation.sha256 == sha)
            .returning(PersistedOperation.id)
        )
        if rows.first() is None:
            return False
        await record_event(
            db.session,
            kind="client.operation_removed",
            partner_id=partner_pk,
            client_id=public_id,
            detail={"sha256": sha},
        )
        return True

    if not await db.uncounted(write):
        raise NotFound("persisted operation", "id")
    return Applied(pk)


async def unthrottle(
    db: RequestDb, principal: Principal | None, client_id: str | None, address: str | None
) -> int:
    """Forget failed authentications of a client id (from every address, or from ``address``), or of
    an address alone, so it need not wait; the number of counts removed. Clients are never locked:
    this only ends the waits failures started."""
    address = optional_text("address", address, max_length=64)
    if client_id is None and address is None:
        raise InvalidInput("clientId", "or an address must be given")
    if client_id is not None:
        client_id = (await client_by_id(db, client_id)).client_id

    async def write() -> int:
        removed = await throttle.clear(db.session, address=address, client_id=client_id)
        await record_event(
            db.session,
            kind="auth.unthrottled",
            client_id=client_id,
            detail={"address": address, "counts_removed": removed},
        )
        return removed

    return await db.uncounted(write)
