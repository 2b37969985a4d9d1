"""A client's persisted operations through the API: the admin query and the register and remove
mutations (what ``hub clients operations`` does), who may call them, retries and refusals, and a
registered operation running for a persisted-only client."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience, Client, Partner, PersistedOperation
from tests.conftest import GraphQL, Mint
from tests.factories.partners import make_client

QUERY = "query Facilities { facilities(first: 2) { totalCount } }"
OTHER = "{ facilities(first: 3) { totalCount } }"

PAYLOAD = "errors { code field message } replayed id client { clientId persistedOnly }"
REGISTER = f"""
mutation ($input: RegisterPersistedOperationInput!, $key: String) {{
  registerPersistedOperation(input: $input, idempotencyKey: $key) {{ {PAYLOAD} }}
}}"""
REMOVE = f"""
mutation ($input: RemovePersistedOperationInput!, $key: String) {{
  removePersistedOperation(input: $input, idempotencyKey: $key) {{ {PAYLOAD} }}
}}"""
LIST = """
query ($c: String!) {
  persistedOperations(clientId: $c) { id document operationNames viaApq registeredAt lastUsedAt }
}"""


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def _run(gql: GraphQL, document: str, field: str, variables: dict[str, Any]) -> Any:
    body = (await gql(document, variables)).json()
    assert "errors" not in body, body
    return body["data"][field]


async def _stored(session: AsyncSession, client: Client) -> list[str]:
    rows = await session.scalars(
        select(PersistedOperation.sha256).where(PersistedOperation.client_pk == client.id)
    )
    return list(rows)


async def test_register_list_and_remove(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    target = await make_client(session, partners[Audience.LEGISLATIVE])
    cid = target.client_id
    payload = await _run(
        gql, REGISTER, "registerPersistedOperation", {"input": {"clientId": cid, "document": QUERY}}
    )
    assert payload == {
        "errors": [],
        "replayed": False,
        "id": sha(QUERY),
        "client": {"clientId": cid, "persistedOnly": False},
    }
    listed = await _run(gql, LIST, "persistedOperations", {"c": cid})
    assert [(op["id"], op["document"], op["operationNames"], op["viaApq"]) for op in listed] == [
        (sha(QUERY), QUERY, ["Facilities"], False)
    ]
    assert listed[0]["registeredAt"]
    assert listed[0]["lastUsedAt"]
    events = list(
        await session.scalars(select(AuditEvent).where(AuditEvent.kind == "client.operations_added"))
    )
    assert [e.client_id for e in events] == [cid]

    removed = await _run(
        gql, REMOVE, "removePersistedOperation", {"input": {"clientId": cid, "id": sha(QUERY)}}
    )
    assert (removed["errors"], removed["id"]) == ([], sha(QUERY))
    assert await _stored(session, target) == []
    assert await _run(gql, LIST, "persistedOperations", {"c": cid}) == []
    again = await _run(
        gql, REMOVE, "removePersistedOperation", {"input": {"clientId": cid, "id": sha(QUERY)}}
    )
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("NOT_FOUND", "id")]


async def test_a_retry_registers_once(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    target = await make_client(session, partners[Audience.LEGISLATIVE])
    variables = {"input": {"clientId": target.client_id, "document": QUERY}, "key": "reg-1"}
    first = await _run(gql, REGISTER, "registerPersistedOperation", variables)
    again = await _run(gql, REGISTER, "registerPersistedOperation", variables)
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["id"] == sha(QUERY)
    assert await _stored(session, target) == [sha(QUERY)]
    events = list(
        await session.scalars(
            select(AuditEvent).where(
                AuditEvent.kind == "client.operations_added", AuditEvent.client_id == target.client_id
            )
        )
    )
    assert len(events) == 1


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ("{ facilities(first: 2) { totalCount ", "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
        # Valid for the admin schema, not for the legislative client's own.
        ("{ partners { totalCount } }", "GRAPHQL_VALIDATION_FAILED"),
        ("   ", "must not be blank"),
    ],
)
async def test_a_bad_document_is_refused_with_the_problem(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner], document: str, problem: str
) -> None:
    target = await make_client(session, partners[Audience.LEGISLATIVE])
    payload = await _run(
        gql,
        REGISTER,
        "registerPersistedOperation",
        {"input": {"clientId": target.client_id, "document": document}},
    )
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("INVALID", "document")]
    assert problem in payload["errors"][0]["message"]
    assert (payload["id"], payload["client"]) == (None, None)
    assert await _stored(session, target) == []


async def test_an_unknown_client_is_not_found(gql: GraphQL) -> None:
    payload = await _run(
        gql, REGISTER, "registerPersistedOperation", {"input": {"clientId": "nobody", "document": QUERY}}
    )
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("NOT_FOUND", "clientId")]
    body = (await gql(LIST, {"c": "nobody"})).json()
    assert body["errors"]
    assert body["data"] is None


@pytest.mark.parametrize("audience", [a for a in Audience if a is not Audience.ADMIN])
async def test_no_other_audience_may_manage_persisted_operations(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner], audience: Audience
) -> None:
    target = await make_client(session, partners[Audience.LEGISLATIVE])
    cid = target.client_id
    for document, variables in (
        (REGISTER, {"input": {"clientId": cid, "document": QUERY}}),
        (REMOVE, {"input": {"clientId": cid, "id": sha(QUERY)}}),
        (LIST, {"c": cid}),
    ):
        body = (await gql(document, variables, audience=audience)).json()
        # Not in that audience's schema: a validation error, and nothing ran.
        assert "data" not in body, body
        assert body["errors"]
    assert await _stored(session, target) == []


def test_only_the_admin_schema_has_the_mutations() -> None:
    from auth.policy_fields import MUTATIONS

    for name in ("registerPersistedOperation", "removePersistedOperation"):
        assert MUTATIONS[name][1] == frozenset({Audience.ADMIN}), name


async def test_a_registered_operation_runs_for_a_persisted_only_client(
    gql: GraphQL,
    client: httpx.AsyncClient,
    mint: Mint,
    session: AsyncSession,
    partners: dict[Audience, Partner],
) -> None:
    partner = partners[Audience.LEGISLATIVE]
    target = await make_client(session, partner, persisted_only=True)
    token = await mint(client=target, partner=partner)

    async def send(**body: Any) -> httpx.Response:
        return await client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})

    before = await send(query=QUERY)
    assert before.status_code == 403
    assert before.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"

    payload = await _run(
        gql,
        REGISTER,
        "registerPersistedOperation",
        {"input": {"clientId": target.client_id, "document": QUERY}},
    )
    assert payload["errors"] == []
    by_hash = await send(extensions={"persistedQuery": {"version": 1, "sha256Hash": sha(QUERY)}})
    assert by_hash.status_code == 200, by_hash.text
    assert "errors" not in by_hash.json(), by_hash.text
    assert by_hash.json()["data"]["facilities"]["totalCount"] >= 0
    by_text = await send(query=QUERY)
    assert "errors" not in by_text.json(), by_text.text
    # Anything else stays refused.
    assert (await send(query=OTHER)).status_code == 403
