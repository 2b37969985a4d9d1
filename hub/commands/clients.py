"""``hub partners``, ``hub clients`` and ``hub keys``: the administration of partner identity.

Adding, renaming, suspending and restoring partners and adding, rotating, disabling, enabling and
removing clients call the same functions as the API's admin mutations (``resolvers/partners_writes.py``),
and listing, rotating and retiring signing keys those of ``signingKeys`` (``resolvers/signing_keys.py``, ``resolvers/signing_keys_writes.py``),
so the rules and the ledger's events are the same from either side. A new client secret is printed
once, here, and never again: the store keeps only its hash.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth import clients as registry
from auth import keys, persisted
from auth.rate_limits import set_client_limits
from hub.db import check_store, create_engine, session_factory
from hub.errors import HubError
from hub.settings import Settings
from resolvers import partners as admin
from resolvers import partners_writes, signing_keys_writes
from resolvers import signing_keys as signing
from resolvers.errors import Conflict, InvalidInput, NotFound
from resolvers.models.partners import Audience, Partner
from resolvers.session import RequestDb

Action = Callable[[AsyncSession, argparse.Namespace, Settings], Awaitable[None]]


def _run(action: Action) -> Callable[[argparse.Namespace, Settings], int]:
    """Run ``action`` in one transaction on a migrated store; registry errors become one line."""

    def handler(args: argparse.Namespace, settings: Settings) -> int:
        async def main() -> None:
            engine = create_engine(settings)
            try:
                await check_store(engine, settings)
                async with session_factory(engine)() as session:
                    await action(session, args, settings)
                    await session.commit()
            except (registry.RegistryError, InvalidInput, Conflict) as exc:
                raise HubError(str(exc)) from None
            except NotFound as exc:
                raise HubError(f"no such {exc.what}; `hub {exc.what}s list` shows them") from None
            finally:
                await engine.dispose()

        asyncio.run(main())
        return 0

    return handler


def key_policy(settings: Settings) -> keys.KeyPolicy:
    return keys.KeyPolicy(
        alg=settings.signing_alg,
        passphrase=settings.passphrase,
        token_ttl=timedelta(seconds=settings.token_ttl_s),
        cache_s=settings.key_cache_s,
        rotate_every=timedelta(days=settings.key_rotate_days),
    )


# --- partners -------------------------------------------------------------------------------------


async def partners_add(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    new = partners_writes.NewPartner(
        name=args.name, audience=args.audience, contact_email=args.email, district=args.district
    )
    pk = await partners_writes.add_partner(RequestDb(session), None, new)
    partner = await session.get(Partner, pk)
    assert partner is not None
    print(f"partner {partner.id} {partner.name!r} ({partner.audience}) added")


async def partners_rename(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    partner = await registry.find_partner(session, args.partner)
    old = partner.name
    applied = await partners_writes.rename_partner(RequestDb(session), None, partner.id, args.name)
    print(
        f"partner {partner.id} renamed from {old!r} to {partner.name!r}" if applied.changed else "unchanged"
    )


async def partners_disable(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    partner = await registry.find_partner(session, args.partner)
    applied = await partners_writes.set_partner_active(RequestDb(session), None, partner.id, False)
    if applied.changed:
        print(
            f"partner {partner.id} {partner.name!r} suspended: no client of it gets a token, and its "
            f"tokens stop working within {settings.client_status_cache_s:g} s"
        )
    else:
        print(f"partner {partner.id} {partner.name!r} is already suspended")


async def partners_enable(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    partner = await registry.find_partner(session, args.partner)
    applied = await partners_writes.set_partner_active(RequestDb(session), None, partner.id, True)
    state = "access restored" if applied.changed else "is already active"
    print(f"partner {partner.id} {partner.name!r} {state}")


async def partners_list(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    rows = await registry.list_partners(session)
    print(f"{'id':>5}  {'audience':<21} {'active':<6}  name")
    for partner in rows:
        print(
            f"{partner.id:>5}  {partner.audience:<21} {'yes' if partner.active else 'no':<6}  {partner.name}"
        )


# --- clients --------------------------------------------------------------------------------------


def _show_secret(client_id: str, secret: str | None) -> None:
    print(f"client_id:     {client_id}")
    if secret:
        print(f"client_secret: {secret}")
        print("The secret is shown only now; store it safely. `hub clients rotate-secret` issues a new one.")


async def clients_add(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    partner = await registry.find_partner(session, args.partner)
    public_jwk = None
    if args.public_key:
        try:
            public_jwk = await asyncio.to_thread(Path(args.public_key).read_text, encoding="utf-8")
        except OSError as exc:
            raise HubError(f"cannot read --public-key {args.public_key}: {exc.strerror}") from None
    if args.no_secret and public_jwk is None:
        raise HubError("a client without a secret needs a public key (--public-key)")
    new = partners_writes.NewClient(
        partner_id=partner.id,
        name=args.name,
        scopes=tuple(args.scopes.split()),
        public_jwk=public_jwk,
        with_secret=not args.no_secret,
    )
    issued = await partners_writes.add_client(
        RequestDb(session), None, new, pepper=settings.secret_pepper_key
    )
    print(f"client added for partner {partner.id} {partner.name!r} ({partner.audience})")
    _show_secret(issued.client_id, issued.secret)


async def clients_list(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    partner = await registry.find_partner(session, args.partner) if args.partner else None
    rows = await registry.list_clients(session, partner)
    print(f"{'client_id':<34} {'status':<9} {'auth':<11} {'audience':<21} partner")
    for client, owner in rows:
        methods = "+".join(
            name for name, present in (("secret", client.secret_hash), ("key", client.public_jwk)) if present
        )
        print(f"{client.client_id:<34} {client.status:<9} {methods:<11} {owner.audience:<21} {owner.name}")


async def clients_rotate(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    issued = await partners_writes.rotate_client_secret(
        RequestDb(session), None, args.client_id, pepper=settings.secret_pepper_key
    )
    print(
        "secret rotated; the old secret no longer authenticates (tokens already issued run out on their own)"
    )
    _show_secret(issued.client_id, issued.secret)


async def clients_disable(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    applied = await partners_writes.set_client_enabled(RequestDb(session), None, args.client_id, False)
    if not applied.changed:
        print(f"client {args.client_id} is already disabled")
        return
    print(
        f"client {args.client_id} disabled; its tokens stop working within {settings.client_status_cache_s:g} s"
    )


async def clients_enable(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    applied = await partners_writes.set_client_enabled(RequestDb(session), None, args.client_id, True)
    print(f"client {args.client_id} {'enabled' if applied.changed else 'is already enabled'}")


async def clients_remove(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    await partners_writes.remove_client(RequestDb(session), None, args.client_id)
    print(f"client {args.client_id} removed with its persisted operations; the ledger keeps its history")


async def clients_unthrottle(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    if args.client_id is None and args.address is None:
        raise HubError("name a client id, an --address, or both")
    if args.client_id is not None:
        await registry.get_client(session, args.client_id)
    removed = await partners_writes.unthrottle(RequestDb(session), None, args.client_id, args.address)
    target = " from ".join(part for part in (args.client_id, args.address) if part)
    print(
        f"failed authentications of {target} forgotten ({removed} count(s) removed); it may try again at once"
    )


async def clients_rehash(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    remaining = await registry.legacy_hashes(session, pepper=settings.secret_pepper_key)
    if not remaining:
        print("every client secret is stored as an HMAC under the current pepper; nothing to do")
        return
    if not args.rotate:
        print(
            f"{len(remaining)} client secret(s) are stored as argon2id or under an earlier pepper. A hash "
            "cannot be converted without the secret, which the hub does not keep: each is replaced at its "
            "client's next successful token request, or now with --rotate (new secrets, printed once)."
        )
        for client in remaining:
            print(f"  {client.client_id}")
        return
    for client in remaining:
        new = await registry.rotate_secret(session, client.client_id, pepper=settings.secret_pepper_key)
        _show_secret(new.client.client_id, new.secret)
    print(f"{len(remaining)} secret(s) rotated; the old secrets no longer authenticate")


# --- persisted operations and per-client limits ---------------------------------------------------


def _document_check(settings: Settings) -> admin.DocumentCheck:
    """Why a client's audience schema would refuse a document, within the limits (as the API checks it)."""
    from hub.app import limits_for
    from schema.audiences import audience_schemas
    from schema.execution import Executor, document_problem
    from schema.root import build_schema

    schemas = audience_schemas(build_schema())
    executors: dict[Audience, Executor] = {}

    def check(audience: Audience, document: str) -> str | None:
        if audience not in executors:
            executors[audience] = Executor(schemas[audience], limits_for(settings, audience))
        return document_problem(executors[audience], document)

    return check


