"""A legislative office reads federal award totals (issue 14, item 16): each award's number, agency,
title, amount, spent and remaining, from ``federalAwards``, ``federalAward`` and ``awardSpending``,
the same figures the grants unit reads; never a payee, a subaward recipient, a disbursement or a
report, which are not even in its schema. No grants field answers it silently empty."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from auth.policy import readable
from resolvers.models.partners import Audience
from schema.audiences import audience_schemas
from schema.root import build_schema
from tests import docs
from tests.conftest import GraphQL
from tests.factories.grants import make_award, make_disbursement, make_report, make_subaward
from tests.schema.test_victims import gid

LEG = Audience.LEGISLATIVE
README = docs.section("cookbook")
BG = Audience.BUDGET_GRANTS

TOTALS = """query($id: ID!) {
  federalAwards(first: 100) { totalCount nodes { id awardNumber agency title amount spentAmount remainingAmount status } }
  federalAward(id: $id) { awardNumber agency title amount spentAmount remainingAmount }
  awardSpending { awardId awardNumber title amount spent remaining subawarded percentSpent }
}"""


async def test_a_legislative_office_reads_the_award_totals_the_grants_unit_reads(
    gql: GraphQL, session: AsyncSession
) -> None:
    award = await make_award(session, award_number="L-1", amount=Decimal("1000.00"))
    sub = await make_subaward(session, award, amount=Decimal("300.00"), recipient="Housing First")
    await make_disbursement(session, award, amount=Decimal("250.00"), payee="Acme Landlord LLC")
    await make_disbursement(session, award, amount=Decimal("100.50"), subaward_id=sub.id)
    await make_report(session, award)
    variables = {"id": gid("FederalAward", award.id)}
    office = (await gql(TOTALS, variables, audience=LEG)).json()
    unit = (await gql(TOTALS, variables, audience=BG)).json()
    assert "errors" not in office, office
    assert office["data"] == unit["data"]
    assert office["data"]["federalAward"] == {
        "awardNumber": "L-1",
        "agency": award.agency,
        "title": award.title,
        "amount": "1000.00",
        "spentAmount": "350.50",
        "remainingAmount": "649.50",
    }
    [spending] = [r for r in office["data"]["awardSpending"] if r["awardNumber"] == "L-1"]
    assert (spending["spent"], spending["remaining"], spending["subawarded"]) == (
        "350.50",
        "649.50",
        "300.00",
    )
    assert spending["awardId"] == variables["id"]
    assert "Acme Landlord LLC" not in str(office)
    assert "Housing First" not in str(office)


@pytest.mark.parametrize(
    "query",
    [
        "{ federalAwards { nodes { disbursements { payee } } } }",
        "{ federalAwards { nodes { subawards { recipient } } } }",
        "{ federalAwards { nodes { reports { dueOn } } } }",
        "{ federalAwards { nodes { subawardedAmount version } } }",
        "{ disbursements { totalCount } }",
        "{ subawards { totalCount } }",
        "{ awardReports { totalCount } }",
    ],
)
async def test_no_payee_recipient_disbursement_or_report_is_in_its_schema(gql: GraphQL, query: str) -> None:
    body = (await gql(query, audience=LEG)).json()
    assert {e["extensions"]["code"] for e in body["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}, body


async def test_the_report_due_filter_is_refused_not_answered_empty(
    gql: GraphQL, session: AsyncSession
) -> None:
    await make_report(session, await make_award(session))
    query = '{ federalAwards(reportsDueFrom: "2020-01-01") { totalCount } }'
    body = (await gql(query, audience=LEG)).json()
    assert body["data"] is None, body
    error = body["errors"][0]["extensions"]
    assert (error["code"], error["field"]) == ("BAD_USER_INPUT", "reportsDueFrom")
    assert (await gql(query, audience=BG)).json()["data"]["federalAwards"]["totalCount"] >= 1


def test_the_policy_gives_legislative_the_totals_and_nothing_of_the_detail() -> None:
    schema = audience_schemas(build_schema(), record=False)[LEG]
    award = schema.get_type("FederalAward")
    assert award is not None
    assert set(award.fields) == {  # type: ignore[attr-defined]
        "id",
        "awardNumber",
        "agency",
        "assistanceListing",
        "title",
        "periodStart",
        "periodEnd",
        "amount",
        "spentAmount",
        "remainingAmount",
        "status",
    }
    for type_name in ("Disbursement", "Subaward", "AwardReport"):
        assert schema.get_type(type_name) is None
    assert readable(LEG, "Query", "federalAwards")
    assert readable(LEG, "Query", "awardSpending")


async def test_the_readme_award_totals_operation_answers_a_legislative_office(
    gql: GraphQL, session: AsyncSession
) -> None:
    [operation] = [b for b in re.findall(r"```graphql\n(.*?)```", README, re.S) if "query AwardTotals" in b]
    award = await make_award(session, award_number="L-README")
    await make_disbursement(session, award, amount=Decimal("10.00"))
    body = (await gql(operation, audience=LEG)).json()
    assert "errors" not in body, body
    assert "L-README" in [n["awardNumber"] for n in body["data"]["federalAwards"]["nodes"]]
    assert "L-README" in [r["awardNumber"] for r in body["data"]["awardSpending"]]
