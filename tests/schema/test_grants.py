"""Federal awards through HTTP: awards with spending, subawards, disbursements, reports due in a
window, overdue or submitted, and spending against award amounts; budget_grants and admin only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.partners import Audience
from tests.conftest import GraphQL
from tests.factories.grants import make_award, make_disbursement, make_report, make_subaward
from tests.schema.test_victims import gid

BG = Audience.BUDGET_GRANTS


async def test_an_award_with_spending_subawards_disbursements_and_reports(
    gql: GraphQL, session: AsyncSession
) -> None:
    award = await make_award(session, amount=Decimal("1000.00"))
    sub = await make_subaward(session, award, amount=Decimal("300.00"))
    await make_disbursement(session, award, amount=Decimal("250.00"), paid_on=date(2026, 2, 1))
    await make_disbursement(
        session, award, amount=Decimal("100.50"), subaward_id=sub.id, paid_on=date(2026, 1, 1)
    )
    await make_report(session, award, kind="progress")
    query = """query($id: ID!) { federalAward(id: $id) {
      awardNumber amount spentAmount remainingAmount subawardedAmount status
      subawards { recipient amount award { awardNumber } }
      disbursements { amount paidOn subaward { recipient } }
      reports { kind overdue submittedOn }
    } }"""
    body = (await gql(query, {"id": gid("FederalAward", award.id)}, audience=BG)).json()
    assert "errors" not in body, body
    found = body["data"]["federalAward"]
    assert (found["amount"], found["spentAmount"], found["remainingAmount"], found["subawardedAmount"]) == (
        "1000.00",
        "350.50",
        "649.50",
        "300.00",
    )
    assert found["subawards"] == [
        {"recipient": sub.recipient, "amount": "300.00", "award": {"awardNumber": award.award_number}}
    ]
    assert [d["amount"] for d in found["disbursements"]] == ["100.50", "250.00"]  # by date paid
    assert found["disbursements"][0]["subaward"] == {"recipient": sub.recipient}
    assert found["reports"] == [{"kind": "PROGRESS", "overdue": True, "submittedOn": None}]


async def test_awards_with_reports_due_in_a_window(gql: GraphQL, session: AsyncSession) -> None:
    due_soon = await make_award(session, award_number="A-DUE")
    await make_report(session, due_soon, due_on=date(2027, 1, 30))
    submitted = await make_award(session, award_number="B-SUBMITTED")
    await make_report(session, submitted, due_on=date(2027, 1, 30), submitted_on=date(2026, 11, 1))
    later = await make_award(session, award_number="C-LATER")
    await make_report(session, later, due_on=date(2027, 6, 30))
    query = """query($from: Date, $to: Date) {
      federalAwards(reportsDueFrom: $from, reportsDueTo: $to) { totalCount nodes { awardNumber } } }"""
    body = (await gql(query, {"from": "2027-01-01", "to": "2027-03-31"}, audience=BG)).json()
    assert body["data"]["federalAwards"]["nodes"] == [{"awardNumber": "A-DUE"}]
    bad = (await gql(query, {"from": "2027-03-31", "to": "2027-01-01"}, audience=BG)).json()
    assert bad["errors"][0]["extensions"]["field"] == "reportsDueTo"


async def test_reports_due_overdue_and_submitted(gql: GraphQL, session: AsyncSession) -> None:
    today = datetime.now(UTC).date()
    award = await make_award(session)
    await make_report(session, award, due_on=today - timedelta(days=10))  # overdue
    await make_report(
        session, award, due_on=today - timedelta(days=20), submitted_on=today - timedelta(days=25)
    )
    await make_report(session, award, due_on=today + timedelta(days=30), kind="progress")
    query = """query($overdue: Boolean!, $submitted: Boolean, $from: Date, $to: Date, $kind: ReportKind, $award: ID) {
      awardReports(overdue: $overdue, submitted: $submitted, dueFrom: $from, dueTo: $to, kind: $kind, awardId: $award) {
        nodes { dueOn submittedOn overdue award { awardNumber } } } }"""
    aid = gid("FederalAward", award.id)

    async def due(**filters: object) -> list[str]:
        variables: dict[str, object] = {"overdue": False, "award": aid}
        variables.update(filters)
        body = (await gql(query, variables, audience=BG)).json()
        assert "errors" not in body, body
        return [n["dueOn"] for n in body["data"]["awardReports"]["nodes"]]

    d = [(today + timedelta(days=n)).isoformat() for n in (-20, -10, 30)]
    assert await due() == d
    assert await due(overdue=True) == [d[1]]
    assert await due(submitted=True) == [d[0]]
    assert await due(submitted=False) == [d[1], d[2]]
    assert await due(kind="PROGRESS") == [d[2]]
    assert await due(**{"from": today.isoformat(), "to": (today + timedelta(days=90)).isoformat()}) == [d[2]]


async def test_subawards_and_disbursements_lists(gql: GraphQL, session: AsyncSession) -> None:
    award = await make_award(session)
    other = await make_award(session)
    sub = await make_subaward(session, award)
    await make_subaward(session, other)
    await make_disbursement(session, award, paid_on=date(2026, 3, 1), kind="payment", subaward_id=sub.id)
    await make_disbursement(session, award, paid_on=date(2026, 1, 1))
    await make_disbursement(session, other, paid_on=date(2026, 2, 1))
    query = """query($award: ID, $from: Date, $to: Date, $kind: DisbursementKind, $sub: ID) {
      subawards(awardId: $award) { totalCount }
      disbursements(awardId: $award, paidFrom: $from, paidTo: $to, kind: $kind, subawardId: $sub) {
        totalCount nodes { paidOn kind payee purpose award { awardNumber } } } }"""
    aid = gid("FederalAward", award.id)
    data = (await gql(query, {"award": aid}, audience=BG)).json()["data"]
    assert data["subawards"]["totalCount"] == 1
    assert [n["paidOn"] for n in data["disbursements"]["nodes"]] == ["2026-01-01", "2026-03-01"]
    window = (await gql(query, {"award": aid, "from": "2026-02-01", "to": "2026-12-31"}, audience=BG)).json()
    assert window["data"]["disbursements"]["totalCount"] == 1
    kind = (await gql(query, {"kind": "PAYMENT", "sub": gid("Subaward", sub.id)}, audience=BG)).json()
    assert kind["data"]["disbursements"]["totalCount"] == 1


async def test_grants_are_budget_grants_and_admin_only(gql: GraphQL, session: AsyncSession) -> None:
    """Legislative offices read award totals only: tests/schema/test_grants_legislative.py."""
    award = await make_award(session)
    await make_disbursement(session, award)
    query = "{ federalAwards { totalCount } disbursements { totalCount } awardReports { totalCount } awardSpending { awardNumber } }"
    admin = (await gql(query, audience=Audience.ADMIN)).json()["data"]
    assert admin["federalAwards"]["totalCount"] >= 1
    for audience in (
        Audience.VICTIM_SERVICES,
        Audience.RESEARCHER,
        Audience.CONSTITUENT_SERVICES,
    ):
        body = (await gql(query, audience=audience)).json()
        if "errors" in body:  # the field policy may remove these roots from this audience's schema
            assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
            continue
        data = body["data"]
        assert (
            data["federalAwards"]["totalCount"],
            data["disbursements"]["totalCount"],
            data["awardSpending"],
        ) == (0, 0, []), audience


async def test_award_spending_against_award_amounts(gql: GraphQL, session: AsyncSession) -> None:
    spent = await make_award(session, award_number="S-1", amount=Decimal("200.00"))
    await make_disbursement(session, spent, amount=Decimal("50.00"))
    await make_disbursement(session, spent, amount=Decimal("100.00"))
    await make_subaward(session, spent, amount=Decimal("80.00"))
    await make_subaward(session, spent, amount=Decimal("20.00"))
    await make_award(session, award_number="S-2", amount=Decimal("0.00"))
    await make_award(session, award_number="S-3", status="closed")
    query = """query($status: AwardStatus) { awardSpending(status: $status) {
      awardId awardNumber amount spent remaining subawarded percentSpent } }"""
    rows = (await gql(query, {"status": "ACTIVE"}, audience=BG)).json()["data"]["awardSpending"]
    mine = {r["awardNumber"]: r for r in rows if r["awardNumber"].startswith("S-")}
    assert mine["S-1"] == {
        "awardId": gid("FederalAward", spent.id),
        "awardNumber": "S-1",
        "amount": "200.00",
        "spent": "150.00",
        "remaining": "50.00",
        "subawarded": "100.00",
        "percentSpent": 75.0,
    }
    assert mine["S-2"]["percentSpent"] is None
    assert "S-3" not in mine
