"""One ledger event per /graphql request, through HTTP: what it records, "who saw X", every outcome,
redacted variables, and fail-closed when the event cannot be written."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

import auth.ledger_requests
from resolvers.models.inquiries import Inquiry
from resolvers.models.ledger import AuditDisclosure, AuditEvent
from resolvers.models.partners import Audience, Client, Partner
from schema.ids import to_global_id
from tests import docs
from tests.conftest import GraphQL
from tests.factories.people import make_inmate
from tests.factories.reentry import make_consent, make_referral
from tests.factories.victims import make_registration, make_victim

PERSON = "query Look($id: ID!) { person(id: $id) { firstName lastName identity { birthDate } } }"

WHO_SAW = """
query($id: ID!) {
  whoSaw(personId: $id) {
    totalCount
    nodes {
      fieldClasses
      event { occurredAt audience clientId partnerId outcome authority requestId operationName
              documentHash disclosures { subjectKind subjectId fieldClasses } }
    }
  }
}
"""


async def _events(session: AsyncSession, **where: Any) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.kind == "graphql").order_by(AuditEvent.id)
    for name, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, name) == value)
    return list(await session.scalars(stmt))


async def test_a_disclosure_is_found_by_who_saw_with_its_fields(
    gql: GraphQL,
    session: AsyncSession,
    partners: dict[Audience, Partner],
    partner_clients: dict[Audience, Client],
) -> None:
    person, _ = await make_inmate(session, first_name="Ada", last_name="Lovelace")
    pid = to_global_id("Person", person.id)
    shown = await gql(PERSON, {"id": pid}, audience=Audience.CONSTITUENT_SERVICES)
    assert shown.status_code == 200
    assert shown.json()["data"]["person"]["firstName"] == "Ada"
    request_id = shown.json()["extensions"]["requestId"]

    body = (await gql(WHO_SAW, {"id": pid}, audience=Audience.ADMIN)).json()
    assert "errors" not in body, body
    nodes = body["data"]["whoSaw"]["nodes"]
    assert len(nodes) == 1
    node = nodes[0]
    assert node["fieldClasses"] == ["identity", "public_person"]
    event = node["event"]
    assert event["audience"] == "constituent_services"
    assert event["clientId"] == partner_clients[Audience.CONSTITUENT_SERVICES].client_id
    assert event["partnerId"] == to_global_id("Partner", partners[Audience.CONSTITUENT_SERVICES].id)
    assert event["outcome"] == "served"
    assert event["requestId"] == request_id
    assert event["operationName"] == "Look"
    assert event["documentHash"] == hashlib.sha256(PERSON.encode()).hexdigest()
    assert event["disclosures"] == [
        {"subjectKind": "person", "subjectId": pid, "fieldClasses": ["identity", "public_person"]}
    ]


async def test_fields_that_resolve_nothing_are_not_recorded(gql: GraphQL, session: AsyncSession) -> None:
    person, _ = await make_inmate(session, birth_date=None)  # no identity row: identity resolves null
    await gql(PERSON, {"id": to_global_id("Person", person.id)}, audience=Audience.CONSTITUENT_SERVICES)
    [event] = await _events(session, audience="constituent_services")
    classes = await session.scalar(
        select(AuditDisclosure.field_classes).where(AuditDisclosure.event_id == event.id)
    )
    assert classes == ["public_person"]


async def test_a_reentry_partner_reads_under_its_consent(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    person, _ = await make_inmate(session)
    partner = partners[Audience.REENTRY]
    await make_referral(session, person, partner)
    consent = await make_consent(session, person, partner)
    body = (await gql("{ referrals { nodes { person { firstName } } } }", audience=Audience.REENTRY)).json()
    assert body["data"]["referrals"]["nodes"], body
    [event] = await _events(session, audience="reentry")
    assert event.authority == {"consents": [consent.id]}
    found = await session.scalars(select(AuditDisclosure).where(AuditDisclosure.event_id == event.id))
    assert {(d.subject_kind, d.subject_id) for d in found} == {("person", person.id)}


async def test_a_request_without_a_valid_token_is_recorded_as_denied(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Authorization": "Bearer not-a-token"}
    )
    assert response.status_code == 401
    request_id = response.json()["errors"][0]["extensions"]["requestId"]
    [event] = await _events(session, request_id=request_id)
    assert event.outcome == "denied"
    assert event.detail == {"status": 401, "code": "UNAUTHENTICATED"}


async def test_a_field_outside_the_audience_schema_is_recorded_as_invalid(
    gql: GraphQL, session: AsyncSession
) -> None:
    query = "{ victims { totalCount } }"
    response = await gql(query, audience=Audience.LEGISLATIVE)
    assert response.status_code == 200  # a request error (application/json): nothing ran
    assert "data" not in response.json()
    [event] = await _events(session, audience="legislative")
    assert event.outcome == "invalid"
    assert event.document_hash == hashlib.sha256(query.encode()).hexdigest()
    assert event.detail == {"status": 200, "code": "GRAPHQL_VALIDATION_FAILED"}


async def test_a_syntax_error_and_a_bad_body_are_recorded_as_invalid(
    gql: GraphQL, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    assert (await gql("{ person(", audience=Audience.ADMIN)).json()["errors"][0]["extensions"]["code"] == (
        "GRAPHQL_PARSE_FAILED"
    )
    token_response = await gql("{ __typename }", audience=Audience.ADMIN)
    assert token_response.status_code == 200
    events = await _events(session, audience="admin")
    assert [e.outcome for e in events] == ["invalid", "served"]
    assert events[0].detail == {"status": 200, "code": "GRAPHQL_PARSE_FAILED"}


async def test_variables_are_recorded_without_sensitive_values(gql: GraphQL, session: AsyncSession) -> None:
    person, _ = await make_inmate(session)
    mutation = """
    mutation($input: SubmitInquiryInput!) { submitInquiry(input: $input) { inquiry { id } errors { code } } }
    """
    variables = {
        "input": {
            "source": "FAMILY",
            "category": "MEDICAL",
            "channel": "PHONE",
            "requesterName": "Grace Hopper",
            "requesterPhone": "555-0100",
            "subjectPersonId": to_global_id("Person", person.id),
            "summary": "No appointment",
            "details": "Her son has had no medical appointment for weeks.",
        }
    }
    body = (await gql(mutation, variables, audience=Audience.CONSTITUENT_SERVICES)).json()
    assert body["data"]["submitInquiry"]["errors"] == [], body
    [event] = await _events(session, audience="constituent_services")
    recorded = event.variables
    assert recorded is not None
    assert recorded["input"] == {
        "source": "FAMILY",
        "category": "MEDICAL",
        "channel": "PHONE",
        "requesterName": "[redacted]",
        "requesterPhone": "[redacted]",
        "subjectPersonId": to_global_id("Person", person.id),
        "summary": "[redacted]",
        "details": "[redacted]",
    }


def _break_the_ledger(monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(*args: Any, **kwargs: Any) -> None:
        raise OSError("ledger disk full")

    monkeypatch.setattr(auth.ledger_requests, "record_event", refuse)


async def test_when_the_ledger_cannot_be_written_no_data_is_served(
    gql: GraphQL, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    person, _ = await make_inmate(session, first_name="Ada")
    _break_the_ledger(monkeypatch)
    response = await gql(
        PERSON, {"id": to_global_id("Person", person.id)}, audience=Audience.CONSTITUENT_SERVICES
    )
    assert response.status_code == 503
    body = response.json()
    assert "data" not in body
    assert "Ada" not in response.text
    [error] = body["errors"]
    assert error["extensions"]["code"] == "LEDGER_UNAVAILABLE"
    assert error["extensions"]["requestId"] == response.headers["x-request-id"]


async def test_when_the_ledger_cannot_be_written_a_mutation_commits_nothing(
    gql: GraphQL, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = await session.scalar(select(func.count()).select_from(Inquiry))
    _break_the_ledger(monkeypatch)
    mutation = """
    mutation($input: SubmitInquiryInput!) { submitInquiry(input: $input) { inquiry { id } errors { code } } }
    """
    variables = {
        "input": {
            "source": "PUBLIC",
            "category": "OTHER",
            "channel": "EMAIL",
            "requesterName": "Someone",
            "summary": "A question",
            "details": "Details of the question.",
        }
    }
    response = await gql(mutation, variables, audience=Audience.CONSTITUENT_SERVICES)
    assert response.status_code == 503
    assert "data" not in response.json()
    assert await session.scalar(select(func.count()).select_from(Inquiry)) == before


AUDIT_EVENTS = """
query($outcome: AuditOutcome, $partnerId: ID, $clientId: String, $since: DateTime, $until: DateTime, $after: String) {
  auditEvents(outcome: $outcome, partnerId: $partnerId, clientId: $clientId, since: $since, until: $until,
              kind: "graphql", first: 1, after: $after) {
    totalCount
    nodes { outcome audience clientId }
    pageInfo { hasNextPage endCursor }
  }
}
"""


async def test_auditors_read_events_by_outcome_partner_client_and_period(
    gql: GraphQL,
    client: httpx.AsyncClient,
    partners: dict[Audience, Partner],
    partner_clients: dict[Audience, Client],
) -> None:
    await client.post("/graphql", json={"query": "{ __typename }"})  # no token: denied
    await gql("{ __typename }", audience=Audience.LEGISLATIVE)
    await gql("{ __typename }", audience=Audience.LEGISLATIVE)

    async def read(**variables: Any) -> dict[str, Any]:
        body = (await gql(AUDIT_EVENTS, variables, audience=Audience.ADMIN)).json()
        assert "errors" not in body, body
        result: dict[str, Any] = body["data"]["auditEvents"]
        return result

    denied = await read(outcome="DENIED")
    assert denied["totalCount"] == 1
    assert denied["nodes"] == [{"outcome": "denied", "audience": None, "clientId": None}]

    legislative = await read(partnerId=to_global_id("Partner", partners[Audience.LEGISLATIVE].id))
    assert legislative["totalCount"] == 2
    assert legislative["pageInfo"]["hasNextPage"] is True
    second = await read(
        partnerId=to_global_id("Partner", partners[Audience.LEGISLATIVE].id),
        after=legislative["pageInfo"]["endCursor"],
    )
    assert second["nodes"][0]["audience"] == "legislative"
    assert second["pageInfo"]["hasNextPage"] is False

    by_client = await read(clientId=partner_clients[Audience.LEGISLATIVE].client_id)
    assert by_client["totalCount"] == 2
    assert (await read(since="2999-01-01T00:00:00+00:00"))["totalCount"] == 0
    assert (await read(until="2000-01-01T00:00:00+00:00"))["totalCount"] == 0


async def test_only_the_admin_audience_reads_the_ledger(gql: GraphQL) -> None:
    for audience in Audience:
        if audience is Audience.ADMIN:
            continue
        response = await gql("{ auditEvents { totalCount } }", audience=audience)
        assert response.status_code == 200, audience
        assert "data" not in response.json(), audience


def test_the_readme_operations_validate_against_the_admin_schema() -> None:

    from graphql import parse, validate

    from schema.audiences import audience_schema
    from schema.root import build_schema

    section = docs.section("ledger")
    blocks = [part.split("```", 1)[0] for part in section.split("```graphql")[1:]]
    assert len(blocks) == 2
    schema = audience_schema(build_schema(), Audience.ADMIN)
    for block in blocks:
        assert validate(schema, parse(block)) == [], block


async def test_victim_disclosures_are_recorded_but_never_shown_to_the_admin_audience(
    gql: GraphQL, session: AsyncSession
) -> None:
    person, _ = await make_inmate(session)
    victim = await make_victim(session, first_name="Bea")
    await make_registration(session, victim=victim, person=person)
    query = "query($p: ID) { victims(personId: $p) { nodes { firstName registrations { relationship } } } }"
    pid = to_global_id("Person", person.id)
    body = (await gql(query, {"p": pid}, audience=Audience.VICTIM_SERVICES)).json()
    assert body["data"]["victims"]["nodes"][0]["firstName"] == "Bea", body
    [event] = await _events(session, audience="victim_services")
    recorded = await session.execute(
        select(AuditDisclosure.subject_kind, AuditDisclosure.subject_id, AuditDisclosure.field_classes).where(
            AuditDisclosure.event_id == event.id
        )
    )
    # The registration is about both: the victim, and the person whose case it is.
    assert sorted(tuple(r) for r in recorded) == [
        ("person", person.id, ["victims"]),
        ("victim", victim.id, ["victims"]),
    ]

    seen = (await gql(WHO_SAW, {"id": pid}, audience=Audience.ADMIN)).json()
    assert seen["data"]["whoSaw"]["totalCount"] == 0, seen
    events = (
        await gql(
            '{ auditEvents(kind: "graphql", first: 100) { nodes { audience variables disclosures { subjectKind } } } }',
            audience=Audience.ADMIN,
        )
    ).json()["data"]["auditEvents"]["nodes"]
    [victim_services] = [e for e in events if e["audience"] == "victim_services"]
    assert victim_services == {"audience": "victim_services", "variables": None, "disclosures": []}
