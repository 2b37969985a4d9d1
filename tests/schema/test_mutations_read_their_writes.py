"""Several mutations in one request: each payload shows the store as its own write left it, not what
an earlier field of the same operation read (the per-request loaders are cleared after every write).
Run with the README's own documents, as a partner copies them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.inquiries import Inquiry
from resolvers.models.partners import Audience
from resolvers.models.victims import RestitutionPayment
from schema.ids import to_global_id
from tests import docs
from tests.conftest import GraphQL
from tests.factories.inquiries import make_inquiry
from tests.factories.people import make_facility, make_person
from tests.factories.programs import make_enrollment, make_offering, make_program
from tests.factories.victims import make_registration, make_restitution_order


def readme_operation(name: str) -> str:
    """The cookbook's ``mutation <name>(...)`` block, exactly as the README prints it."""
    section = docs.section("cookbook")
    blocks: list[str] = [
        b for b in re.findall(r"```graphql\n(.*?)```", section, re.S) if f"mutation {name}(" in b
    ]
    assert len(blocks) == 1, name
    return blocks[0]


async def run(gql: GraphQL, name: str, variables: dict[str, Any], audience: Audience) -> dict[str, Any]:
    body = (await gql(readme_operation(name), variables, audience=audience)).json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def test_work_answers_each_step_as_the_store_holds_it(gql: GraphQL, session: AsyncSession) -> None:
    inquiry = await make_inquiry(session, received_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    data = await run(gql, "Work", {"id": to_global_id("Inquiry", inquiry.id)}, Audience.CONSTITUENT_SERVICES)
    assert [data[f]["errors"] for f in ("assignInquiry", "respondToInquiry", "closeInquiry")] == [[], [], []]
    assert data["assignInquiry"]["inquiry"] == {"status": "ASSIGNED", "version": 2}
    responded = data["respondToInquiry"]["inquiry"]
    assert (responded["status"], responded["version"]) == ("RESPONDED", 3)
    assert [r["body"] for r in responded["responses"]] == [
        "A medical appointment is scheduled for next week."
    ]
    closed = data["closeInquiry"]["inquiry"]
    assert closed["status"] == "CLOSED"
    assert closed["closedAt"] is not None
    stored = await session.scalar(select(Inquiry.version).where(Inquiry.id == inquiry.id))
    assert stored == 4


async def test_enrol_answers_each_step_as_the_store_holds_it(gql: GraphQL, session: AsyncSession) -> None:
    facility = await make_facility(session)
    program = await make_program(session, reparative=True)
    offering = await make_offering(session, program, facility, starts_on=date(2026, 1, 5))
    newcomer = await make_person(session)
    enrolled = await make_enrollment(
        session, await make_person(session), program, enrolled_on=date(2026, 10, 1)
    )
    variables = {
        "person": to_global_id("Person", newcomer.id),
        "offering": to_global_id("ProgramOffering", offering.id),
        "enrollment": to_global_id("Enrollment", enrolled.id),
    }
    data = await run(gql, "Enrol", variables, Audience.PROGRAMS)
    fields = ("enrolPerson", "recordReparativeHours", "completeEnrollment")
    assert [data[f]["errors"] for f in fields] == [[], [], []]
    assert data["enrolPerson"]["enrollment"]["status"] == "ENROLLED"
    assert data["recordReparativeHours"]["enrollment"] == {"reparativeHours": "3.50", "version": 2}
    assert data["completeEnrollment"]["enrollment"] == {
        "status": "COMPLETED",
        "endedOn": "2026-11-26",
        "version": 3,
    }


PAY = """
mutation($input: RecordRestitutionPaymentInput!) {
  recordRestitutionPayment(input: $input) {
    payment { id amount reference } order { paidAmount balance } errors { code field message } replayed
  }
}
"""


async def _payments(session: AsyncSession, order_id: int) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(RestitutionPayment)
            .where(RestitutionPayment.order_id == order_id)
        )
        or 0
    )


async def test_contact_sent_again_records_the_receipt_once(gql: GraphQL, session: AsyncSession) -> None:
    person = await make_person(session)
    registration = await make_registration(session, person=person)
    order = await make_restitution_order(session, person, amount=Decimal("1000.00"))
    variables = {
        "registration": to_global_id("VictimRegistration", registration.id),
        "order": to_global_id("RestitutionOrder", order.id),
    }
    data = await run(gql, "Contact", variables, Audience.VICTIM_SERVICES)
    first = data["recordRestitutionPayment"]
    assert first["errors"] == []
    assert first["order"] == {
        "amount": "1000.00",
        "paidAmount": "125.00",
        "balance": "875.00",
        "status": "OPEN",
    }
    # The contact preferences' payload, too, is the registration as the write left it.
    assert data["changeContactPreferences"]["registration"]["version"] == 2

    # The README's payment again (a resend without an idempotency key): the receipt on file.
    again_input = {"orderId": variables["order"], "amount": "125.00", "reference": "RCPT-88"}
    again = (await gql(PAY, {"input": again_input}, audience=Audience.VICTIM_SERVICES)).json()["data"][
        "recordRestitutionPayment"
    ]
    assert again["errors"] == []
    assert again["replayed"] is True
    assert again["payment"]["reference"] == "RCPT-88"
    assert again["order"] == {"paidAmount": "125.00", "balance": "875.00"}
    assert await _payments(session, order.id) == 1

    # The same receipt with another amount cannot be the same payment: refused, nothing written.
    other = (
        await gql(PAY, {"input": {**again_input, "amount": "130.00"}}, audience=Audience.VICTIM_SERVICES)
    ).json()["data"]["recordRestitutionPayment"]
    assert other["payment"] is None
    assert other["errors"] == [
        {
            "code": "CONFLICT",
            "field": "reference",
            "message": f"reference RCPT-88 is already recorded on this order as a payment of 125.00 on "
            f"{date.today().isoformat()}; a receipt is recorded once",
        }
    ]
    # Another receipt is another payment.
    third = (
        await gql(PAY, {"input": {**again_input, "reference": "RCPT-89"}}, audience=Audience.VICTIM_SERVICES)
    ).json()["data"]["recordRestitutionPayment"]
    assert third["errors"] == []
    assert third["replayed"] is False
    assert third["order"] == {"paidAmount": "250.00", "balance": "750.00"}
    assert await _payments(session, order.id) == 2
