"""Inquiries by month and category with the median response time, computed in SQL on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.partners import Audience, Partner
from tests.conftest import GraphQL
from tests.factories.inquiries import make_inquiry, make_response

STATS = """query($from: Date!, $to: Date!, $category: InquiryCategory) {
  inquiryStatistics(from: $from, to: $to, category: $category) {
    month category received closed responded medianResponseDays
  }
}"""

OCT = datetime(2026, 10, 3, 9, 0, tzinfo=UTC)


async def test_counts_and_median_response_time_by_month_and_category(
    gql: GraphQL, session: AsyncSession
) -> None:
    # October, medical: first responses after 1, 2, 4 and 10 days -> median 3 (even count: mean of 2 and 4).
    for days in (1, 2, 4, 10):
        inquiry = await make_inquiry(session, received_at=OCT, category="medical", status="closed")
        await make_response(session, inquiry, after=timedelta(days=days))
        await make_response(session, inquiry, after=timedelta(days=days + 30))  # later answers don't count
    await make_inquiry(session, received_at=OCT, category="medical")  # not yet answered
    # October, visiting: 12 hours -> 0.5 days.
    visiting = await make_inquiry(session, received_at=OCT + timedelta(days=5), category="visiting")
    await make_response(session, visiting, after=timedelta(hours=12))
    # November, medical: odd count 1, 3, 8 -> 3.
    for days in (8, 1, 3):
        inquiry = await make_inquiry(
            session, received_at=datetime(2026, 11, 2, tzinfo=UTC), category="medical"
        )
        await make_response(session, inquiry, after=timedelta(days=days))
    await make_inquiry(session, received_at=datetime(2026, 12, 1, tzinfo=UTC))  # outside the window

    body = (await gql(STATS, {"from": "2026-10-01", "to": "2026-11-30"}, audience=Audience.ADMIN)).json()
    assert "errors" not in body, body
    assert body["data"]["inquiryStatistics"] == [
        {
            "month": "2026-10",
            "category": "MEDICAL",
            "received": 5,
            "closed": 4,
            "responded": 4,
            "medianResponseDays": 3.0,
        },
        {
            "month": "2026-10",
            "category": "VISITING",
            "received": 1,
            "closed": 0,
            "responded": 1,
            "medianResponseDays": 0.5,
        },
        {
            "month": "2026-11",
            "category": "MEDICAL",
            "received": 3,
            "closed": 0,
            "responded": 3,
            "medianResponseDays": 3.0,
        },
    ]
    only = (
        await gql(
            STATS, {"from": "2026-10-01", "to": "2026-10-31", "category": "VISITING"}, audience=Audience.ADMIN
        )
    ).json()
    assert [r["category"] for r in only["data"]["inquiryStatistics"]] == ["VISITING"]


async def test_unanswered_months_have_no_median(gql: GraphQL, session: AsyncSession) -> None:
    await make_inquiry(session, received_at=OCT)
    body = (
        await gql(STATS, {"from": "2026-10-01", "to": "2026-10-31"}, audience=Audience.CONSTITUENT_SERVICES)
    ).json()
    [row] = body["data"]["inquiryStatistics"]
    assert row["responded"] == 0
    assert row["medianResponseDays"] is None


async def test_row_scope_applies_to_statistics(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    await make_inquiry(
        session, received_at=OCT, source="legislative", partner_id=partners[Audience.LEGISLATIVE].id
    )
    await make_inquiry(session, received_at=OCT)
    body = (
        await gql(STATS, {"from": "2026-10-01", "to": "2026-10-31"}, audience=Audience.LEGISLATIVE)
    ).json()
    if "errors" in body:  # the field policy may remove the statistic from this audience's schema
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        return
    assert [r["received"] for r in body["data"]["inquiryStatistics"]] == [1]


async def test_bad_windows_are_bad_input(gql: GraphQL) -> None:
    for window, field in (
        ({"from": "2026-10-02", "to": "2026-10-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "to"),
    ):
        body = (await gql(STATS, window, audience=Audience.ADMIN)).json()
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert body["errors"][0]["extensions"]["field"] == field
