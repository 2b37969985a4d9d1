"""A root field that fails on a bad argument next to one that reads (issue 14, item 9).

graphql-core returns as soon as the non-null field fails, while the sibling it cancelled is still
running its loader's statement; the ledger's write then found the session "provisioning a new
connection" and the request answered 500. The operation's end now waits for statements under way.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.ledger import AuditEvent
from resolvers.session import RequestClosed, RequestDb
from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.factories.people import make_person

QUERY = """query($id: ID!) {
  person(id: $id) { docId }
  people(after: "!!!", first: 1) { totalCount }
}"""


async def test_a_sibling_failing_on_a_bad_argument_is_a_clean_error_every_time(
    gql: GraphQL, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    person = await make_person(session)
    for _ in range(5):
        response = await gql(QUERY, {"id": to_global_id("Person", person.id)})
        assert response.status_code == 200, response.text
        body = response.json()
        assert [(e["extensions"]["code"], e["extensions"].get("field")) for e in body["errors"]] == [
            ("BAD_USER_INPUT", "after")
        ], body
        request_id = body["extensions"]["requestId"]
        outcome = await session.scalar(select(AuditEvent.outcome).where(AuditEvent.request_id == request_id))
        assert outcome == "invalid"
    assert caplog.records == [], caplog.text


async def test_close_waits_for_a_cancelled_statement_and_refuses_new_ones(db: RequestDb) -> None:
    started = asyncio.Event()

    async def slow() -> object:
        started.set()
        await asyncio.sleep(0.05)
        return await db.session.scalar(text("SELECT 1"))

    field = asyncio.ensure_future(db._locked(slow))
    await started.wait()
    field.cancel()  # as graphql-core cancels a sibling, without waiting for it
    await db.close()
    assert db._running == set()  # the statement ran to its end before close returned
    with pytest.raises(RequestClosed):
        await db.scalar(text("SELECT 1"))
    with pytest.raises(asyncio.CancelledError):
        await field
    assert await db.session.scalar(text("SELECT 2")) == 2  # the session is whole for the ledger
