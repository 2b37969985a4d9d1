"""The partner registry for administrators: who the department's partners are and their clients,
and the mutations that administer them (``schema/partners_writes.py``).

The same rows ``hub partners list`` and ``hub clients list`` show, read and written through the API
so that the console (``hub/console``) and any admin front-end work under the policy and in the
ledger; the CLI calls the same functions (``resolvers/partners.py``, ``resolvers/partners_writes.py``). Everything here is of the
ledger class: the admin audience alone reads it and calls the mutations. A new client secret is in
the one answer that makes it (``addClient``, ``rotateClientSecret``) and nowhere else: a replay of
that mutation with its idempotency key answers ``secret: null``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from graphql import GraphQLError, OperationDefinitionNode, parse

from auth.classes import FieldClass
from resolvers import partners as data
from resolvers.partners import ClientView, OperationView, PartnerView
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
    def from_row(cls, row: ClientView) -> PartnerClient:
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
    def from_row(cls, row: PartnerView) -> Partner:
        return cls(
            pk=row.id,
            name=row.name,
            audience=row.audience,
            contact_email=row.contact_email,
            active=bool(row.active),
            created_at=row.created_at,
        )


@strawberry.type(
    description="Failed authentications counted against a client id from one source address: past a "
    "few, that client id waits there before it may try again (its tokens keep working)."
)
class ClientThrottle:
    client_id: str = classified(L, "The client id the failures named.")
    address: str = classified(L, "The source address they came from.")
    failures: int = classified(L, "Failures in the current count.")
    last_failure_at: datetime = classified(L, "The latest one.")
    blocked_until: datetime | None = classified(L, "Until when it must wait, if it must.")


def _operation_names(document: str) -> list[str]:
    try:
        parsed = parse(document)
    except GraphQLError:
        return []
    return [d.name.value for d in parsed.definitions if isinstance(d, OperationDefinitionNode) and d.name]


@strawberry.type(
    name="PersistedOperation",
    description="A document a client registered by its sha256: a persisted-only client runs these alone.",
)
class PersistedOperationEntry:
    id: str = classified(L, "The sha256 of the document (lowercase hex): the hash clients send.")
    document: str = classified(L, "The document's exact text.")
    operation_names: list[str] = classified(L, "The names of the operations it defines.")
    via_apq: bool = classified(
        L, "Registered by the client itself (automatic persisted queries), not by the department."
    )
    registered_at: datetime = classified(L, "When it was registered.")
    last_used_at: datetime = classified(
        L, "When it last ran, or was registered (written at most once a day)."
    )

    @classmethod
    def from_row(cls, row: OperationView) -> PersistedOperationEntry:
        return cls(
            id=row.sha256,
            document=row.document,
            operation_names=_operation_names(row.document),
            via_apq=bool(row.apq),
            registered_at=row.created_at,
            last_used_at=row.last_used_at,
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

    @resolves(L, "One client's persisted operations, oldest first.")
    async def persisted_operations(self, info: Info, client_id: str) -> list[PersistedOperationEntry]:
        rows = await data.persisted_operations(info.context.db, info.context.principal, client_id)
        return [PersistedOperationEntry.from_row(row) for row in rows]

    @resolves(L, "Failed authentications counted per client id and address, newest first (at most 200).")
    async def client_throttles(self, info: Info, client_id: str | None = None) -> list[ClientThrottle]:
        rows = await data.client_throttles(info.context.db, info.context.principal, client_id)
        return [ClientThrottle(**row) for row in rows]


# --- mutations ------------------------------------------------------------------------------------
