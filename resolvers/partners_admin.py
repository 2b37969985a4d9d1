"""Reads of the partner registry for the department's administrators: partners and their clients.

Secrets, their hashes and public keys never leave the store this way; the rows carry what an
administrator needs to recognise a partner or a client (name, audience, status, scopes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, select

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers.batching import many_per_key
from resolvers.models.partners import Client, Partner
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


async def list_partners(
    db: RequestDb,
    principal: Principal,
    audience: str | None,
    active: bool | None,
    first: int | None,
    after: str | None,
) -> Page[Row[Any]]:
    """Partners in registration order, within ``principal``'s row scope."""
    conditions = [row_scope(principal, Partner)]
    if audience is not None:
        conditions.append(Partner.audience == audience)
    if active is not None:
        conditions.append(Partner.active == active)
    stmt = select(*PARTNER_COLUMNS).where(*conditions)
    return await paginate(db, stmt, [Partner.__table__.c.id], first=first, after=after)


async def list_clients(
    db: RequestDb, principal: Principal, partner_id: int | None, first: int | None, after: str | None
) -> Page[Row[Any]]:
    """Clients in registration order (administrators only: clients have no wider row scope)."""
    conditions = [row_scope(principal, Client), row_scope(principal, Partner)]
    if partner_id is not None:
        conditions.append(Client.partner_id == partner_id)
    stmt = select(*CLIENT_COLUMNS).join(Partner, Partner.id == Client.partner_id).where(*conditions)
    return await paginate(db, stmt, [Client.__table__.c.id], first=first, after=after)


async def clients_by_partner(
    db: RequestDb, principal: Principal, keys: Sequence[int]
) -> list[list[Row[Any]]]:
    """Each partner's clients, one statement for the page."""
    if not keys:
        return []
    rows = await db.rows(
        select(*CLIENT_COLUMNS)
        .where(row_scope(principal, Client), Client.partner_id.in_(list(keys)))
        .order_by(Client.partner_id, Client.id)
    )
    return many_per_key(rows, "partner_id", keys)
