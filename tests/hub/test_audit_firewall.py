"""The victim firewall, walked through the disclosure ledger.

Whether victim services' requests touched a person is victim information: for every audience that can
read the ledger (victim services cannot), every ledger read must answer the same for a person with
registered victims as for one without, after victim services has looked both up the same ways.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLObjectType
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.ledger import EventFilter, _conditions
from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience, Partner
from schema.audiences import audience_schema
from schema.ids import to_global_id
from schema.root import build_schema
from tests.conftest import GraphQL
from tests.factories.people import make_inmate
from tests.factories.victims import make_registration, make_victim

FULL = build_schema()


def _ledger_readers() -> list[Audience]:
    readers = []
    for audience in Audience:
        query = audience_schema(FULL, audience).query_type
        assert isinstance(query, GraphQLObjectType)
        if "auditEvents" in query.fields or "whoSaw" in query.fields:
            readers.append(audience)
    return readers


READERS = _ledger_readers()

EVENT = """
  id occurredAt kind requestId correlationId sourceAddress clientId staffSubject audience partnerId
  operationName documentHash variables outcome authority detail prevHash hash
  disclosures { subjectKind subjectId fieldClasses }
"""
PAGE = "pageInfo { hasNextPage endCursor }"

#: Every read of the ledger that takes a person, each as (name, document, variables besides the person).
PERSON_READS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "auditEvents",
        f"query($p: ID, $after: String) {{ auditEvents(personId: $p, first: 2, after: $after) "
        f"{{ totalCount nodes {{ {EVENT} }} {PAGE} }} }}",
        {},
    ),
    (
        "auditEvents(kind, outcome)",
        f'query($p: ID) {{ auditEvents(personId: $p, kind: "graphql", outcome: SERVED, first: 100) '
        f"{{ totalCount nodes {{ {EVENT} }} {PAGE} }} }}",
        {},
    ),
    (
        "auditEvents(partnerId)",
        f"query($p: ID, $partner: ID) {{ auditEvents(personId: $p, partnerId: $partner, first: 100) "
        f"{{ totalCount nodes {{ {EVENT} }} }} }}",
        {"partner": "victim_services"},
    ),
    (
        "auditEvents(totalCount only)",
        "query($p: ID) { auditEvents(personId: $p) { totalCount } }",
        {},
    ),
    (
        "whoSaw",
        f"query($p: ID!, $after: String) {{ whoSaw(personId: $p, first: 1, after: $after) "
        f"{{ totalCount nodes {{ fieldClasses event {{ {EVENT} }} }} {PAGE} }} }}",
        {},
    ),
    (
        "whoSaw(partnerId)",
        f"query($p: ID!, $partner: ID) {{ whoSaw(personId: $p, partnerId: $partner, first: 100) "
        f"{{ totalCount nodes {{ fieldClasses event {{ {EVENT} }} }} }} }}",
        {"partner": "victim_services"},
    ),
]

#: Reads that take no person: victim services' events about either person must look alike in them.
GLOBAL_READS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "auditEvents",
        f'{{ auditEvents(kind: "graphql", first: 100) {{ totalCount nodes {{ {EVENT} }} }} }}',
        {},
    ),
    (
        "auditEvents(partnerId)",
        f"query($partner: ID) {{ auditEvents(partnerId: $partner, first: 100) {{ totalCount nodes {{ {EVENT} }} }} }}",
        {"partner": "victim_services"},
    ),
]

#: Per-event values that differ between any two events whoever they were about.
UNIQUE = {"id", "occurredAt", "requestId", "hash", "prevHash", "endCursor"}


def _victim_services_traffic(pid: str, pk: int) -> list[tuple[str, dict[str, Any] | None]]:
    """The ways victim services looks a person up; the operation names and an inlined id name the person."""
    registrations = "registrations { relationship person { firstName lastName } }"
    return [
        (
            f"query Victims{pk}($p: ID) {{ victims(personId: $p) {{ totalCount nodes {{ firstName {registrations} }} }} }}",
            {"p": pid},
        ),
        (
            "query($p: ID) { victimRegistrations(personId: $p) { totalCount nodes { relationship "
            "person { firstName } victim { lastName } } } }",
            {"p": pid},
        ),
        (f'{{ victimRegistrations(personId: "{pid}") {{ nodes {{ relationship }} }} }}', None),
        ("query($p: ID) { restitutionOrders(personId: $p) { totalCount } }", {"p": pid}),
        ("query($id: ID!) { person(id: $id) { firstName lastName } }", {"id": pid}),
    ]


def _normalize(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: ("<unique>" if k in UNIQUE else _normalize(v, names)) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalize(v, names) for v in value]
    if isinstance(value, str):
        for real, placeholder in names.items():
            value = value.replace(real, placeholder)
    return value


async def _read(
    gql: GraphQL, audience: Audience, document: str, variables: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every page of a read (following ``endCursor``)."""
    pages = []
    after = None
    while True:
        body = (
            await gql(document, {**variables, **({"after": after} if after else {})}, audience=audience)
        ).json()
        assert "errors" not in body, body
        pages.append(body["data"])
        info = next(iter(body["data"].values())).get("pageInfo")
        if not info or not info["hasNextPage"]:
            return pages
        after = info["endCursor"]


