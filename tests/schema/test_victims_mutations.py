"""Victim services' writes through HTTP: each success, each refusal as a typed error naming the field
and rule, and nothing written on refusal (row counts asserted)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.partners import Audience
from resolvers.models.victims import (
    ImpactStatement,
    NotificationPreference,
    RestitutionPayment,
    Victim,
    VictimRegistration,
)
from tests.conftest import GraphQL
from tests.factories.people import make_person
from tests.factories.victims import (
    make_hearing,
    make_payment,
    make_registration,
    make_restitution_order,
    make_sentence,
    make_victim,
)
from tests.schema.test_victims import gid

VS = Audience.VICTIM_SERVICES
TOMORROW = (date.today() + timedelta(days=2)).isoformat()

REGISTER = """
mutation($input: RegisterVictimInput!, $key: String) {
  registerVictim(input: $input, idempotencyKey: $key) {
    registration { id relationship status version victim { lastName email } person { docId }
                   preferences { channel destination } }
    errors { code field message }
    replayed
  }
}
"""


async def count(session: AsyncSession, model: Any) -> int:
    return (await session.scalar(select(func.count()).select_from(model))) or 0


async def counts(session: AsyncSession) -> tuple[int, int, int]:
    return (
        await count(session, Victim),
        await count(session, VictimRegistration),
        await count(session, NotificationPreference),
    )


def _new_victim(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {"kind": "VICTIM", "firstName": "Vera", "lastName": "Newcomer"}
    values.update(overrides)
    return values


async def test_register_a_new_victim_with_a_sentence(gql: GraphQL, session: AsyncSession) -> None:
    person = await make_person(session)
    sentence = await make_sentence(session, person)
    before = await counts(session)
    variables = {
        "input": {
            "personId": gid("Person", person.id),
            "sentenceId": gid("Sentence", sentence.id),
            "relationship": "victim",
            "victim": _new_victim(email="vera@example.org"),
            "preferences": [
                {"channel": "EMAIL", "destination": "vera@example.org"},
                {"channel": "SMS", "destination": "+1 (573) 555-0123"},
            ],
        }
    }
    payload = (await gql(REGISTER, variables, audience=VS)).json()["data"]["registerVictim"]
    assert payload["errors"] == []
    registration = payload["registration"]
    assert registration["status"] == "ACTIVE"
    assert registration["version"] == 1
    assert registration["person"]["docId"] == person.doc_id
    assert registration["victim"] == {"lastName": "Newcomer", "email": "vera@example.org"}
    assert [p["channel"] for p in registration["preferences"]] == ["EMAIL", "SMS"]
    assert await counts(session) == (before[0] + 1, before[1] + 1, before[2] + 2)


LANGUAGE = """
mutation($input: RegisterVictimInput!) {
  registerVictim(input: $input) {
    registration { victim { id language } }
    errors { code field message }
  }
}
"""


@pytest.mark.parametrize(
    ("given", "stored"), [({"language": "es"}, "es"), ({"language": "ES"}, "es"), ({}, "en")]
)
async def test_register_a_victim_in_their_language(
    gql: GraphQL, session: AsyncSession, given: dict[str, object], stored: str
) -> None:
    person = await make_person(session)
    variables = {
        "input": {
            "personId": gid("Person", person.id),
            "relationship": "victim",
            "victim": _new_victim(**given),
            "preferences": [{"channel": "EMAIL", "destination": "vera@example.org"}],
        }
    }
    payload = (await gql(LANGUAGE, variables, audience=VS)).json()["data"]["registerVictim"]
    assert payload["errors"] == []
    assert payload["registration"]["victim"]["language"] == stored
    victim = (await session.scalars(select(Victim).order_by(Victim.id.desc()).limit(1))).one()
    assert victim.language == stored


async def test_register_a_victim_on_file_and_replay_with_the_same_key(
    gql: GraphQL, session: AsyncSession
) -> None:
    person = await make_person(session)
    victim = await make_victim(session)
    variables = {
        "input": {
            "personId": gid("Person", person.id),
            "victimId": gid("Victim", victim.id),
            "relationship": "parent",
            "preferences": [{"channel": "LETTER"}],
        },
        "key": "reg-1",
    }
    before = await counts(session)
    first = (await gql(REGISTER, variables, audience=VS)).json()["data"]["registerVictim"]
    again = (await gql(REGISTER, variables, audience=VS)).json()["data"]["registerVictim"]
    assert first["errors"] == []
    assert again["replayed"] is True
    assert again["registration"]["id"] == first["registration"]["id"]
    assert await counts(session) == (before[0], before[1] + 1, before[2] + 1)


def _refusals() -> list[Any]:
    # (input overrides, expected code, field, message fragment)
    return [
        ({"personId": gid("Person", 99_999_999)}, "NOT_FOUND", "personId", "Person not found"),
        ({"sentenceId": gid("Sentence", 99_999_999)}, "NOT_FOUND", "sentenceId", "not found"),
        ({"preferences": []}, "INVALID", "preferences", "at least one usable"),
        (
            {"preferences": [{"channel": "EMAIL", "destination": "not-an-email"}]},
            "INVALID",
            "preferences[0].destination",
            "must look like an email",
        ),
        (
            {"preferences": [{"channel": "SMS", "destination": "555-12"}]},
            "INVALID",
            "preferences[0].destination",
            "must look like a phone number",
        ),
        ({"preferences": [{"channel": "PHONE"}]}, "INVALID", "preferences[0].destination", "is required"),
        ({"preferences": [{"channel": "LETTER"}]}, "INVALID", "preferences[0].channel", "postal address"),
        ({"registeredOn": TOMORROW}, "INVALID", "registeredOn", "must not be in the future"),
        ({"relationship": "x" * 41}, "INVALID", "relationship", "at most 40 characters"),
        ({"victim": _new_victim(lastName="y" * 61)}, "INVALID", "victim.lastName", "at most 60 characters"),
        ({"victim": _new_victim(email="nope@")}, "INVALID", "victim.email", "must look like an email"),
        ({"victim": None}, "INVALID", "victimId", "either victimId"),
        ({"victim": _new_victim(language="fr")}, "INVALID", "victim.language", "must be one of en, es"),
        ({"victim": _new_victim(language="")}, "INVALID", "victim.language", "ISO 639-1"),
    ]


@pytest.mark.parametrize(("overrides", "code", "field", "message"), _refusals())
async def test_registration_refusals_write_nothing(
    gql: GraphQL, session: AsyncSession, overrides: dict[str, object], code: str, field: str, message: str
) -> None:
    person = await make_person(session)
    values: dict[str, object] = {
        "personId": gid("Person", person.id),
        "relationship": "victim",
        "victim": _new_victim(),
        "preferences": [{"channel": "EMAIL", "destination": "v@example.org"}],
    }
    values.update(overrides)
    before = await counts(session)
    payload = (await gql(REGISTER, {"input": values}, audience=VS)).json()["data"]["registerVictim"]
    assert payload["registration"] is None
    [error] = payload["errors"]
    assert (error["code"], error["field"]) == (code, field)
    assert message in error["message"]
    assert await counts(session) == before


async def test_a_second_active_registration_of_the_same_victim_is_a_conflict(
    gql: GraphQL, session: AsyncSession
) -> None:
    registration = await make_registration(session)
    variables = {
        "input": {
            "personId": gid("Person", registration.person_id),
            "victimId": gid("Victim", registration.victim_id),
            "relationship": "victim",
            "preferences": [{"channel": "EMAIL", "destination": "v@example.org"}],
        }
    }
    before = await counts(session)
    payload = (await gql(REGISTER, variables, audience=VS)).json()["data"]["registerVictim"]
    assert payload["errors"][0]["code"] == "CONFLICT"
    assert payload["errors"][0]["field"] == "victimId"
    assert await counts(session) == before


async def test_another_audience_cannot_register_against_a_person_it_cannot_see_victims_of(
    gql: GraphQL, session: AsyncSession
) -> None:
    # Admin sees every person but nothing of victims: registering is not even in its schema.
    person = await make_person(session)
    victim = await make_victim(session)
    variables = {
        "input": {
            "personId": gid("Person", person.id),
            "victimId": gid("Victim", victim.id),
            "relationship": "victim",
            "preferences": [{"channel": "EMAIL", "destination": "v@example.org"}],
        }
    }
    response = await gql(REGISTER, variables, audience=Audience.ADMIN)
    assert response.status_code == 200  # a request error (application/json): nothing ran
    assert "data" not in response.json()
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "registervictim" in error["message"].lower()  # the mutation and its input type are unknown


CHANGE = """
mutation($input: ChangeContactPreferencesInput!) {
  changeContactPreferences(input: $input) {
    registration { version preferences { channel destination } }
    errors { code field message }
  }
}
"""


async def test_change_contact_preferences_replaces_them_and_bumps_the_version(
    gql: GraphQL, session: AsyncSession
) -> None:
    registration = await make_registration(
        session, preferences=(("email", "old@example.org"), ("sms", "5735550100"))
    )
    variables = {
        "input": {
            "registrationId": gid("VictimRegistration", registration.id),
            "version": 1,
            "preferences": [{"channel": "PHONE", "destination": "573-555-0142"}],
        }
    }
    payload = (await gql(CHANGE, variables, audience=VS)).json()["data"]["changeContactPreferences"]
    assert payload["errors"] == []
    assert payload["registration"] == {
        "version": 2,
        "preferences": [{"channel": "PHONE", "destination": "573-555-0142"}],
    }
    stale = (await gql(CHANGE, variables, audience=VS)).json()["data"]["changeContactPreferences"]
    assert stale["registration"] is None
    assert stale["errors"][0]["code"] == "STALE_VERSION"
    assert stale["errors"][0]["field"] == "version"


async def test_change_contact_preferences_refusals_keep_the_old_ones(
    gql: GraphQL, session: AsyncSession
) -> None:
    registration = await make_registration(session, preferences=(("email", "old@example.org"),))
    rid = gid("VictimRegistration", registration.id)
    bad = {
        "input": {
            "registrationId": rid,
            "version": 1,
            "preferences": [{"channel": "EMAIL", "destination": "x@y"}],
        }
    }
    unknown = {
        "input": {
            "registrationId": gid("VictimRegistration", 99_999_999),
            "version": 1,
            "preferences": [{"channel": "EMAIL", "destination": "ok@example.org"}],
        }
    }
    for variables, (code, field) in (
        (bad, ("INVALID", "preferences[0].destination")),
        (unknown, ("NOT_FOUND", "registrationId")),
    ):
        payload = (await gql(CHANGE, variables, audience=VS)).json()["data"]["changeContactPreferences"]
        assert (payload["errors"][0]["code"], payload["errors"][0]["field"]) == (code, field)
    rows = (
        await session.scalars(
            select(NotificationPreference.destination).where(
                NotificationPreference.registration_id == registration.id
            )
        )
    ).all()
    assert list(rows) == ["old@example.org"]


STATEMENT = """
mutation($input: RecordImpactStatementInput!) {
  recordImpactStatement(input: $input) {
    impactStatement { format summary submittedOn hearingScheduledFor registration { relationship } }
    errors { code field message }
  }
}
"""


async def test_record_an_impact_statement_for_a_hearing(gql: GraphQL, session: AsyncSession) -> None:
    person = await make_person(session)
    registration = await make_registration(session, person=person)
    hearing = await make_hearing(session, person)
    variables = {
        "input": {
            "registrationId": gid("VictimRegistration", registration.id),
            "hearingId": gid("ParoleHearing", hearing.id),
            "format": "VIDEO",
            "summary": "What happened to us.",
            "submittedOn": "2026-11-01",
        }
    }
    payload = (await gql(STATEMENT, variables, audience=VS)).json()["data"]["recordImpactStatement"]
    assert payload["errors"] == []
    assert payload["impactStatement"]["format"] == "VIDEO"
    assert payload["impactStatement"]["hearingScheduledFor"].startswith("2026-12-15")


async def test_impact_statement_refusals_write_nothing(gql: GraphQL, session: AsyncSession) -> None:
    registration = await make_registration(session)
    other_hearing = await make_hearing(session, await make_person(session))
    inactive = await make_registration(session, status="inactive")
    rid = gid("VictimRegistration", registration.id)
    cases = [
        ({"submittedOn": TOMORROW}, "INVALID", "submittedOn"),
        ({"submittedOn": "2020-01-01"}, "INVALID", "submittedOn"),  # before the registration
        ({"summary": "   "}, "INVALID", "summary"),
        ({"summary": "s" * 20_001}, "INVALID", "summary"),
        ({"hearingId": gid("ParoleHearing", other_hearing.id)}, "NOT_FOUND", "hearingId"),
        ({"registrationId": gid("VictimRegistration", 99_999_999)}, "NOT_FOUND", "registrationId"),
        ({"registrationId": gid("VictimRegistration", inactive.id)}, "CONFLICT", "registrationId"),
        ({"registrationId": "not-an-id"}, "NOT_FOUND", "registrationId"),
    ]
    before = await count(session, ImpactStatement)
    for overrides, code, field in cases:
        values: dict[str, object] = {"registrationId": rid, "format": "WRITTEN", "summary": "Statement"}
        values.update(overrides)
        payload = (await gql(STATEMENT, {"input": values}, audience=VS)).json()["data"][
            "recordImpactStatement"
        ]
        assert (payload["errors"][0]["code"], payload["errors"][0]["field"]) == (code, field), overrides
    assert await count(session, ImpactStatement) == before


PAY = """
mutation($input: RecordRestitutionPaymentInput!, $key: String) {
  recordRestitutionPayment(input: $input, idempotencyKey: $key) {
    payment { amount paidOn reference }
    order { paidAmount balance status version }
    errors { code field message }
    replayed
  }
}
"""


async def test_payments_reduce_the_balance_and_the_last_one_pays_the_order(
    gql: GraphQL, session: AsyncSession
) -> None:
    order = await make_restitution_order(session, await make_person(session), amount=Decimal("300.00"))
    await make_payment(session, order, amount=Decimal("100.00"))
    oid = gid("RestitutionOrder", order.id)
    first = (
        await gql(
            PAY,
            {"input": {"orderId": oid, "amount": "50.25", "paidOn": "2026-01-05", "reference": "R-1"}},
            audience=VS,
        )
    ).json()["data"]["recordRestitutionPayment"]
    assert first["errors"] == []
    assert first["payment"] == {"amount": "50.25", "paidOn": "2026-01-05", "reference": "R-1"}
    assert first["order"] == {"paidAmount": "150.25", "balance": "149.75", "status": "OPEN", "version": 2}
    last = (await gql(PAY, {"input": {"orderId": oid, "amount": "149.75"}}, audience=VS)).json()["data"][
        "recordRestitutionPayment"
    ]
    assert last["order"]["status"] == "PAID"
    assert last["order"]["balance"] == "0.00"
    closed = (await gql(PAY, {"input": {"orderId": oid, "amount": "1.00"}}, audience=VS)).json()["data"][
        "recordRestitutionPayment"
    ]
    assert (closed["errors"][0]["code"], closed["errors"][0]["field"]) == ("CONFLICT", "orderId")


@pytest.mark.parametrize(
    ("overrides", "code", "field", "message"),
    [
        ({"amount": "-5.00"}, "INVALID", "amount", "must be more than zero"),
        ({"amount": "0"}, "INVALID", "amount", "must be more than zero"),
        ({"amount": "200.01"}, "INVALID", "amount", "remaining balance of the order (200.00)"),
        ({"amount": "1.005"}, "INVALID", "amount", "two decimal places"),
        ({"paidOn": TOMORROW}, "INVALID", "paidOn", "future"),
        ({"paidOn": "2021-01-01"}, "INVALID", "paidOn", "must not be before the order date"),
        ({"reference": "r" * 41}, "INVALID", "reference", "at most 40"),
        ({"orderId": gid("RestitutionOrder", 99_999_999)}, "NOT_FOUND", "orderId", "not found"),
    ],
)
async def test_payment_refusals_write_nothing(
    gql: GraphQL, session: AsyncSession, overrides: dict[str, object], code: str, field: str, message: str
) -> None:
    order = await make_restitution_order(session, await make_person(session), amount=Decimal("200.00"))
    values: dict[str, object] = {"orderId": gid("RestitutionOrder", order.id), "amount": "10.00"}
    values.update(overrides)
    before = await count(session, RestitutionPayment)
    payload = (await gql(PAY, {"input": values}, audience=VS)).json()["data"]["recordRestitutionPayment"]
    assert payload["payment"] is None
    [error] = payload["errors"]
    assert (error["code"], error["field"]) == (code, field)
    assert message in error["message"]
    assert await count(session, RestitutionPayment) == before