def _validate_operations(audience: Audience, operations: dict[str, str], check: admin.DocumentCheck) -> None:
    """Every document must be valid against the client's own audience schema, within the limits; every
    problem is listed before anything is added."""
    problems = []
    for sha, document in operations.items():
        problem = check(audience, document)
        if problem is not None:
            problems.append(f"  {sha[:12]}…: {problem}")
    if problems:
        raise HubError(
            f"{len(problems)} operation(s) are not valid for the {audience} schema; nothing was added:\n"
            + "\n".join(problems[:20])
        )


async def operations_add(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    client = await registry.get_client(session, args.client_id)
    partner = await session.get(Partner, client.partner_id)
    assert partner is not None
    try:
        raw = await asyncio.to_thread(Path(args.manifest).read_bytes)
    except OSError as exc:
        raise HubError(f"cannot read the manifest {args.manifest}: {exc.strerror}") from None
    try:
        operations = persisted.parse_manifest(raw)
    except persisted.ManifestError as exc:
        raise HubError(f"{args.manifest}: {exc}") from None
    check = _document_check(settings)
    _validate_operations(Audience(partner.audience), operations, check)
    registered = await partners_writes.register_operations(
        RequestDb(session), None, client.client_id, operations, check
    )
    print(
        f"{registered.added} new operation(s) registered for {client.client_id} "
        f"({len(operations) - registered.added} already registered)"
    )


async def operations_remove(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    try:
        await partners_writes.remove_operation(RequestDb(session), None, args.client_id, args.sha256)
    except NotFound as exc:
        raise HubError(
            f"no such {exc.what}; `hub clients operations list {args.client_id}` shows them"
        ) from None
    print(f"operation {args.sha256.strip().lower()} removed from {args.client_id}")


async def operations_list(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    client = await registry.get_client(session, args.client_id)
    rows = await persisted.list_operations(session, client.id)
    mode = "persisted-only" if client.persisted_only else "any operation"
    print(f"{client.client_id}: {len(rows)} registered operation(s); runs {mode}")
    for op in rows:
        first_line = " ".join(op.document.split())[:70]
        print(f"{op.sha256}  {op.created_at:%Y-%m-%d %H:%M}  {first_line}")


async def clients_persisted_only(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    on = args.state == "on"
    await partners_writes.set_client_persisted_only(RequestDb(session), None, args.client_id, on)
    client = await registry.get_client(session, args.client_id)
    if on:
        count = len(await persisted.list_operations(session, client.id))
        print(
            f"client {args.client_id} now runs only its {count} registered operation(s) "
            f"(within {settings.client_status_cache_s:g} s)"
        )
    else:
        print(f"client {args.client_id} may run any operation again")


def _limit(text: str) -> int | None:
    if text == "default":
        return None
    if not text.isdigit():
        raise argparse.ArgumentTypeError("a whole number (0: no limit) or `default`")
    return int(text)


async def clients_limits(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    client = await registry.get_client(session, args.client_id)
    requests = client.requests_per_minute if args.requests_per_minute is ... else args.requests_per_minute
    cost = client.cost_per_minute if args.cost_per_minute is ... else args.cost_per_minute
    await set_client_limits(session, client, requests, cost)

    def shown(value: int | None, default: int) -> str:
        value = default if value is None else value
        return "no limit" if value == 0 else f"{value:,}"

    print(
        f"client {args.client_id}: {shown(requests, settings.rate_requests_per_minute)} requests and "
        f"{shown(cost, settings.rate_cost_per_minute)} cost per minute"
    )


# --- keys -----------------------------------------------------------------------------------------


async def keys_rotate(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    rotated = await signing_keys_writes.rotate_key(RequestDb(session), None, key_policy(settings))
    print(f"new signing key {rotated.kid} ({rotated.alg})")
    for kid, until in rotated.retired:
        print(f"retired {kid}: verifies tokens until {until:%Y-%m-%d %H:%M:%S} UTC")


async def keys_retire(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    try:
        changed = await signing_keys_writes.retire_key(
            RequestDb(session), None, key_policy(settings), args.kid
        )
    except NotFound:
        raise HubError(f"no signing key {args.kid!r}; `hub keys list` shows them") from None
    print(f"retired {args.kid.strip()}: it verifies its tokens until they expire" if changed else "unchanged")


async def keys_list(session: AsyncSession, args: argparse.Namespace, settings: Settings) -> None:
    ring = await signing.key_ring(RequestDb(session), None, key_policy(settings))
    print(f"{'kid':<44} {'alg':<6} {'created (UTC)':<20} {'retired':<20} verifies until")
    for key in ring.keys:
        retired = (
            f"{key.retired_at:%Y-%m-%d %H:%M:%S}"
            if key.retired_at
            else "signing"
            if key.signing
            else "active"
        )
        until = f"{key.expires_at:%Y-%m-%d %H:%M:%S}" if key.expires_at else "-"
        print(f"{key.kid:<44} {key.alg:<6} {key.created_at:%Y-%m-%d %H:%M:%S}  {retired:<20} {until}")
    if ring.next_rotation_due is not None:
        print(
            f"next rotation due {ring.next_rotation_due:%Y-%m-%d %H:%M:%S} UTC "
            f"(every {ring.rotate_every_days} days, HUB_KEY_ROTATE_DAYS)"
        )


# --- parser ---------------------------------------------------------------------------------------


def _group(sub: Any, name: str, help_text: str) -> Any:
    parser = sub.add_parser(name, help=help_text)
    return parser.add_subparsers(dest=f"{name}_command", required=True, metavar="ACTION")


def register(sub: Any) -> None:
    partners = _group(sub, "partners", "register and list partners")
    p = partners.add_parser("add", help="register a partner")
    p.add_argument("--name", required=True, help="the partner's name (unique)")
    p.add_argument(
        "--audience",
        required=True,
        choices=[a.value for a in Audience],
        metavar="AUDIENCE",
        help="what the partner's tokens may see, one of: " + ", ".join(a.value for a in Audience),
    )
    p.add_argument("--email", help="contact e-mail")
    p.add_argument("--district", help="legislative district or counties served")
    p.set_defaults(handler=_run(partners_add))
    p = partners.add_parser("list", help="list partners")
    p.set_defaults(handler=_run(partners_list))
    p = partners.add_parser("rename", help="give a partner another name (unique)")
    p.add_argument("partner", help="partner id or exact name")
    p.add_argument("--name", required=True, help="the new name")
    p.set_defaults(handler=_run(partners_rename))
    for action, function, text in (
        ("disable", partners_disable, "suspend a partner: no client of it gets a token"),
        ("enable", partners_enable, "restore a suspended partner's access"),
    ):
        p = partners.add_parser(action, help=text)
        p.add_argument("partner", help="partner id or exact name")
        p.set_defaults(handler=_run(function))

    clients = _group(sub, "clients", "manage partner clients and their credentials")
    p = clients.add_parser("add", help="add a client to a partner; prints its secret once")
    p.add_argument("--partner", required=True, help="partner id or exact name")
    p.add_argument("--name", help="a label for the client")
    p.add_argument("--scopes", default=registry.DEFAULT_SCOPES, help="space-separated allowed scopes")
    p.add_argument("--public-key", metavar="JWK_FILE", help="public JWK for private_key_jwt authentication")
    p.add_argument("--no-secret", action="store_true", help="key-only client (needs --public-key)")
    p.set_defaults(handler=_run(clients_add))
    p = clients.add_parser("list", help="list clients")
    p.add_argument("--partner", help="only this partner's clients (id or name)")
    p.set_defaults(handler=_run(clients_list))
    for action, function, text, aliases in (
        (
            "rotate-secret",
            clients_rotate,
            "issue a new secret (printed once); the old one stops at once",
            ["rotate"],
        ),
        ("disable", clients_disable, "refuse the client's tokens and token requests", []),
        ("enable", clients_enable, "enable a disabled client", []),
        ("remove", clients_remove, "delete a disabled client (the ledger keeps its history)", []),
    ):
        p = clients.add_parser(action, help=text, aliases=aliases)
        p.add_argument("client_id")
        p.set_defaults(handler=_run(function))
    p = clients.add_parser(
        "unthrottle",
        help="forget failed authentications of a client id and/or an address, so it need not wait",
    )
    p.add_argument("client_id", nargs="?", help="the client id (from every address unless --address)")
    p.add_argument("--address", help="the source address")
    p.set_defaults(handler=_run(clients_unthrottle))
    p = clients.add_parser(
        "rehash",
        help="count secrets still stored as argon2id (or under an old pepper); --rotate replaces them",
    )
    p.add_argument("--rotate", action="store_true", help="issue new secrets for them now (printed once)")
    p.set_defaults(handler=_run(clients_rehash))
    p = clients.add_parser(
        "persisted-only", help="run only the client's registered operations (on) or any (off)"
    )
    p.add_argument("client_id")
    p.add_argument("state", choices=["on", "off"])
    p.set_defaults(handler=_run(clients_persisted_only))
    p = clients.add_parser("limits", help="set a client's own rate limits (default: HUB_RATE_*)")
    p.add_argument("client_id")
    p.add_argument("--requests-per-minute", type=_limit, default=..., metavar="N|default")
    p.add_argument("--cost-per-minute", type=_limit, default=..., metavar="N|default")
    p.set_defaults(handler=_run(clients_limits))
    operations = clients.add_parser("operations", help="a client's persisted operations")
    ops = operations.add_subparsers(dest="operations_command", required=True, metavar="ACTION")
    p = ops.add_parser("add", help="register the operations of a manifest (sha256 -> document)")
    p.add_argument("client_id")
    p.add_argument("manifest", metavar="MANIFEST.json")
    p.set_defaults(handler=_run(operations_add))
    p = ops.add_parser("remove", help="remove one of a client's registered operations")
    p.add_argument("client_id")
    p.add_argument("sha256", help="the operation's sha256 (`hub clients operations list`)")
    p.set_defaults(handler=_run(operations_remove))
    p = ops.add_parser("list", help="list a client's registered operations")
    p.add_argument("client_id")
    p.set_defaults(handler=_run(operations_list))

    signing_keys = _group(sub, "keys", "token signing keys")
    p = signing_keys.add_parser(
        "rotate",
        help="add a signing key; the old one verifies until its tokens expire",
        description=(
            "Add a new signing key (HUB_SIGNING_ALG, encrypted with HUB_KEY_PASSPHRASE if set) that signs "
            "every token from now on. The previous key is retired: it keeps verifying the tokens it signed "
            "until they expire (HUB_TOKEN_TTL_S plus HUB_KEY_CACHE_S), then it is gone. Private keys never "
            "leave the store."
        ),
    )
    p.set_defaults(handler=_run(keys_rotate))
    p = signing_keys.add_parser(
        "retire",
        help="stop a key signing that is not the signing key; it verifies until its tokens expire",
    )
    p.add_argument("kid", help="the key id (`hub keys list`)")
    p.set_defaults(handler=_run(keys_retire))
    p = signing_keys.add_parser("list", help="list signing keys (public data only) and the next rotation due")
    p.set_defaults(handler=_run(keys_list))
