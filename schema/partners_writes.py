"""The mutations that administer the partner registry: partners, clients and their secrets,
persisted operations, throttles. Admin only; the CLI calls the same functions
(``resolvers/partners_writes.py``). A new client secret is in the one answer that makes it."""

from __future__ import annotations

import strawberry

from auth.persisted import sha256_of
from resolvers import partners as data
from resolvers import partners_writes
from resolvers.errors import InvalidInput
from resolvers.models.partners import Audience
from schema.context import Info
from schema.fields import classified, mutation
from schema.ids import from_global_id
from schema.mutations import IdempotencyKey, Outcome, Payload, Refs, run_mutation
from schema.partners import L, Partner, PartnerClient

ADMIN = (Audience.ADMIN,)


@strawberry.input(description="A partner to register.")
class AddPartnerInput:
    name: str = strawberry.field(description="Unique in the registry, up to 160 characters.")
    audience: str = strawberry.field(
        description="What its clients' tokens may see: " + ", ".join(a.value for a in Audience) + "."
    )
    contact_email: str | None = strawberry.field(
        default=None, description="Whom the department writes to about its access."
    )
    district: str | None = strawberry.field(
        default=None,
        description="Legislative offices: the district; reentry partners: the counties served (up to 60).",
    )


@strawberry.input(description="A partner's new name.")
class RenamePartnerInput:
    id: strawberry.ID
    name: str = strawberry.field(description="Unique in the registry, up to 160 characters.")


@strawberry.input(description="The partner whose access changes.")
class PartnerAccessInput:
    id: strawberry.ID


@strawberry.input(description="A client to register for a partner.")
class AddClientInput:
    partner_id: strawberry.ID
    name: str | None = strawberry.field(
        default=None, description="What the department calls it (default: the partner's name + client)."
    )
    scopes: list[str] = strawberry.field(
        default_factory=lambda: ["graphql"], description="The scopes its tokens may carry."
    )
    public_jwk: str | None = strawberry.field(
        default=None, description="A public JWK (JSON) for private_key_jwt authentication."
    )
    with_secret: bool = strawberry.field(
        default=True, description="Issue a client secret (false only for a client with publicJwk)."
    )
    persisted_only: bool = strawberry.field(
        default=False, description="Run only its registered (persisted) operations from the start."
    )


@strawberry.input(description="The client to act on.")
class ClientInput:
    client_id: str = strawberry.field(description="The client id it authenticates with.")


@strawberry.input(description="Whether a client may run only its registered operations.")
class SetClientPersistedOnlyInput:
    client_id: str
    persisted_only: bool


@strawberry.input(description="Whose failed authentications to forget: a client id, an address, or both.")
class UnthrottleClientInput:
    client_id: str | None = strawberry.field(default=None, description="From every address, unless address.")
    address: str | None = strawberry.field(default=None, description="The source address.")


@strawberry.input(description="A document to register as one of a client's persisted operations.")
class RegisterPersistedOperationInput:
    client_id: str = strawberry.field(description="The client id it authenticates with.")
    document: str = strawberry.field(
        description="The document's exact text; it must be valid against the client's audience schema."
    )


@strawberry.input(description="One of a client's persisted operations to remove.")
class RemovePersistedOperationInput:
    client_id: str = strawberry.field(description="The client id it authenticates with.")
    id: str = strawberry.field(description="The operation's id: the sha256 of its document.")


@strawberry.type(description="The result of a write to a client's persisted operations.")
class PersistedOperationPayload(Payload):
    id: str | None = classified(L, "The operation's id (the sha256 of its document); null when refused.")
    client: PartnerClient | None = classified(L, "The client as it is now; null when refused.")


@strawberry.type(description="The result of forgetting failed authentications.")
class UnthrottlePayload(Payload):
    counts_removed: int | None = classified(L, "How many counts were forgotten; null when refused.")


@strawberry.type(description="The result of a write to a partner.")
class PartnerPayload(Payload):
    partner: Partner | None = classified(L, "The partner as it is now; null when refused.")


@strawberry.type(description="The result of a write to a client.")
class PartnerClientPayload(Payload):
    client: PartnerClient | None = classified(L, "The client as it is now; null when refused.")


@strawberry.type(description="The result of a write that issues a client secret.")
class ClientSecretPayload(Payload):
    client: PartnerClient | None = classified(L, "The client as it is now; null when refused.")
    secret: str | None = classified(
        L,
        "The new client secret, in this answer only: the hub keeps its hash. Null for a key-only "
        "client, when refused, and on a replay (rotate the secret to get a new one).",
    )


@strawberry.type(description="The result of removing a client.")
class RemoveClientPayload(Payload):
    client_id: str | None = classified(L, "The client id removed; null when refused.")


async def _partner_payload(info: Info, outcome: Outcome) -> PartnerPayload:
    partner = None
    if outcome.refs is not None:
        row = await data.partner_row(info.context.db, info.context.principal, outcome.refs["partner"])
        partner = None if row is None else Partner.from_row(row)
    return PartnerPayload(partner=partner, errors=outcome.errors, replayed=outcome.replayed)


