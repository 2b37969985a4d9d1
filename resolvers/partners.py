"""The partner registry for the department's administrators: reads of partners and their clients,
and the writes that administer them (the API's admin mutations and ``hub partners|clients`` call the
same functions).

Secret hashes and public keys never leave the store this way; the rows carry what an administrator
needs to recognise a partner or a client (name, audience, status, scopes). A new secret is returned
once, by the write that makes it, and never stored in clear.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import select

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers.batching import many_per_key
from resolvers.errors import NotFound
from resolvers.models.partners import (
    Audience,
    AuthThrottle,
    Client,
    Partner,
    PersistedOperation,
)
from resolvers.pagination import Page, paginate
from resolvers.session import RequestDb

PARTNER_COLUMNS: tuple[Any, ...] = (
    Partner.id,
    Partner.name,
    Partner.audience,
    Partner.contact_email,
    Partner.active,
    Partner.created_at,
)
CLIENT_COLUMNS: tuple[Any, ...] = (
    Client.id,
    Client.client_id,
    Client.partner_id,
    Client.name,
    Client.status,
    Client.scopes,
    Client.persisted_only,
    Client.created_at,
)


class PartnerView(NamedTuple):
    """A partner as the admin API shows it (``PARTNER_COLUMNS``)."""

    id: int
    name: str
    audience: str
    contact_email: str | None
    active: bool
    created_at: datetime


async def list_partners(
    db: RequestDb,
    principal: Principal,
    audience: str | None,
    active: bool | None,
    first: int | None,
    after: str | None,
) -> Page[PartnerView]:
    """Partners in registration order, within ``principal``'s row scope."""
    conditions = [row_scope(principal, Partner)]
    if audience is not None:
        conditions.append(Partner.audience == audience)
    if active is not None:
        conditions.append(Partner.active == active)
    stmt = select(*PARTNER_COLUMNS).where(*conditions)
    return await paginate(db, stmt, [Partner.__table__.c.id], row=PartnerView, first=first, after=after)


class ClientView(NamedTuple):
    """A client as the admin API shows it (``CLIENT_COLUMNS``: never its secret)."""

    id: int
    client_id: str
    partner_id: int
    name: str
    status: str
    scopes: str
    persisted_only: bool
    created_at: datetime


async def list_clients(
    db: RequestDb, principal: Principal, partner_id: int | None, first: int | None, after: str | None
) -> Page[ClientView]:
    """Clients in registration order (administrators only: clients have no wider row scope)."""
    conditions = [row_scope(principal, Client), row_scope(principal, Partner)]
    if partner_id is not None:
        conditions.append(Client.partner_id == partner_id)
    stmt = select(*CLIENT_COLUMNS).join(Partner, Partner.id == Client.partner_id).where(*conditions)
    return await paginate(db, stmt, [Client.__table__.c.id], row=ClientView, first=first, after=after)


async def clients_by_partner(
    db: RequestDb, principal: Principal, keys: Sequence[int]
) -> list[list[ClientView]]:
    """Each partner's clients, one statement for the page."""
    if not keys:
        return []
    rows = await db.rows_as(
        select(*CLIENT_COLUMNS)
        .where(row_scope(principal, Client), Client.partner_id.in_(list(keys)))
        .order_by(Client.partner_id, Client.id),
        ClientView,
    )
    return many_per_key(rows, "partner_id", keys)


T = TypeVar("T")


async def partner_row(db: RequestDb, principal: Principal, pk: int) -> PartnerView | None:
    """One partner as the reads show it (a mutation's payload)."""
    rows = await db.rows_as(
        select(*PARTNER_COLUMNS).where(row_scope(principal, Partner), Partner.id == pk), PartnerView
    )
    return rows[0] if rows else None


async def client_row(db: RequestDb, principal: Principal, pk: int) -> ClientView | None:
    """One client as the reads show it (a mutation's payload)."""
    rows = await db.rows_as(
        select(*CLIENT_COLUMNS)
        .join(Partner, Partner.id == Client.partner_id)
        .where(row_scope(principal, Client), row_scope(principal, Partner), Client.id == pk),
        ClientView,
    )
    return rows[0] if rows else None


# --- persisted operations: the documents a persisted-only client may run -----------------------------

#: Why a client's audience schema would refuse a document (None: it would run it).
DocumentCheck = Callable[[Audience, str], str | None]

OPERATION_COLUMNS: tuple[Any, ...] = (
    PersistedOperation.sha256,
    PersistedOperation.document,
    PersistedOperation.apq,
    PersistedOperation.created_at,
    PersistedOperation.last_used_at,
)


async def client_audience(db: RequestDb, client: Client) -> Audience:
    audience = await db.scalar(select(Partner.audience).where(Partner.id == client.partner_id))
    return Audience(audience)


class OperationView(NamedTuple):
    """A registered operation as the admin API lists it (``OPERATION_COLUMNS``)."""

    sha256: str
    document: str
    apq: bool
    created_at: datetime
    last_used_at: datetime


async def persisted_operations(db: RequestDb, principal: Principal, client_id: str) -> list[OperationView]:
    """A client's registered operations, oldest first (the department's and its own through APQ)."""
    client = await client_by_id(db, client_id)
    rows = await db.rows_as(
        select(*OPERATION_COLUMNS)
        .join(Client, Client.id == PersistedOperation.client_pk)
        .join(Partner, Partner.id == Client.partner_id)
        .where(row_scope(principal, Client), row_scope(principal, Partner), Client.id == client.id)
        .order_by(PersistedOperation.created_at, PersistedOperation.id),
        OperationView,
    )
    return rows


# --- failed authentications: the throttles counted against clients -----------------------------------


async def client_throttles(
    db: RequestDb, principal: Principal, client_id: str | None
) -> list[dict[str, Any]]:
    """The failure counts kept per (client id, source address), newest failure first: one client's,
    or every client's. Counts of addresses alone (whatever client ids they try) are not a client's."""
    stmt = select(
        AuthThrottle.key, AuthThrottle.failures, AuthThrottle.last_failure_at, AuthThrottle.blocked_until
    ).where(AuthThrottle.key.startswith("c "))
    if client_id is not None:
        stmt = stmt.where(AuthThrottle.key.endswith(f" {client_id.strip()}", autoescape=True))
    rows = await db.rows(stmt.order_by(AuthThrottle.last_failure_at.desc()).limit(200))
    found = []
    for row in rows:
        _, address, client = row.key.split(" ", 2)
        found.append(
            {
                "client_id": client,
                "address": address,
                "failures": row.failures,
                "last_failure_at": row.last_failure_at,
                "blocked_until": row.blocked_until,
            }
        )
    return found


async def client_by_id(db: RequestDb, client_id: str) -> Client:
    client = await db.scalar(select(Client).where(Client.client_id == client_id.strip()))
    if client is None:
        raise NotFound("client", "clientId")
    assert isinstance(client, Client)
    return client
