"""submitInquiry's write path (issue 16, item 4): the inquiry is written with its reference and read
back in the statement that writes it, and answers exactly as a read of the stored row would."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from resolvers.models.inquiries import Inquiry
from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience, Partner
from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.statements import counting

SUBMIT = """
mutation($input: SubmitInquiryInput!, $key: String) {
  submitInquiry(input: $input, idempotencyKey: $key) {
    inquiry { id reference source channel status dueOn receivedAt requesterName version reopenedCount }
    errors { code field }
    replayed
  }
}
"""
INPUT = {
    "source": "PUBLIC",
    "category": "MEDICAL",
    "channel": "EMAIL",
    "requesterName": "Constituent of the district",
    "summary": "No medical appointment for three weeks",
    "details": "His mother reports he has asked to see a doctor.",
}
READ = "query($id: ID!) { inquiry(id: $id) { id reference source channel status dueOn receivedAt requesterName version reopenedCount } }"


async def test_the_payload_is_the_stored_row_and_the_reference_follows_the_id(
    gql: GraphQL, session: AsyncSession, connection: AsyncConnection, partners: dict[Audience, Partner]
) -> None:
    await gql("{ __typename }", audience=Audience.LEGISLATIVE)  # the token minted outside the count
    with counting(connection) as statements:
        body = (await gql(SUBMIT, {"input": INPUT}, audience=Audience.LEGISLATIVE)).json()
    payload = body["data"]["submitInquiry"]
    assert payload["errors"] == []
    assert payload["replayed"] is False
    inquiry = payload["inquiry"]
    row = await session.scalar(select(Inquiry).where(Inquiry.reference == inquiry["reference"]))
    assert row is not None
    assert inquiry["id"] == to_global_id("Inquiry", row.id)
    assert inquiry["reference"] == f"INQ-{datetime.now(UTC).year}-{row.id:06d}"
    # A legislative office files through the API on its own behalf, whatever it sent.
    assert (inquiry["source"], inquiry["channel"], row.partner_id) == (
        "LEGISLATIVE",
        "API",
        partners[Audience.LEGISLATIVE].id,
    )
    read = (await gql(READ, {"id": inquiry["id"]}, audience=Audience.LEGISLATIVE)).json()
    assert read["data"]["inquiry"] == inquiry
    # The inquiry is written once and not read again (on SQLite its reference needs the id first).
    touching = [s for s in statements if "inquiries" in s]
    if session.get_bind().dialect.name == "postgresql":
        assert [s.split()[0] for s in touching] == ["INSERT"]
    else:
        assert [s.split()[0] for s in touching] == ["INSERT", "UPDATE"]
    # Its event, in its transaction (on PostgreSQL one call of hub_ledger_append).
    assert any("audit_events" in s or "hub_ledger_append(" in s for s in statements)


async def test_a_retry_with_the_same_key_answers_the_first_result_and_writes_once(
    gql: GraphQL, session: AsyncSession
) -> None:
    variables = {"input": INPUT, "key": "write-path-1"}
    first = (await gql(SUBMIT, variables, audience=Audience.CONSTITUENT_SERVICES)).json()["data"]
    again = (await gql(SUBMIT, variables, audience=Audience.CONSTITUENT_SERVICES)).json()["data"]
    assert first["submitInquiry"]["replayed"] is False
    assert again["submitInquiry"]["replayed"] is True
    assert again["submitInquiry"]["inquiry"] == first["submitInquiry"]["inquiry"]
    stored = await session.scalars(
        select(Inquiry.id).where(Inquiry.reference == first["submitInquiry"]["inquiry"]["reference"])
    )
    assert len(list(stored)) == 1
    outcomes = list(
        await session.scalars(
            select(AuditEvent.outcome).where(
                AuditEvent.kind == "graphql", AuditEvent.audience == "constituent_services"
            )
        )
    )
    assert outcomes == ["served", "served"]


async def test_invalid_input_writes_nothing(gql: GraphQL, session: AsyncSession) -> None:
    before = len(list(await session.scalars(select(Inquiry.id))))
    body = (
        await gql(SUBMIT, {"input": {**INPUT, "requesterEmail": "@nowhere"}}, audience=Audience.LEGISLATIVE)
    ).json()
    assert body["data"]["submitInquiry"]["inquiry"] is None
    assert body["data"]["submitInquiry"]["errors"] == [{"code": "INVALID", "field": "requesterEmail"}]
    assert len(list(await session.scalars(select(Inquiry.id)))) == before
