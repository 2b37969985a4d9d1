"""A ``__typename``-only selection on a person tells the caller the record exists and is in its scope:
the ledger records it (class ``structure``), so "who looked up person X" is complete."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.ledger import AuditDisclosure, AuditEvent
from resolvers.models.partners import Audience
from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.factories.people import make_inmate


async def _disclosed(session: AsyncSession, audience: str) -> list[set[tuple[str, int, tuple[str, ...]]]]:
    events = await session.scalars(
        select(AuditEvent.id)
        .where(AuditEvent.audience == audience, AuditEvent.kind == "graphql")
        .order_by(AuditEvent.id)
    )
    out = []
    for event_id in events:
        rows = await session.execute(
            select(
                AuditDisclosure.subject_kind, AuditDisclosure.subject_id, AuditDisclosure.field_classes
            ).where(AuditDisclosure.event_id == event_id)
        )
        out.append({(kind, pk, tuple(classes)) for kind, pk, classes in rows})
    return out


async def test_a_typename_only_look_up_is_recorded_and_found_by_who_saw(
    gql: GraphQL, session: AsyncSession
) -> None:
    person, _ = await make_inmate(session)
    pid = to_global_id("Person", person.id)
    documents = [
        "query($id: ID!) { person(id: $id) { __typename } }",
        "query($id: ID!) { person(id: $id) { ...T } } fragment T on Person { __typename }",
        "query($id: ID!) { person(id: $id) { ... on Person { __typename } } }",
        "query($id: ID!) { person(id: $id) { __typename firstName } }",
        "query($id: ID!) { person(id: $id) { firstName } }",
    ]
    for document in documents:
        body = (await gql(document, {"id": pid}, audience=Audience.CONSTITUENT_SERVICES)).json()
        assert body["data"]["person"], body
    assert await _disclosed(session, "constituent_services") == [
        {("person", person.id, ("structure",))},
        {("person", person.id, ("structure",))},
        {("person", person.id, ("structure",))},
        {("person", person.id, ("public_person", "structure"))},
        {("person", person.id, ("public_person",))},
    ]

    seen = (
        await gql(
            "query($id: ID!) { whoSaw(personId: $id) { totalCount nodes { fieldClasses } } }",
            {"id": pid},
            audience=Audience.ADMIN,
        )
    ).json()
    assert seen["data"]["whoSaw"]["totalCount"] == 5, seen
    assert seen["data"]["whoSaw"]["nodes"][0] == {"fieldClasses": ["structure"]}


async def test_a_list_of_typenames_records_every_person_in_it(gql: GraphQL, session: AsyncSession) -> None:
    first, _ = await make_inmate(session)
    second, _ = await make_inmate(session)
    body = (
        await gql("{ people(first: 100) { nodes { __typename } } }", audience=Audience.CONSTITUENT_SERVICES)
    ).json()
    assert len(body["data"]["people"]["nodes"]) >= 2, body
    [recorded] = await _disclosed(session, "constituent_services")
    assert {("person", first.id, ("structure",)), ("person", second.id, ("structure",))} <= recorded
    assert {classes for _, _, classes in recorded} == {("structure",)}


async def test_a_count_alone_records_no_one(gql: GraphQL, session: AsyncSession) -> None:
    await make_inmate(session)
    body = (await gql("{ people { totalCount __typename } }", audience=Audience.CONSTITUENT_SERVICES)).json()
    assert body["data"]["people"]["totalCount"] >= 1
    assert await _disclosed(session, "constituent_services") == [set()]
