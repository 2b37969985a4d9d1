"""The registry's administration through the API: the admin mutations on partners and clients, what
they write, who may call them, retries and refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience, Client, Partner, PersistedOperation
from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.factories.partners import make_client, make_partner

PARTNER = "errors { code field message } replayed partner { id name audience active contactEmail }"
CLIENT = (
    "errors { code field message } replayed client { clientId name status scopes persistedOnly partnerId }"
)

ADD_PARTNER = f"""
mutation ($input: AddPartnerInput!, $key: String) {{ addPartner(input: $input, idempotencyKey: $key) {{ {PARTNER} }} }}"""
RENAME_PARTNER = f"""
mutation ($input: RenamePartnerInput!, $key: String) {{ renamePartner(input: $input, idempotencyKey: $key) {{ {PARTNER} }} }}"""
DISABLE_PARTNER = f"""
mutation ($input: PartnerAccessInput!, $key: String) {{ disablePartner(input: $input, idempotencyKey: $key) {{ {PARTNER} }} }}"""
ENABLE_PARTNER = f"""
mutation ($input: PartnerAccessInput!, $key: String) {{ enablePartner(input: $input, idempotencyKey: $key) {{ {PARTNER} }} }}"""
ADD_CLIENT = f"""
mutation ($input: AddClientInput!, $key: String) {{ addClient(input: $input, idempotencyKey: $key) {{ {CLIENT} secret }} }}"""
ROTATE = f"""
mutation ($input: ClientInput!, $key: String) {{ rotateClientSecret(input: $input, idempotencyKey: $key) {{ {CLIENT} secret }} }}"""
DISABLE_CLIENT = f"""
mutation ($input: ClientInput!, $key: String) {{ disableClient(input: $input, idempotencyKey: $key) {{ {CLIENT} }} }}"""
ENABLE_CLIENT = f"""
mutation ($input: ClientInput!, $key: String) {{ enableClient(input: $input, idempotencyKey: $key) {{ {CLIENT} }} }}"""
PERSISTED_ONLY = f"""
mutation ($input: SetClientPersistedOnlyInput!, $key: String) {{
  setClientPersistedOnly(input: $input, idempotencyKey: $key) {{ {CLIENT} }}
}}"""
REMOVE_CLIENT = """
mutation ($input: ClientInput!, $key: String) {
  removeClient(input: $input, idempotencyKey: $key) { errors { code field message } replayed clientId }
}"""

#: The registry's mutations: the admin audience alone calls them.
REGISTRY_MUTATIONS = (
    "addPartner",
    "renamePartner",
    "disablePartner",
    "enablePartner",
    "addClient",
    "rotateClientSecret",
    "disableClient",
    "enableClient",
    "removeClient",
    "setClientPersistedOnly",
    "unthrottleClient",
)


async def _run(gql: GraphQL, document: str, field: str, variables: dict[str, Any]) -> dict[str, Any]:
    body = (await gql(document, variables)).json()
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"][field]
    return payload


async def _token(client: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )


async def _events(session: AsyncSession, kind: str) -> list[AuditEvent]:
    return list(await session.scalars(select(AuditEvent).where(AuditEvent.kind == kind)))


async def test_admin_registers_a_partner_and_a_client_whose_secret_gets_a_token(
    gql: GraphQL, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    added = await _run(
        gql,
        ADD_PARTNER,
        "addPartner",
        {
            "input": {
                "name": "  Office of Rep.   Example ",
                "audience": "legislative",
                "contactEmail": "rep@example.org",
            }
        },
    )
    assert added["errors"] == []
    partner = added["partner"]
    assert partner["name"] == "Office of Rep. Example"
    assert (partner["audience"], partner["active"], partner["contactEmail"]) == (
        "legislative",
        True,
        "rep@example.org",
    )
    made = await _run(
        gql, ADD_CLIENT, "addClient", {"input": {"partnerId": partner["id"], "name": "Office app"}}
    )
    assert made["errors"] == []
    assert made["client"]["partnerId"] == partner["id"]
    assert made["client"]["status"] == "active"
    assert made["client"]["scopes"] == ["graphql"]
    secret = made["secret"]
    assert len(secret) >= 40
    token = await _token(client, made["client"]["clientId"], secret)
    assert token.status_code == 200, token.text
    # The store has its hash, never the secret; the ledger has the registry's events.
    row = await session.scalar(select(Client).where(Client.client_id == made["client"]["clientId"]))
    assert row is not None
    assert secret not in (row.secret_hash or "")
    assert await _events(session, "partner.added")
    assert await _events(session, "client.added")
    logged = await session.scalars(select(AuditEvent.variables).where(AuditEvent.operation_name.is_(None)))
    assert all(secret not in str(v) for v in logged)


async def test_a_retry_with_the_same_key_writes_once_and_shows_no_secret_again(
    gql: GraphQL, session: AsyncSession
) -> None:
    variables = {"input": {"name": "Retry Partner", "audience": "reentry"}, "key": "p-1"}
    first = await _run(gql, ADD_PARTNER, "addPartner", variables)
    again = await _run(gql, ADD_PARTNER, "addPartner", variables)
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["partner"] == first["partner"]
    names = list(await session.scalars(select(Partner.name).where(Partner.name == "Retry Partner")))
    assert names == ["Retry Partner"]
    # Without the key the same input is a second request: refused, the name is taken.
    twice = await _run(gql, ADD_PARTNER, "addPartner", {"input": variables["input"]})
    assert [(e["code"], e["field"]) for e in twice["errors"]] == [("CONFLICT", "name")]

    pid = first["partner"]["id"]
    made = {"input": {"partnerId": pid}, "key": "c-1"}
    one = await _run(gql, ADD_CLIENT, "addClient", made)
    two = await _run(gql, ADD_CLIENT, "addClient", made)
    assert one["secret"]
    assert two["secret"] is None
    assert two["replayed"] is True
    assert two["client"]["clientId"] == one["client"]["clientId"]
    count = await session.scalars(select(Client.id).join(Partner).where(Partner.name == "Retry Partner"))
    assert len(list(count)) == 1
    # The same key with other input is refused, not replayed.
    other = await _run(gql, ADD_CLIENT, "addClient", {"input": {"partnerId": pid, "name": "x"}, "key": "c-1"})
    assert [e["code"] for e in other["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]

    rotate = {"input": {"clientId": one["client"]["clientId"]}, "key": "r-1"}
    rotated = await _run(gql, ROTATE, "rotateClientSecret", rotate)
    replay = await _run(gql, ROTATE, "rotateClientSecret", rotate)
    assert rotated["secret"]
    assert rotated["secret"] != one["secret"]
    assert replay["replayed"] is True
    assert replay["secret"] is None
    assert len(await _events(session, "client.secret_rotated")) == 1


async def test_rename_suspend_and_restore_a_partner(
    gql: GraphQL, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    partner = await make_partner(session, Audience.REENTRY, name="Old Name")
    other = await make_partner(session, Audience.REENTRY, name="Taken Name")
    gid = to_global_id("Partner", partner.id)
    made = await _run(gql, ADD_CLIENT, "addClient", {"input": {"partnerId": gid}})
    renamed = await _run(gql, RENAME_PARTNER, "renamePartner", {"input": {"id": gid, "name": "New Name"}})
    assert renamed["partner"]["name"] == "New Name"
    taken = await _run(gql, RENAME_PARTNER, "renamePartner", {"input": {"id": gid, "name": other.name}})
    assert [(e["code"], e["field"]) for e in taken["errors"]] == [("CONFLICT", "name")]
    assert "already exists" in taken["errors"][0]["message"]
    assert taken["partner"] is None

    off = await _run(gql, DISABLE_PARTNER, "disablePartner", {"input": {"id": gid}, "key": "off"})
    assert off["partner"]["active"] is False
    refused = await _token(client, made["client"]["clientId"], made["secret"])
    assert refused.status_code in (400, 401), refused.text
    # Retried (with or without the key), suspending changes nothing more.
    assert (await _run(gql, DISABLE_PARTNER, "disablePartner", {"input": {"id": gid}, "key": "off"}))[
        "replayed"
    ]
    again = await _run(gql, DISABLE_PARTNER, "disablePartner", {"input": {"id": gid}})
    assert again["errors"] == []
    assert again["partner"]["active"] is False
    assert len(await _events(session, "partner.disabled")) == 1
    on = await _run(gql, ENABLE_PARTNER, "enablePartner", {"input": {"id": gid}})
    assert on["partner"]["active"] is True
    assert (await _token(client, made["client"]["clientId"], made["secret"])).status_code == 200


async def test_disable_enable_persisted_only_and_remove_a_client(
    gql: GraphQL, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    partner = await make_partner(session, Audience.RESEARCHER)
    made = await _run(
        gql, ADD_CLIENT, "addClient", {"input": {"partnerId": to_global_id("Partner", partner.id)}}
    )
    cid = made["client"]["clientId"]
    ref = {"input": {"clientId": cid}}
    off = await _run(gql, DISABLE_CLIENT, "disableClient", ref)
    assert off["client"]["status"] == "disabled"
    assert (await _token(client, cid, made["secret"])).status_code in (400, 401)
    assert (await _run(gql, DISABLE_CLIENT, "disableClient", ref))["errors"] == []
    on = await _run(gql, ENABLE_CLIENT, "enableClient", ref)
    assert on["client"]["status"] == "active"
    persisted = await _run(
        gql, PERSISTED_ONLY, "setClientPersistedOnly", {"input": {"clientId": cid, "persistedOnly": True}}
    )
    assert persisted["client"]["persistedOnly"] is True

    active = await _run(gql, REMOVE_CLIENT, "removeClient", ref)
    assert [(e["code"], e["field"]) for e in active["errors"]] == [("CONFLICT", "clientId")]
    assert "disable it first" in active["errors"][0]["message"]
    await _run(gql, DISABLE_CLIENT, "disableClient", ref)
    pk = await session.scalar(select(Client.id).where(Client.client_id == cid))
    session.add(PersistedOperation(client_pk=pk, sha256="a" * 64, document="{ __typename }"))
    await session.flush()
    removed = await _run(gql, REMOVE_CLIENT, "removeClient", {**ref, "key": "rm"})
    assert removed == {"errors": [], "replayed": False, "clientId": cid}
    assert (await _run(gql, REMOVE_CLIENT, "removeClient", {**ref, "key": "rm"}))["replayed"] is True
    assert await session.scalar(select(Client.id).where(Client.client_id == cid)) is None
    assert (
        await session.scalar(select(PersistedOperation.id).where(PersistedOperation.client_pk == pk)) is None
    )
    gone = await _run(gql, REMOVE_CLIENT, "removeClient", ref)
    assert [(e["code"], e["field"]) for e in gone["errors"]] == [("NOT_FOUND", "clientId")]
    assert (await _events(session, "client.removed"))[0].client_id == cid


@pytest.mark.parametrize(
    ("document", "field", "variables", "expected"),
    [
        (
            ADD_PARTNER,
            "addPartner",
            {"input": {"name": "   ", "audience": "legislative"}},
            ("INVALID", "name"),
        ),
        (ADD_PARTNER, "addPartner", {"input": {"name": "P", "audience": "press"}}, ("INVALID", "audience")),
        (
            ADD_PARTNER,
            "addPartner",
            {"input": {"name": "P", "audience": "reentry", "contactEmail": "not-an-address"}},
            ("INVALID", "contactEmail"),
        ),
        (
            ADD_CLIENT,
            "addClient",
            {"input": {"partnerId": to_global_id("Partner", 987_654)}},
            ("NOT_FOUND", "partnerId"),
        ),
        (ROTATE, "rotateClientSecret", {"input": {"clientId": "no-such-client"}}, ("NOT_FOUND", "clientId")),
        (
            DISABLE_CLIENT,
            "disableClient",
            {"input": {"clientId": "no-such-client"}},
            ("NOT_FOUND", "clientId"),
        ),
        (
            RENAME_PARTNER,
            "renamePartner",
            {"input": {"id": to_global_id("Partner", 987_654), "name": "X"}},
            ("NOT_FOUND", "id"),
        ),
    ],
)
async def test_bad_input_is_refused_with_a_code_and_the_field(
    gql: GraphQL, document: str, field: str, variables: dict[str, Any], expected: tuple[str, str]
) -> None:
    payload = await _run(gql, document, field, variables)
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [expected], payload
    assert payload["errors"][0]["message"]


async def test_client_input_rules(gql: GraphQL, session: AsyncSession) -> None:
    gid = to_global_id("Partner", (await make_partner(session)).id)
    for extra, field in (
        ({"scopes": ["bad scope\\"]}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"withSecret": False}, "withSecret"),
        ({"publicJwk": "{not json"}, "publicJwk"),
    ):
        payload = await _run(gql, ADD_CLIENT, "addClient", {"input": {"partnerId": gid, **extra}})
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID", field)], extra
        assert payload["secret"] is None


async def test_an_administrator_cannot_cut_off_their_own_sign_in(
    gql: GraphQL, partners: dict[Audience, Partner], partner_clients: dict[Audience, Client]
) -> None:
    own = partner_clients[Audience.ADMIN].client_id
    for document, field in ((DISABLE_CLIENT, "disableClient"), (REMOVE_CLIENT, "removeClient")):
        payload = await _run(gql, document, field, {"input": {"clientId": own}})
        assert [(e["code"], e["field"]) for e in payload["errors"]] == [("CONFLICT", "clientId")]
    gid = to_global_id("Partner", partners[Audience.ADMIN].id)
    payload = await _run(gql, DISABLE_PARTNER, "disablePartner", {"input": {"id": gid}})
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("CONFLICT", "id")]


@pytest.mark.parametrize("audience", [a for a in Audience if a is not Audience.ADMIN])
async def test_no_other_audience_may_call_the_registry_mutations(
    gql: GraphQL, session: AsyncSession, audience: Audience
) -> None:
    partner = await make_partner(session)
    target = await make_client(session, partner)
    gid = to_global_id("Partner", partner.id)
    ref = {"input": {"clientId": target.client_id}}
    calls = [
        (ADD_PARTNER, {"input": {"name": "Sneaky", "audience": "admin"}}),
        (RENAME_PARTNER, {"input": {"id": gid, "name": "Sneaky"}}),
        (DISABLE_PARTNER, {"input": {"id": gid}}),
        (ENABLE_PARTNER, {"input": {"id": gid}}),
        (ADD_CLIENT, {"input": {"partnerId": gid}}),
        (ROTATE, ref),
        (DISABLE_CLIENT, ref),
        (ENABLE_CLIENT, ref),
        (PERSISTED_ONLY, {"input": {"clientId": target.client_id, "persistedOnly": True}}),
        (REMOVE_CLIENT, ref),
        (UNTHROTTLE, ref),
        (THROTTLES, {"c": target.client_id}),
    ]
    for document, variables in calls:
        body = (await gql(document, variables, audience=audience)).json()
        # Not in that audience's schema: a validation error, and nothing ran.
        assert "data" not in body, body
        assert body["errors"]
    assert await session.scalar(select(Partner.id).where(Partner.name == "Sneaky")) is None
    await session.refresh(target)
    assert (target.status, target.persisted_only) == ("active", False)


def test_only_the_admin_schema_has_the_registry_mutations() -> None:
    from auth.policy_fields import MUTATIONS

    for name in REGISTRY_MUTATIONS:
        assert MUTATIONS[name][1] == frozenset({Audience.ADMIN}), name


THROTTLES = """
query ($c: String) { clientThrottles(clientId: $c) { clientId address failures lastFailureAt blockedUntil } }"""
UNTHROTTLE = """
mutation ($input: UnthrottleClientInput!, $key: String) {
  unthrottleClient(input: $input, idempotencyKey: $key) { errors { code field message } replayed countsRemoved }
}"""


async def test_admin_sees_and_forgets_a_clients_failed_authentications(
    gql: GraphQL, session: AsyncSession
) -> None:
    from datetime import UTC, datetime, timedelta

    from auth.throttle import address_key, client_key
    from resolvers.models.partners import AuthThrottle

    target = await make_client(session, await make_partner(session))
    now = datetime.now(UTC)
    for key, failures in (
        (client_key("10.0.0.9", target.client_id), 7),
        (client_key("10.0.0.10", target.client_id), 2),
        (address_key("10.0.0.9"), 9),
    ):
        session.add(
            AuthThrottle(
                key=key,
                failures=failures,
                reported=0,
                first_failure_at=now - timedelta(minutes=5),
                last_failure_at=now - timedelta(seconds=failures),
                blocked_until=now + timedelta(minutes=1) if failures > 5 else None,
            )
        )
    await session.flush()
    body = (await gql(THROTTLES, {"c": target.client_id})).json()
    assert "errors" not in body, body
    seen = body["data"]["clientThrottles"]
    assert [(t["address"], t["failures"], t["blockedUntil"] is not None) for t in seen] == [
        ("10.0.0.10", 2, False),
        ("10.0.0.9", 7, True),
    ]
    assert {t["clientId"] for t in seen} == {target.client_id}
    one = await _run(
        gql,
        UNTHROTTLE,
        "unthrottleClient",
        {"input": {"clientId": target.client_id, "address": "10.0.0.9"}, "key": "u1"},
    )
    assert (one["errors"], one["countsRemoved"]) == ([], 1)
    again = await _run(
        gql,
        UNTHROTTLE,
        "unthrottleClient",
        {"input": {"clientId": target.client_id, "address": "10.0.0.9"}, "key": "u1"},
    )
    assert (again["replayed"], again["countsRemoved"]) == (True, 1)
    rest = await _run(gql, UNTHROTTLE, "unthrottleClient", {"input": {"clientId": target.client_id}})
    assert rest["countsRemoved"] == 1
    assert (await gql(THROTTLES, {"c": target.client_id})).json()["data"]["clientThrottles"] == []
    # The address's own count is not the client's: it stays until the address is named.
    assert await session.scalar(
        select(AuthThrottle.failures).where(AuthThrottle.key == address_key("10.0.0.9"))
    )
    nothing = await _run(gql, UNTHROTTLE, "unthrottleClient", {"input": {}})
    assert [(e["code"], e["field"]) for e in nothing["errors"]] == [("INVALID", "clientId")]
    assert len(await _events(session, "auth.unthrottled")) == 2