@pytest.mark.parametrize("reader", READERS, ids=lambda a: a.value)
async def test_no_ledger_read_tells_a_person_with_victims_from_one_without(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner], reader: Audience
) -> None:
    assert Audience.VICTIM_SERVICES not in READERS
    with_victims, _ = await make_inmate(session, first_name="Harold")
    without, _ = await make_inmate(session, first_name="Harold")
    victim = await make_victim(session, first_name="Bea")
    await make_registration(session, victim=victim, person=with_victims)
    p, q = (to_global_id("Person", x.id) for x in (with_victims, without))
    names = {p: "<subject>", q: "<subject>", str(with_victims.id): "<pk>", str(without.id): "<pk>"}

    # Someone else looks both up too, so the person filters have something to find.
    for pid in (p, q):
        shown = await gql(
            "query($id: ID!) { person(id: $id) { firstName } }",
            {"id": pid},
            audience=Audience.CONSTITUENT_SERVICES,
        )
        assert shown.json()["data"]["person"]["firstName"] == "Harold"
    # Victim services looks both up, the same ways, one after the other.
    for (doc_p, vars_p), (doc_q, vars_q) in zip(
        _victim_services_traffic(p, with_victims.id), _victim_services_traffic(q, without.id), strict=True
    ):
        for doc, variables in ((doc_p, vars_p), (doc_q, vars_q)):
            body = (await gql(doc, variables, audience=Audience.VICTIM_SERVICES)).json()
            assert "errors" not in body, body
    victims_seen = (
        await gql(
            "query($p: ID) { victims(personId: $p) { totalCount } }",
            {"p": p},
            audience=Audience.VICTIM_SERVICES,
        )
    ).json()
    assert victims_seen["data"]["victims"]["totalCount"] == 1  # the traffic did find victims for one of them

    partner_ids = {"victim_services": to_global_id("Partner", partners[Audience.VICTIM_SERVICES].id)}

    def bind(variables: dict[str, Any]) -> dict[str, Any]:
        return {k: partner_ids.get(v, v) if isinstance(v, str) else v for k, v in variables.items()}

    differ = []
    for name, document, variables in PERSON_READS:
        about_p = await _read(gql, reader, document, {**bind(variables), "p": p})
        about_q = await _read(gql, reader, document, {**bind(variables), "p": q})
        if _normalize(about_p, names) != _normalize(about_q, names):
            differ.append(f"{name}: {about_p} != {about_q}")
    assert differ == []

    for name, document, variables in GLOBAL_READS:
        [page] = await _read(gql, reader, document, bind(variables))
        nodes = [
            n
            for n in page["auditEvents"]["nodes"]
            if n["audience"] == "victim_services" and n["kind"] == "graphql"
        ]
        # Victim services' requests came in pairs (about P, then about Q), plus the final check.
        assert len(nodes) == 2 * len(_victim_services_traffic(p, 0)) + 1, name
        for about_p, about_q in zip(nodes[0:-1:2], nodes[1:-1:2], strict=True):
            assert _normalize(about_p, {}) == _normalize(about_q, {}), (name, about_p, about_q)
        for node in nodes:
            assert p not in str(node), (name, node)
            assert q not in str(node), (name, node)


async def test_a_person_filter_never_reads_a_sealed_disclosure(
    session: AsyncSession, is_postgres: bool
) -> None:
    """The count behind ``auditEvents(personId:)`` goes through the index that holds no sealed row,
    so its cost does not depend on what victim services looked up either."""
    from auth.principal import Principal

    admin = Principal(audience=Audience.ADMIN, partner_id=None, client_id="auditor", scopes=frozenset())
    stmt = select(AuditEvent.id).where(*_conditions(admin, EventFilter(subject=("person", 1))))
    compiled = stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    if is_postgres:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(r[0] for r in await session.execute(text(f"EXPLAIN {compiled}")))
    else:
        plan = "\n".join(str(r[-1]) for r in await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    assert "ix_audit_disclosures_open_subject" in plan, plan