async def client_by_id(info: Info, refs: Refs | None) -> PartnerClient | None:
    if refs is None:
        return None
    row = await data.client_row(info.context.db, info.context.principal, refs["client"])
    return None if row is None else PartnerClient.from_row(row)


async def _secret_payload(
    info: Info, outcome: Outcome, issued: list[partners_writes.IssuedSecret]
) -> ClientSecretPayload:
    """The client and its new secret: the secret only in the answer of the write that made it (never
    in a replay, never after an error)."""
    fresh = issued and not outcome.replayed and not outcome.errors
    return ClientSecretPayload(
        client=await client_by_id(info, outcome.refs),
        secret=issued[-1].secret if fresh else None,
        errors=outcome.errors,
        replayed=outcome.replayed,
    )


async def _partner_access(
    info: Info, input: PartnerAccessInput, idempotency_key: str | None, *, active: bool
) -> PartnerPayload:
    ctx = info.context

    async def write() -> Refs:
        pk = from_global_id("Partner", input.id, "id")
        return {"partner": (await partners_writes.set_partner_active(ctx.db, ctx.principal, pk, active)).pk}

    outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
    return await _partner_payload(info, outcome)


async def _client_status(
    info: Info, input: ClientInput, idempotency_key: str | None, *, enabled: bool
) -> PartnerClientPayload:
    ctx = info.context

    async def write() -> Refs:
        applied = await partners_writes.set_client_enabled(ctx.db, ctx.principal, input.client_id, enabled)
        return {"client": applied.pk}

    outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
    return PartnerClientPayload(
        client=await client_by_id(info, outcome.refs), errors=outcome.errors, replayed=outcome.replayed
    )


