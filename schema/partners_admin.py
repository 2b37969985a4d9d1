"""The partner registry for administrators: who the department's partners are and their clients.

The same rows ``hub partners list`` and ``hub clients list`` show, read through the API so that the
console (``hub/console``) and any admin front-end see them under the policy and in the ledger.
Everything here is of the ledger class: the admin audience alone reads it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from auth.classes import FieldClass
from resolvers import partners_admin as data
from schema.context import Info
from schema.fields import classified, resolves
from schema.ids import from_global_id, to_global_id
from schema.pagination import Connection, connection

L = FieldClass.LEDGER

PageSize = Annotated[int | None, strawberry.argument(description="Rows per page, at most 100 (default 20).")]
After = Annotated[str | None, strawberry.argument(description="`pageInfo.endCursor` of the previous page.")]


@strawberry.type(
    description="A partner's client: the credentials it requests tokens with (never its secret)."
)
class PartnerClient:
    pk: strawberry.Private[int]
    partner_pk: strawberry.Private[int]
    client_id: str = classified(L, "The client id it authenticates with.")
    name: str = classified(L, "What the department calls it.")
    status: str = classified(L, "active or disabled.")
    scopes: list[str] = classified(L, "The scopes its tokens may carry.")
    persisted_only: bool = classified(L, "Whether it may run only persisted operations.")
    created_at: datetime = classified(L, "When it was registered.")

    @resolves(L, "Global id of the partner it belongs to.")
    def partner_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Partner", self.partner_pk))

    @classmethod
    def from_row(cls, row: Any) -> PartnerClient:
        return cls(
            pk=row.id,
            partner_pk=row.partner_id,
            client_id=row.client_id,
            name=row.name,
            status=str(row.status),
            scopes=str(row.scopes or "").split(),
            persisted_only=bool(row.persisted_only),
            created_at=row.created_at,
        )


@strawberry.type(description="An organisation with an agreement, or a department unit's front-end.")
class Partner:
    pk: strawberry.Private[int]
    name: str = classified(L, "Its name, unique in the registry.")
    audience: str = classified(L, "The audience its clients act as (legislative, reentry, admin, ...).")
    contact_email: str | None = classified(L, "Whom the department writes to about its access.")
    active: bool = classified(L, "False while its access is suspended: no client of it gets a token.")
    created_at: datetime = classified(L, "When it was registered.")

    @resolves(L, "Opaque global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Partner", self.pk))

    @resolves(L, "Its clients, oldest first.")
    async def clients(self, info: Info) -> list[PartnerClient]:
        ctx = info.context
        (rows,) = await data.clients_by_partner(ctx.db, ctx.principal, [self.pk])
        return [PartnerClient.from_row(r) for r in rows]

    @classmethod
    def from_row(cls, row: Any) -> Partner:
        return cls(
            pk=row.id,
            name=row.name,
            audience=row.audience,
            contact_email=row.contact_email,
            active=bool(row.active),
            created_at=row.created_at,
        )


@strawberry.type
class Query:
    @resolves(L, "The partner registry, oldest first: by audience, or only active or suspended ones.")
    async def partners(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        audience: str | None = None,
        active: bool | None = None,
    ) -> Connection[Partner]:
        ctx = info.context
        page = await data.list_partners(ctx.db, ctx.principal, audience, active, first, after)
        return connection(page, Partner.from_row)

    @resolves(L, "Partners' clients, oldest first, or those of one partner.")
    async def clients(
        self, info: Info, first: PageSize = None, after: After = None, partner_id: strawberry.ID | None = None
    ) -> Connection[PartnerClient]:
        ctx = info.context
        partner = from_global_id("Partner", partner_id, "partnerId") if partner_id else None
        page = await data.list_clients(ctx.db, ctx.principal, partner, first, after)
        return connection(page, PartnerClient.from_row)
