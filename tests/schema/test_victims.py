"""Victim services' reads through HTTP: registrations to a case, preferences, notifications and their
delivery, statements, hearings, protection conditions and restitution; no other audience sees any."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.partners import Audience
from tests.conftest import GraphQL
from tests.factories.people import make_person
from tests.factories.victims import (
    make_attempt,
    make_hearing,
    make_impact_statement,
    make_notification,
    make_participation,
    make_payment,
    make_protection_condition,
    make_registration,
    make_restitution_order,
    make_victim,
)

VS = Audience.VICTIM_SERVICES


def gid(kind: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{pk}".encode()).decode().rstrip("=")


CASE = """
query($person: ID!) {
  victimRegistrations(personId: $person, first: 5) {
    totalCount
    nodes {
      relationship status registeredOn version
      victim { firstName lastName email }
      person { docId }
      preferences { channel destination active }
      notifications { eventKind status requiresAcknowledgement deliveryAttempts { outcome } }
      impactStatements { format summary hearingScheduledFor }
      hearingParticipations { mode hearingType hearingStatus }
      protectionConditions { condition startsOn endsOn }
    }
  }
}
"""


async def test_victim_services_sees_a_case_with_everything_hanging_off_it(
    gql: GraphQL, session: AsyncSession
) -> None:
    person = await make_person(session)
    registration = await make_registration(session, person=person, preferences=(("sms", "573-555-0199"),))
    hearing = await make_hearing(session, person)
    notification = await make_notification(session, registration, requires_ack=True)
    await make_attempt(session, notification, outcome="temporary_failure")
    await make_attempt(session, notification)
    await make_impact_statement(session, registration, hearing_id=hearing.id)
    await make_participation(session, registration, hearing)
    await make_protection_condition(session, registration)
    await make_registration(session)  # another case: not listed

    body = (await gql(CASE, {"person": gid("Person", person.id)}, audience=VS)).json()
    assert "errors" not in body
    conn = body["data"]["victimRegistrations"]
    assert conn["totalCount"] == 1
    node = conn["nodes"][0]
    assert node["person"]["docId"] == person.doc_id
    assert node["preferences"] == [{"channel": "SMS", "destination": "573-555-0199", "active": True}]
    assert node["notifications"] == [
        {
            "eventKind": "hearing_scheduled",
            "status": "DELIVERED",
            "requiresAcknowledgement": True,
            "deliveryAttempts": [{"outcome": "TEMPORARY_FAILURE"}, {"outcome": "DELIVERED"}],
        }
    ]
    assert node["impactStatements"][0]["hearingScheduledFor"].startswith("2026-12-15")
    assert node["hearingParticipations"] == [
        {"mode": "video", "hearingType": "initial", "hearingStatus": "scheduled"}
    ]
    assert node["protectionConditions"][0]["endsOn"] is None


@pytest.mark.parametrize(
    "audience",
    [
        Audience.ADMIN,
        Audience.CONSTITUENT_SERVICES,
        Audience.LEGISLATIVE,
        Audience.REENTRY,
        Audience.PROGRAMS,
    ],
)
async def test_no_other_audience_sees_any_victim_row(
    gql: GraphQL, session: AsyncSession, audience: Audience
) -> None:
    registration = await make_registration(session)
    query = """query($id: ID!) {
      victims { totalCount } victimRegistrations { totalCount } notifications { totalCount }
      restitutionOrders { totalCount } impactStatements { totalCount } victim(id: $id) { lastName }
    }"""
    body = (await gql(query, {"id": gid("Victim", registration.victim_id)}, audience=audience)).json()
    if "errors" in body:
        # Once the field policy removes victims from an audience's schema, validation refuses instead.
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        return
    data = body["data"]
    assert data["victim"] is None
    assert {k: v["totalCount"] for k, v in data.items() if k != "victim"} == {
        "victims": 0,
        "victimRegistrations": 0,
        "notifications": 0,
        "restitutionOrders": 0,
        "impactStatements": 0,
    }


async def test_victims_by_name_and_by_case_in_name_order(gql: GraphQL, session: AsyncSession) -> None:
    person = await make_person(session)
    b = await make_victim(session, first_name="Bea", last_name="Zedd")
    a = await make_victim(session, first_name="Abe", last_name="Zedd")
    await make_registration(session, victim=a, person=person)
    await make_registration(session, victim=b)
    query = """query($name: String, $person: ID) {
      victims(name: $name, personId: $person) { nodes { firstName registrations { relationship } } }
    }"""
    by_name = (await gql(query, {"name": "zedd"}, audience=VS)).json()["data"]["victims"]["nodes"]
    assert [n["firstName"] for n in by_name] == ["Abe", "Bea"]
    by_case = (await gql(query, {"person": gid("Person", person.id)}, audience=VS)).json()["data"]["victims"]
    assert [n["firstName"] for n in by_case["nodes"]] == ["Abe"]
    assert by_case["nodes"][0]["registrations"] == [{"relationship": "victim"}]


async def test_notifications_pending_failed_acknowledged_and_unacknowledged(
    gql: GraphQL, session: AsyncSession
) -> None:
    person = await make_person(session)
    registration = await make_registration(session, person=person)
    await make_notification(session, registration, status="pending", attempts=0)
    await make_notification(session, registration, status="failed", last_error="mailbox full")
    await make_notification(session, registration, status="delivered", requires_ack=True)
    await make_notification(session, registration, status="acknowledged", requires_ack=True)
    query = """query($status: [NotificationStatus!], $unack: Boolean!, $person: ID) {
      notifications(status: $status, unacknowledged: $unack, personId: $person) {
        totalCount nodes { status lastError registration { relationship } }
      }
    }"""
    person_id = gid("Person", person.id)

    async def statuses(status: list[str] | None, unack: bool = False) -> list[str]:
        variables = {"status": status, "unack": unack, "person": person_id}
        body = (await gql(query, variables, audience=VS)).json()
        return [n["status"] for n in body["data"]["notifications"]["nodes"]]

    assert await statuses(None) == ["PENDING", "FAILED", "DELIVERED", "ACKNOWLEDGED"]
    assert await statuses(["PENDING"]) == ["PENDING"]
    assert await statuses(["FAILED"]) == ["FAILED"]
    assert await statuses(["ACKNOWLEDGED"]) == ["ACKNOWLEDGED"]
    assert await statuses(None, unack=True) == ["DELIVERED"]


async def test_restitution_orders_with_paid_and_balance(gql: GraphQL, session: AsyncSession) -> None:
    person = await make_person(session)
    payee = await make_victim(session)
    order = await make_restitution_order(session, person, payee=payee, amount=Decimal("500.00"))
    await make_payment(session, order, amount=Decimal("120.50"))
    await make_payment(session, order, amount=Decimal("79.50"))
    query = """query($person: ID) {
      restitutionOrders(personId: $person) {
        nodes { amount paidAmount balance status payee { lastName } person { docId } payments { amount } }
      }
    }"""
    body = (await gql(query, {"person": gid("Person", person.id)}, audience=VS)).json()
    node = body["data"]["restitutionOrders"]["nodes"][0]
    assert node["amount"] == "500.00"
    assert node["paidAmount"] == "200.00"
    assert node["balance"] == "300.00"
    assert node["status"] == "OPEN"
    assert node["payee"]["lastName"] == payee.last_name
    assert [p["amount"] for p in node["payments"]] == ["120.50", "79.50"]


async def test_impact_statements_by_case(gql: GraphQL, session: AsyncSession) -> None:
    registration = await make_registration(session)
    await make_impact_statement(session, registration, summary="first")
    query = """query($person: ID) { impactStatements(personId: $person) {
      nodes { summary format registration { relationship } } } }"""
    body = (await gql(query, {"person": gid("Person", registration.person_id)}, audience=VS)).json()
    assert body["data"]["impactStatements"]["nodes"] == [
        {"summary": "first", "format": "WRITTEN", "registration": {"relationship": "victim"}}
    ]


async def test_pages_are_capped_and_cursors_continue(gql: GraphQL, session: AsyncSession) -> None:
    person = await make_person(session)
    for _ in range(3):
        await make_registration(session, person=person)
    query = """query($first: Int, $after: String, $person: ID) {
      victimRegistrations(first: $first, after: $after, personId: $person) {
        totalCount nodes { id } pageInfo { hasNextPage endCursor } } }"""
    first = (await gql(query, {"first": 2, "person": gid("Person", person.id)}, audience=VS)).json()
    page = first["data"]["victimRegistrations"]
    assert page["totalCount"] == 3
    assert page["pageInfo"]["hasNextPage"] is True
    variables = {"first": 2, "after": page["pageInfo"]["endCursor"], "person": gid("Person", person.id)}
    second = (await gql(query, variables, audience=VS)).json()["data"]["victimRegistrations"]
    assert len(second["nodes"]) == 1
    assert second["pageInfo"]["hasNextPage"] is False
    too_many = (await gql(query, {"first": 101}, audience=VS)).json()
    assert too_many["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert too_many["errors"][0]["extensions"]["field"] == "first"
