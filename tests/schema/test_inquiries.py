"""Inquiry reads through HTTP: filters (status, category, source, due window, overdue), responses,
subject person, and a legislative office seeing only its own inquiries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.partners import Audience, Partner
from tests.conftest import GraphQL
from tests.factories.grants import make_partner
from tests.factories.inquiries import make_inquiry, make_response
from tests.factories.people import make_person
from tests.schema.test_victims import gid

CS = Audience.CONSTITUENT_SERVICES

LIST = """
query($status: InquiryStatus, $category: InquiryCategory, $source: InquirySource, $overdue: Boolean!,
      $dueFrom: Date, $dueTo: Date, $subject: ID) {
  inquiries(status: $status, category: $category, source: $source, overdue: $overdue,
            dueFrom: $dueFrom, dueTo: $dueTo, subjectPersonId: $subject, first: 50) {
    totalCount nodes { summary status dueOn }
  }
}
"""


def _vars(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {"overdue": False}
    values.update(overrides)
    return values


async def test_filters_by_status_category_source_and_due_dates(gql: GraphQL, session: AsyncSession) -> None:
    today = datetime.now(UTC).date()
    received = datetime.now(UTC) - timedelta(days=30)
    await make_inquiry(
        session, summary="late medical", received_at=received, due_on=today - timedelta(days=3)
    )
    await make_inquiry(
        session,
        summary="late but closed",
        received_at=received,
        due_on=today - timedelta(days=5),
        status="closed",
    )
    await make_inquiry(
        session, summary="visiting", category="visiting", source="public", due_on=today + timedelta(days=4)
    )
    await make_inquiry(session, summary="assigned", status="assigned", due_on=today + timedelta(days=10))

    async def summaries(**overrides: object) -> list[str]:
        body = (await gql(LIST, _vars(**overrides), audience=CS)).json()
        assert "errors" not in body, body
        return [n["summary"] for n in body["data"]["inquiries"]["nodes"]]

    assert await summaries() == ["late but closed", "late medical", "visiting", "assigned"]  # by due date
    assert await summaries(overdue=True) == ["late medical"]
    assert await summaries(status="ASSIGNED") == ["assigned"]
    assert await summaries(category="VISITING") == ["visiting"]
    assert await summaries(source="PUBLIC") == ["visiting"]
    window = {"dueFrom": today.isoformat(), "dueTo": (today + timedelta(days=7)).isoformat()}
    assert await summaries(**window) == ["visiting"]


async def test_a_due_window_that_ends_before_it_starts_is_bad_input(gql: GraphQL) -> None:
    body = (await gql(LIST, _vars(dueFrom="2026-05-02", dueTo="2026-05-01"), audience=CS)).json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert body["errors"][0]["extensions"]["field"] == "dueTo"


async def test_an_inquiry_with_its_responses_and_subject_person(gql: GraphQL, session: AsyncSession) -> None:
    person = await make_person(session)
    inquiry = await make_inquiry(session, subject_person_id=person.id)
    await make_response(session, inquiry, after=timedelta(days=3), body="second")
    await make_response(session, inquiry, after=timedelta(days=1), body="first")
    query = """query($id: ID!) { inquiry(id: $id) {
      reference subjectPerson { docId } responses { body responder channel } } }"""
    body = (await gql(query, {"id": gid("Inquiry", inquiry.id)}, audience=CS)).json()
    found = body["data"]["inquiry"]
    assert found["subjectPerson"]["docId"] == person.doc_id
    assert [r["body"] for r in found["responses"]] == ["first", "second"]
    by_subject = (await gql(LIST, _vars(subject=gid("Person", person.id)), audience=CS)).json()
    assert by_subject["data"]["inquiries"]["totalCount"] == 1


async def test_a_legislative_office_sees_only_its_own_inquiries_and_their_responses(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    office = partners[Audience.LEGISLATIVE]
    other: Partner = await make_partner(session)
    mine = await make_inquiry(session, summary="ours", source="legislative", partner_id=office.id)
    theirs = await make_inquiry(session, summary="theirs", source="legislative", partner_id=other.id)
    await make_inquiry(session, summary="a family's")
    await make_response(session, mine, body="answer to us")
    query = """query($mine: ID!, $theirs: ID!) {
      inquiries { nodes { summary responses { body } } }
      theirs: inquiry(id: $theirs) { summary }
      mine: inquiry(id: $mine) { summary }
    }"""
    variables = {"mine": gid("Inquiry", mine.id), "theirs": gid("Inquiry", theirs.id)}
    data = (await gql(query, variables, audience=Audience.LEGISLATIVE)).json()["data"]
    assert data["inquiries"]["nodes"] == [{"summary": "ours", "responses": [{"body": "answer to us"}]}]
    assert data["theirs"] is None
    assert data["mine"] == {"summary": "ours"}


async def test_audiences_outside_the_matrix_see_no_inquiry(gql: GraphQL, session: AsyncSession) -> None:
    await make_inquiry(session)
    for audience in (Audience.VICTIM_SERVICES, Audience.REENTRY, Audience.BUDGET_GRANTS):
        body = (await gql("{ inquiries { totalCount } }", audience=audience)).json()
        if "errors" in body:  # the field policy may remove the root from this audience's schema
            assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
            continue
        assert body["data"]["inquiries"]["totalCount"] == 0, audience