@strawberry.type
class Mutation:
    @mutation(L, "Register a partner (it has no client yet: addClient gives it one).", audiences=ADMIN)
    async def add_partner(
        self, info: Info, input: AddPartnerInput, idempotency_key: IdempotencyKey = None
    ) -> PartnerPayload:
        ctx = info.context

        async def write() -> Refs:
            new = partners_writes.NewPartner(
                name=input.name,
                audience=input.audience,
                contact_email=input.contact_email,
                district=input.district,
            )
            return {"partner": await partners_writes.add_partner(ctx.db, ctx.principal, new)}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _partner_payload(info, outcome)

    @mutation(L, "Rename a partner; its clients and their tokens are unchanged.", audiences=ADMIN)
    async def rename_partner(
        self, info: Info, input: RenamePartnerInput, idempotency_key: IdempotencyKey = None
    ) -> PartnerPayload:
        ctx = info.context

        async def write() -> Refs:
            pk = from_global_id("Partner", input.id, "id")
            return {
                "partner": (await partners_writes.rename_partner(ctx.db, ctx.principal, pk, input.name)).pk
            }

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _partner_payload(info, outcome)

    @mutation(
        L,
        "Suspend a partner's access: no client of it gets a token, and tokens already issued stop "
        "working within HUB_CLIENT_STATUS_CACHE_S. Suspending a suspended partner changes nothing.",
        audiences=ADMIN,
    )
    async def disable_partner(
        self, info: Info, input: PartnerAccessInput, idempotency_key: IdempotencyKey = None
    ) -> PartnerPayload:
        return await _partner_access(info, input, idempotency_key, active=False)

    @mutation(L, "Restore a suspended partner's access.", audiences=ADMIN)
    async def enable_partner(
        self, info: Info, input: PartnerAccessInput, idempotency_key: IdempotencyKey = None
    ) -> PartnerPayload:
        return await _partner_access(info, input, idempotency_key, active=True)

    @mutation(
        L,
        "Register a client for a partner. Its secret is in this answer only: store it at once.",
        audiences=ADMIN,
    )
    async def add_client(
        self, info: Info, input: AddClientInput, idempotency_key: IdempotencyKey = None
    ) -> ClientSecretPayload:
        ctx = info.context
        issued: list[partners_writes.IssuedSecret] = []

        async def write() -> Refs:
            new = partners_writes.NewClient(
                partner_id=from_global_id("Partner", input.partner_id, "partnerId"),
                name=input.name,
                scopes=tuple(input.scopes),
                public_jwk=input.public_jwk,
                with_secret=input.with_secret,
                persisted_only=input.persisted_only,
            )
            issued.append(await partners_writes.add_client(ctx.db, ctx.principal, new, pepper=ctx.pepper))
            return {"client": issued[-1].pk}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _secret_payload(info, outcome, issued)

    @mutation(
        L,
        "Issue a client a new secret, in this answer only; the old one stops authenticating at once "
        "(tokens already issued run out on their own).",
        audiences=ADMIN,
    )
    async def rotate_client_secret(
        self, info: Info, input: ClientInput, idempotency_key: IdempotencyKey = None
    ) -> ClientSecretPayload:
        ctx = info.context
        issued: list[partners_writes.IssuedSecret] = []

        async def write() -> Refs:
            issued.append(
                await partners_writes.rotate_client_secret(
                    ctx.db, ctx.principal, input.client_id, pepper=ctx.pepper
                )
            )
            return {"client": issued[-1].pk}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _secret_payload(info, outcome, issued)

    @mutation(
        L,
        "Disable a client: its token requests are refused and its tokens stop working within "
        "HUB_CLIENT_STATUS_CACHE_S. Disabling a disabled client changes nothing.",
        audiences=ADMIN,
    )
    async def disable_client(
        self, info: Info, input: ClientInput, idempotency_key: IdempotencyKey = None
    ) -> PartnerClientPayload:
        return await _client_status(info, input, idempotency_key, enabled=False)

    @mutation(L, "Enable a disabled client again.", audiences=ADMIN)
    async def enable_client(
        self, info: Info, input: ClientInput, idempotency_key: IdempotencyKey = None
    ) -> PartnerClientPayload:
        return await _client_status(info, input, idempotency_key, enabled=True)

    @mutation(
        L,
        "Let a client run only its registered (persisted) operations, or any operation again; in "
        "force within HUB_CLIENT_STATUS_CACHE_S.",
        audiences=ADMIN,
    )
    async def set_client_persisted_only(
        self, info: Info, input: SetClientPersistedOnlyInput, idempotency_key: IdempotencyKey = None
    ) -> PartnerClientPayload:
        ctx = info.context

        async def write() -> Refs:
            applied = await partners_writes.set_client_persisted_only(
                ctx.db, ctx.principal, input.client_id, input.persisted_only
            )
            return {"client": applied.pk}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return PartnerClientPayload(
            client=await client_by_id(info, outcome.refs), errors=outcome.errors, replayed=outcome.replayed
        )

    @mutation(
        L,
        "Remove a disabled client, with its persisted operations; the ledger keeps its history.",
        audiences=ADMIN,
    )
    async def remove_client(
        self, info: Info, input: ClientInput, idempotency_key: IdempotencyKey = None
    ) -> RemoveClientPayload:
        ctx = info.context

        async def write() -> Refs:
            return {"client": await partners_writes.remove_client(ctx.db, ctx.principal, input.client_id)}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return RemoveClientPayload(
            client_id=input.client_id.strip() if outcome.refs is not None else None,
            errors=outcome.errors,
            replayed=outcome.replayed,
        )

    @mutation(
        L,
        "Forget failed authentications of a client id (from every address, or one) or of an address, "
        "so it need not wait. Clients are never locked; this only ends the waits failures started.",
        audiences=ADMIN,
    )
    async def unthrottle_client(
        self, info: Info, input: UnthrottleClientInput, idempotency_key: IdempotencyKey = None
    ) -> UnthrottlePayload:
        ctx = info.context

        async def write() -> Refs:
            return {
                "removed": await partners_writes.unthrottle(
                    ctx.db, ctx.principal, input.client_id, input.address
                )
            }

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return UnthrottlePayload(
            counts_removed=None if outcome.refs is None else outcome.refs["removed"],
            errors=outcome.errors,
            replayed=outcome.replayed,
        )

    @mutation(
        L,
        "Register a document as one of a client's persisted operations (a persisted-only client runs "
        "only these). It must be valid against the client's audience schema; one it has already is "
        "left as it is.",
        audiences=ADMIN,
    )
    async def register_persisted_operation(
        self, info: Info, input: RegisterPersistedOperationInput, idempotency_key: IdempotencyKey = None
    ) -> PersistedOperationPayload:
        ctx = info.context
        sha = sha256_of(input.document)

        async def write() -> Refs:
            check = ctx.document_problem
            if check is None:
                raise InvalidInput("document", "cannot be checked by this server, so it is not registered")
            registered = await partners_writes.register_operations(
                ctx.db, ctx.principal, input.client_id, {sha: input.document}, check
            )
            return {"client": registered.pk}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return PersistedOperationPayload(
            id=sha if outcome.refs is not None else None,
            client=await client_by_id(info, outcome.refs),
            errors=outcome.errors,
            replayed=outcome.replayed,
        )

    @mutation(
        L,
        "Remove one of a client's persisted operations: a persisted-only client can no longer run it.",
        audiences=ADMIN,
    )
    async def remove_persisted_operation(
        self, info: Info, input: RemovePersistedOperationInput, idempotency_key: IdempotencyKey = None
    ) -> PersistedOperationPayload:
        ctx = info.context

        async def write() -> Refs:
            applied = await partners_writes.remove_operation(ctx.db, ctx.principal, input.client_id, input.id)
            return {"client": applied.pk}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return PersistedOperationPayload(
            id=input.id.strip().lower() if outcome.refs is not None else None,
            client=await client_by_id(info, outcome.refs),
            errors=outcome.errors,
            replayed=outcome.replayed,
        )
