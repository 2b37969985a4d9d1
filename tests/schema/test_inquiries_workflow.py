"""The inquiry workflow through HTTP: assign, respond, close, reopen; invalid transitions, stale
versions, unknown ids and bad input are typed errors and write nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.inquiries import Inquiry, InquiryResponse
from resolvers.models.partners import Audience
from tests.conftest import GraphQL
from tests.factories.inquiries import make_inquiry
from tests.schema.test_victims import gid

CS = Audience.CONSTITUENT_SERVICES

FIELDS = "inquiry { status version assignedTo closedAt reopenedCount dueOn responses { body } } errors { code field message } replayed"
ASSIGN = f"mutation($input: AssignInquiryInput!, $key: String) {{ assignInquiry(input: $input, idempotencyKey: $key) {{ {FIELDS} }} }}"
RESPOND = f"mutation($input: RespondToInquiryInput!) {{ respondToInquiry(input: $input) {{ {FIELDS} }} }}"
CLOSE = f"mutation($input: InquiryTransitionInput!) {{ closeInquiry(input: $input) {{ {FIELDS} }} }}"
REOPEN = f"mutation($input: InquiryTransitionInput!) {{ reopenInquiry(input: $input) {{ {FIELDS} }} }}"


async def run(gql: GraphQL, mutation: str, **values: object) -> dict[str, Any]:
    body = (await gql(mutation, {"input": values}, audience=CS)).json()
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


async def state(session: AsyncSession, pk: int) -> tuple[str, int, int]:
    row = (await session.execute(select(Inquiry.status, Inquiry.version).where(Inquiry.id == pk))).one()
    responses = await session.scalar(
        select(func.count()).select_from(InquiryResponse).where(InquiryResponse.inquiry_id == pk)
    )
    return row.status, row.version, responses or 0


async def test_the_whole_workflow(gql: GraphQL, session: AsyncSession) -> None:
    inquiry = await make_inquiry(session)
    iid = gid("Inquiry", inquiry.id)
    assigned = await run(gql, ASSIGN, id=iid, version=1, assignedTo="J. Caseworker")
    assert assigned["errors"] == []
    assert assigned["inquiry"]["status"] == "ASSIGNED"
    assert assigned["inquiry"]["assignedTo"] == "J. Caseworker"
    responded = await run(
        gql,
        RESPOND,
        id=iid,
        version=2,
        responder="J. Caseworker",
        channel="EMAIL",
        body="An appointment is set.",
    )
    assert responded["inquiry"]["status"] == "RESPONDED"
    assert responded["inquiry"]["responses"] == [{"body": "An appointment is set."}]
    closed = await run(gql, CLOSE, id=iid, version=3)
    assert closed["inquiry"]["status"] == "CLOSED"
    assert closed["inquiry"]["closedAt"] is not None
    reopened = await run(gql, REOPEN, id=iid, version=4)
    assert reopened["inquiry"]["status"] == "ASSIGNED"
    assert reopened["inquiry"]["closedAt"] is None
    assert reopened["inquiry"]["reopenedCount"] == 1
    assert reopened["inquiry"]["version"] == 5


async def test_assign_replays_with_the_same_key(gql: GraphQL, session: AsyncSession) -> None:
    inquiry = await make_inquiry(session)
    variables = {
        "input": {"id": gid("Inquiry", inquiry.id), "version": 1, "assignedTo": "A"},
        "key": "assign-1",
    }
    first = (await gql(ASSIGN, variables, audience=CS)).json()["data"]["assignInquiry"]
    second = (await gql(ASSIGN, variables, audience=CS)).json()["data"]["assignInquiry"]
    assert first["errors"] == []
    assert second["replayed"] is True
    assert second["errors"] == []
    assert await state(session, inquiry.id) == ("assigned", 2, 0)


@pytest.mark.parametrize(
    ("status", "mutation", "values", "code", "field", "message"),
    [
        ("closed", CLOSE, {}, "CONFLICT", "id", "already closed"),
        (
            "closed",
            RESPOND,
            {"responder": "R", "channel": "EMAIL", "body": "b"},
            "CONFLICT",
            "id",
            "is closed",
        ),
        ("closed", ASSIGN, {"assignedTo": "A"}, "CONFLICT", "id", "is closed"),
        ("received", REOPEN, {}, "CONFLICT", "id", "only a closed inquiry can be reopened"),
        ("responded", REOPEN, {}, "CONFLICT", "id", "is responded, not closed"),
        ("received", ASSIGN, {"assignedTo": "  "}, "INVALID", "assignedTo", "must not be blank"),
        ("received", ASSIGN, {"assignedTo": "a" * 121}, "INVALID", "assignedTo", "at most 120"),
        (
            "received",
            RESPOND,
            {"responder": "R", "channel": "EMAIL", "body": "b" * 10_001},
            "INVALID",
            "body",
            "at most",
        ),
        (
            "received",
            RESPOND,
            {"responder": "", "channel": "EMAIL", "body": "b"},
            "INVALID",
            "responder",
            "blank",
        ),
    ],
)
async def test_refusals_write_nothing(
    gql: GraphQL,
    session: AsyncSession,
    status: str,
    mutation: str,
    values: dict[str, object],
    code: str,
    field: str,
    message: str,
) -> None:
    inquiry = await make_inquiry(session, status=status)
    before = await state(session, inquiry.id)
    payload = await run(gql, mutation, id=gid("Inquiry", inquiry.id), version=1, **values)
    assert payload["inquiry"] is None
    [error] = payload["errors"]
    assert (error["code"], error["field"]) == (code, field)
    assert message in error["message"]
    assert await state(session, inquiry.id) == before


@pytest.mark.parametrize("mutation", [ASSIGN, RESPOND, CLOSE, REOPEN])
async def test_stale_version_and_unknown_id(gql: GraphQL, session: AsyncSession, mutation: str) -> None:
    inquiry = await make_inquiry(session, status="closed" if mutation == REOPEN else "received", version=3)
    extra: dict[str, object] = {}
    if mutation == ASSIGN:
        extra = {"assignedTo": "A"}
    elif mutation == RESPOND:
        extra = {"responder": "R", "channel": "EMAIL", "body": "b"}
    before = await state(session, inquiry.id)
    stale = await run(gql, mutation, id=gid("Inquiry", inquiry.id), version=2, **extra)
    assert stale["errors"][0]["code"] == "STALE_VERSION"
    assert "is at version 3, you sent 2" in stale["errors"][0]["message"]
    unknown = await run(gql, mutation, id=gid("Inquiry", 99_999_999), version=1, **extra)
    assert (unknown["errors"][0]["code"], unknown["errors"][0]["field"]) == ("NOT_FOUND", "id")
    assert await state(session, inquiry.id) == before


async def test_a_legislative_office_cannot_act_on_another_offices_inquiry(
    gql: GraphQL, session: AsyncSession
) -> None:
    inquiry = await make_inquiry(session)  # a family's: outside every office's scope
    body = (
        await gql(
            CLOSE, {"input": {"id": gid("Inquiry", inquiry.id), "version": 1}}, audience=Audience.LEGISLATIVE
        )
    ).json()
    if "errors" in body:  # the field policy may remove the mutation from the office's schema
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    else:
        assert body["data"]["closeInquiry"]["errors"][0]["code"] == "NOT_FOUND"
    assert (await state(session, inquiry.id))[0] == "received"
