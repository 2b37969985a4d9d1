"""Business rules hold under concurrency on PostgreSQL: twenty requests at once, each in its own
transaction on its own connection, and the store keeps every "one open ..." and capacity rule.

Under READ COMMITTED "count, then insert" lets every request count zero and insert; the rules are
now partial unique indexes (a loser's row is refused and its write runs again, answering the same
typed error as one that came second) and a row lock on the offering for its capacity.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from auth.principal import Principal
from hub.app import create_app
from resolvers.models.grants import FederalAward
from resolvers.models.partners import Audience
from resolvers.models.programs import Enrollment
from resolvers.models.reentry import Referral, ServiceDelivered
from resolvers.models.victims import RestitutionPayment, VictimRegistration
from schema.ids import to_global_id
from tests.factories.people import make_facility, make_person
from tests.factories.programs import make_offering, make_program
from tests.factories.reentry import make_reentry_partner, make_referral
from tests.factories.stores import fresh_store
from tests.factories.victims import make_restitution_order, make_victim

pytestmark = pytest.mark.postgres

N = 20

Post = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


@asynccontextmanager
async def hub(
    tmp_path: Path, name: str, audience: Audience
) -> AsyncIterator[tuple[Post, async_sessionmaker[AsyncSession]]]:
    """A migrated store of its own and the hub on it, every request as ``audience``."""
    async with fresh_store(tmp_path, name) as (settings, engine):

        async def as_audience(request: Request) -> Principal:
            return Principal(audience=audience, client_id=f"{audience.value}-tests")

        app = create_app(settings, engine=engine, authenticate=as_audience)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:

            async def post(query: str, variables: dict[str, Any]) -> dict[str, Any]:
                response = await client.post("/graphql", json={"query": query, "variables": variables})
                assert response.status_code == 200, response.text
                body: dict[str, Any] = response.json()
                assert "errors" not in body, body
                return body

            yield post, async_sessionmaker(engine, expire_on_commit=False)


async def at_once(post: Post, query: str, variables: list[dict[str, Any]], field: str) -> list[Any]:
    bodies = await asyncio.gather(*(post(query, v) for v in variables))
    return [body["data"][field] for body in bodies]


def refusals(payloads: list[dict[str, Any]]) -> Counter[tuple[str, str | None, str]]:
    return Counter((e["code"], e["field"], e["message"]) for payload in payloads for e in payload["errors"])


REFER = """
mutation($input: ReferPersonInput!, $key: String) {
  referPerson(input: $input, idempotencyKey: $key) { referral { id } errors { code field message } }
}
"""


async def test_one_open_referral_per_person_partner_and_service(tmp_path: Path) -> None:
    async with hub(tmp_path, "refer", Audience.ADMIN) as (post, sessions):
        async with sessions() as s:
            person = await make_person(s)
            partner = await make_reentry_partner(s)
            await s.commit()
        values = {
            "personId": to_global_id("Person", person.id),
            "partnerId": to_global_id("Partner", partner.id),
            "serviceType": "HOUSING",
            "referredOn": "2026-01-05",
        }
        payloads = await at_once(
            post, REFER, [{"input": values, "key": f"refer-{i}"} for i in range(N)], "referPerson"
        )
        async with sessions() as s:
            open_referrals = await s.scalar(
                select(func.count()).select_from(Referral).where(Referral.person_id == person.id)
            )
    assert open_referrals == 1
    assert sum(p["referral"] is not None for p in payloads) == 1
    rule = "partnerId the person already has an open referral to this partner for this service"
    assert refusals(payloads) == {("CONFLICT", "partnerId", rule): N - 1}


ENROL = """
mutation($input: EnrolPersonInput!) {
  enrolPerson(input: $input) { enrollment { id } errors { code field message } }
}
"""


async def test_an_offering_never_takes_more_than_its_capacity(tmp_path: Path) -> None:
    async with hub(tmp_path, "capacity", Audience.PROGRAMS) as (post, sessions):
        async with sessions() as s:
            facility = await make_facility(s)
            program = await make_program(s)
            offering = await make_offering(s, program, facility, capacity=11)
            people = [await make_person(s) for _ in range(N)]
            await s.commit()
        variables = [
            {
                "input": {
                    "personId": to_global_id("Person", person.id),
                    "offeringId": to_global_id("ProgramOffering", offering.id),
                    "enrolledOn": "2026-01-05",
                }
            }
            for person in people
        ]
        payloads = await at_once(post, ENROL, variables, "enrolPerson")
        async with sessions() as s:
            enrolled = await s.scalar(
                select(func.count()).select_from(Enrollment).where(Enrollment.offering_id == offering.id)
            )
    assert enrolled == 11
    assert sum(p["enrollment"] is not None for p in payloads) == 11
    assert refusals(payloads) == {
        ("CONFLICT", "offeringId", "offeringId the offering is full (11 places)"): N - 11
    }


async def test_one_open_enrollment_per_person_and_program(tmp_path: Path) -> None:
    async with hub(tmp_path, "enrol", Audience.PROGRAMS) as (post, sessions):
        async with sessions() as s:
            program = await make_program(s)
            person = await make_person(s)
            await s.commit()
        values = {
            "personId": to_global_id("Person", person.id),
            "programId": to_global_id("Program", program.id),
            "enrolledOn": "2026-01-05",
        }
        payloads = await at_once(post, ENROL, [{"input": values}] * N, "enrolPerson")
        async with sessions() as s:
            enrolled = await s.scalar(
                select(func.count()).select_from(Enrollment).where(Enrollment.person_id == person.id)
            )
    assert enrolled == 1
    assert sum(p["enrollment"] is not None for p in payloads) == 1
    rule = "programId the person is already enrolled in this program"
    assert refusals(payloads) == {("CONFLICT", "programId", rule): N - 1}


REGISTER = """
mutation($input: RegisterVictimInput!, $key: String) {
  registerVictim(input: $input, idempotencyKey: $key) { registration { id } errors { code field message } }
}
"""


async def test_a_registrant_is_actively_registered_to_a_case_once(tmp_path: Path) -> None:
    async with hub(tmp_path, "register", Audience.VICTIM_SERVICES) as (post, sessions):
        async with sessions() as s:
            person = await make_person(s)
            victim = await make_victim(s)
            await s.commit()
        values = {
            "personId": to_global_id("Person", person.id),
            "victimId": to_global_id("Victim", victim.id),
            "relationship": "parent",
            "preferences": [{"channel": "EMAIL", "destination": "reg@example.org"}],
        }
        payloads = await at_once(
            post, REGISTER, [{"input": values, "key": f"reg-{i}"} for i in range(N)], "registerVictim"
        )
        async with sessions() as s:
            active = await s.scalar(
                select(func.count())
                .select_from(VictimRegistration)
                .where(VictimRegistration.person_id == person.id, VictimRegistration.status == "active")
            )
    assert active == 1
    assert sum(p["registration"] is not None for p in payloads) == 1
    rule = "victimId is already actively registered to this person's case"
    assert refusals(payloads) == {("CONFLICT", "victimId", rule): N - 1}


PAY = """
mutation($input: RecordRestitutionPaymentInput!) {
  recordRestitutionPayment(input: $input) {
    payment { id reference amount } order { paidAmount } errors { code field message } replayed
  }
}
"""


async def test_one_receipt_sent_twenty_times_at_once_is_one_payment(tmp_path: Path) -> None:
    async with hub(tmp_path, "receipt", Audience.VICTIM_SERVICES) as (post, sessions):
        async with sessions() as s:
            person = await make_person(s)
            order = await make_restitution_order(s, person, ordered_on=date(2025, 1, 2))
            await s.commit()
        values = {
            "orderId": to_global_id("RestitutionOrder", order.id),
            "amount": "125.00",
            "reference": "RCPT-88",
        }
        payloads = await at_once(post, PAY, [{"input": values}] * N, "recordRestitutionPayment")
        async with sessions() as s:
            payments = await s.scalar(
                select(func.count())
                .select_from(RestitutionPayment)
                .where(RestitutionPayment.order_id == order.id)
            )
    assert payments == 1
    assert all(p["errors"] == [] for p in payloads)
    assert len({p["payment"]["id"] for p in payloads}) == 1
    assert sorted(p["replayed"] for p in payloads) == [False] + [True] * (N - 1)
    assert {p["order"]["paidAmount"] for p in payloads} == {"125.00"}


SERVICE = """
mutation($input: RecordServiceInput!) {
  recordServiceDelivered(input: $input) { service { id } errors { code field message } }
}
"""


async def test_one_service_delivery_per_referral_day_and_description(tmp_path: Path) -> None:
    async with hub(tmp_path, "service", Audience.ADMIN) as (post, sessions):
        async with sessions() as s:
            person = await make_person(s)
            referral = await make_referral(s, person, await make_reentry_partner(s))
            await s.commit()
        values = {
            "referralId": to_global_id("Referral", referral.id),
            "deliveredOn": "2025-02-01",
            "description": "Intake meeting",
        }
        payloads = await at_once(post, SERVICE, [{"input": values}] * N, "recordServiceDelivered")
        async with sessions() as s:
            delivered = await s.scalar(
                select(func.count())
                .select_from(ServiceDelivered)
                .where(ServiceDelivered.referral_id == referral.id)
            )
    assert delivered == 1
    assert sum(p["service"] is not None for p in payloads) == 1
    rule = "description this service is already recorded on the referral for 2025-02-01"
    assert refusals(payloads) == {("CONFLICT", "description", rule): N - 1}


AWARD = """
mutation($input: RecordFederalAwardInput!) {
  recordFederalAward(input: $input) { award { awardNumber } errors { code field message } }
}
"""


async def test_an_award_number_is_recorded_once(tmp_path: Path) -> None:
    async with hub(tmp_path, "award", Audience.BUDGET_GRANTS) as (post, sessions):
        values = {
            "awardNumber": "15PBJA-27-GG-00001",
            "agency": "Bureau of Justice Assistance",
            "assistanceListing": "16.812",
            "title": "Second Chance Act",
            "periodStart": "2026-10-01",
            "periodEnd": "2029-09-30",
            "amount": "900000.00",
        }
        payloads = await at_once(post, AWARD, [{"input": values}] * N, "recordFederalAward")
        async with sessions() as s:
            recorded = await s.scalar(select(func.count()).select_from(FederalAward))
    assert recorded == 1
    assert sum(p["award"] is not None for p in payloads) == 1
    rule = "awardNumber 15PBJA-27-GG-00001 is already recorded"
    assert refusals(payloads) == {("CONFLICT", "awardNumber", rule): N - 1}
