"""The rules every mutation follows, shown on submitInquiry: typed errors as data, nothing written
on refusal, idempotency keys honoured."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.inquiries import Inquiry
from resolvers.models.partners import Audience
from tests.conftest import GraphQL

SUBMIT = """
mutation($input: SubmitInquiryInput!, $key: String) {
  submitInquiry(input: $input, idempotencyKey: $key) {
    inquiry { id reference status source dueOn version }
    errors { code field message }
    replayed
  }
}
"""


def _input(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "source": "FAMILY",
        "category": "MEDICAL",
        "channel": "PHONE",
        "requesterName": "A. Mother",
        "summary": "No medical appointment for weeks",
        "details": "Her son has asked for a doctor three times.",
    }
    values.update(overrides)
    return values


async def _count(session: AsyncSession) -> int:
    return (await session.scalar(select(func.count()).select_from(Inquiry))) or 0


async def test_submit_writes_one_inquiry(gql: GraphQL, session: AsyncSession) -> None:
    before = await _count(session)
    response = await gql(SUBMIT, {"input": _input()}, audience=Audience.CONSTITUENT_SERVICES)
    payload = response.json()["data"]["submitInquiry"]
    assert payload["errors"] == []
    assert payload["inquiry"]["status"] == "RECEIVED"
    assert payload["inquiry"]["reference"].startswith("INQ-")
    assert payload["inquiry"]["version"] == 1
    assert await _count(session) == before + 1


async def test_retry_with_the_same_key_returns_the_first_result_and_writes_nothing(
    gql: GraphQL, session: AsyncSession
) -> None:
    before = await _count(session)
    variables = {"input": _input(), "key": "retry-1"}
    first = (await gql(SUBMIT, variables, audience=Audience.CONSTITUENT_SERVICES)).json()["data"][
        "submitInquiry"
    ]
    second = (await gql(SUBMIT, variables, audience=Audience.CONSTITUENT_SERVICES)).json()["data"][
        "submitInquiry"
    ]
    assert first["replayed"] is False
    assert second["replayed"] is True
    assert second["inquiry"]["id"] == first["inquiry"]["id"]
    assert await _count(session) == before + 1


async def test_same_key_with_other_input_is_refused(gql: GraphQL, session: AsyncSession) -> None:
    await gql(SUBMIT, {"input": _input(), "key": "retry-2"}, audience=Audience.CONSTITUENT_SERVICES)
    before = await _count(session)
    response = await gql(
        SUBMIT,
        {"input": _input(summary="Something else"), "key": "retry-2"},
        audience=Audience.CONSTITUENT_SERVICES,
    )
    payload = response.json()["data"]["submitInquiry"]
    assert payload["inquiry"] is None
    assert payload["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await _count(session) == before


async def test_over_long_string_is_refused_with_the_field_named(gql: GraphQL, session: AsyncSession) -> None:
    before = await _count(session)
    response = await gql(SUBMIT, {"input": _input(summary="x" * 201)}, audience=Audience.CONSTITUENT_SERVICES)
    payload = response.json()["data"]["submitInquiry"]
    assert payload["inquiry"] is None
    assert payload["errors"] == [
        {"code": "INVALID", "field": "summary", "message": "summary must be at most 200 characters (got 201)"}
    ]
    assert await _count(session) == before


async def test_unknown_subject_person_is_not_found(gql: GraphQL) -> None:
    response = await gql(
        SUBMIT,
        {"input": _input(subjectPersonId="UGVyc29uOjk5OTk5OTk5")},
        audience=Audience.CONSTITUENT_SERVICES,
    )
    payload = response.json()["data"]["submitInquiry"]
    assert payload["errors"][0]["code"] == "NOT_FOUND"
    assert payload["errors"][0]["field"] == "subjectPersonId"


async def test_an_unknown_enum_value_fails_as_bad_input(gql: GraphQL) -> None:
    response = await gql(SUBMIT, {"input": _input(category="GOSSIP")}, audience=Audience.CONSTITUENT_SERVICES)
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Did you mean" not in error["message"]
