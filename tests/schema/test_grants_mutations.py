"""The grants unit's writes through HTTP: awards, subawards, disbursements, submitted reports; each
refusal names the field and the rule and writes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.grants import AwardReport, Disbursement, FederalAward, Subaward
from resolvers.models.partners import Audience
from tests.conftest import GraphQL
from tests.factories.grants import make_award, make_disbursement, make_report, make_subaward
from tests.schema.test_victims import gid

BG = Audience.BUDGET_GRANTS
FUTURE = (date.today() + timedelta(days=2)).isoformat()
ERRORS = "errors { code field message } replayed"

AWARD = f"""mutation($input: RecordFederalAwardInput!, $key: String) {{ recordFederalAward(input: $input, idempotencyKey: $key) {{
  award {{ awardNumber amount spentAmount remainingAmount status version }} {ERRORS} }} }}"""
SUBAWARD = f"""mutation($input: RecordSubawardInput!) {{ recordSubaward(input: $input) {{
  subaward {{ recipient amount award {{ subawardedAmount }} }} {ERRORS} }} }}"""
DISBURSE = f"""mutation($input: RecordDisbursementInput!, $key: String) {{ recordDisbursement(input: $input, idempotencyKey: $key) {{
  disbursement {{ amount paidOn award {{ spentAmount remainingAmount version }} }} {ERRORS} }} }}"""
SUBMIT = f"""mutation($input: SubmitAwardReportInput!) {{ submitAwardReport(input: $input) {{
  report {{ submittedOn version overdue }} {ERRORS} }} }}"""


async def count(session: AsyncSession, model: Any) -> int:
    return (await session.scalar(select(func.count()).select_from(model))) or 0


async def post(
    gql: GraphQL, mutation: str, values: dict[str, object], key: str | None = None
) -> dict[str, Any]:
    body = (await gql(mutation, {"input": values, "key": key}, audience=BG)).json()
    assert "errors" not in body, body
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


def _award(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "awardNumber": "15PBJA-27-GG-00001",
        "agency": "Bureau of Justice Assistance",
        "assistanceListing": "16.812",
        "title": "Second Chance Act",
        "periodStart": "2026-10-01",
        "periodEnd": "2029-09-30",
        "amount": "900000.00",
    }
    values.update(overrides)
    return values


async def test_record_an_award_and_replay_it(gql: GraphQL, session: AsyncSession) -> None:
    before = await count(session, FederalAward)
    first = await post(gql, AWARD, _award(), key="award-1")
    again = await post(gql, AWARD, _award(), key="award-1")
    assert first["errors"] == []
    assert first["award"] == {
        "awardNumber": "15PBJA-27-GG-00001",
        "amount": "900000.00",
        "spentAmount": "0.00",
        "remainingAmount": "900000.00",
        "status": "ACTIVE",
        "version": 1,
    }
    assert again["replayed"] is True
    assert await count(session, FederalAward) == before + 1


@pytest.mark.parametrize(
    ("overrides", "code", "field", "message"),
    [
        ({"periodEnd": "2026-09-30"}, "INVALID", "periodEnd", "must be after periodStart"),
        ({"periodEnd": "2026-10-01"}, "INVALID", "periodEnd", "must be after periodStart"),
        ({"amount": "-1.00"}, "INVALID", "amount", "must not be negative"),
        ({"assistanceListing": "16812"}, "INVALID", "assistanceListing", "16.812"),
        ({"title": "t" * 201}, "INVALID", "title", "at most 200"),
        ({"awardNumber": "n" * 33}, "INVALID", "awardNumber", "at most 32"),
        ({"awardNumber": "DUPLICATE-1"}, "CONFLICT", "awardNumber", "already recorded"),
    ],
)
async def test_award_refusals_write_nothing(
    gql: GraphQL, session: AsyncSession, overrides: dict[str, object], code: str, field: str, message: str
) -> None:
    await make_award(session, award_number="DUPLICATE-1")
    before = await count(session, FederalAward)
    payload = await post(gql, AWARD, _award(**overrides))
    assert payload["award"] is None
    [error] = payload["errors"]
    assert (error["code"], error["field"]) == (code, field)
    assert message in error["message"]
    assert await count(session, FederalAward) == before


async def test_a_zero_award_is_allowed(gql: GraphQL) -> None:
    payload = await post(gql, AWARD, _award(awardNumber="ZERO-1", amount="0"))
    assert payload["errors"] == []


async def test_subawards_stay_within_the_award(gql: GraphQL, session: AsyncSession) -> None:
    award = await make_award(session, amount=Decimal("1000.00"))
    await make_subaward(session, award, amount=Decimal("600.00"))
    closed = await make_award(session, status="closed")
    aid = gid("FederalAward", award.id)
    base: dict[str, object] = {
        "awardId": aid,
        "recipient": "Reentry Partner",
        "amount": "400.00",
        "periodStart": "2026-01-01",
        "periodEnd": "2026-12-31",
    }
    ok = await post(gql, SUBAWARD, base)
    assert ok["errors"] == []
    assert ok["subaward"]["award"] == {"subawardedAmount": "1000.00"}
    before = await count(session, Subaward)
    cases: list[tuple[dict[str, object], str, str, str]] = [
        ({"amount": "0.01"}, "INVALID", "amount", "remains of the award to subaward (0.00)"),
        ({"amount": "-5"}, "INVALID", "amount", "more than zero"),
        ({"periodStart": "2025-01-01"}, "INVALID", "periodStart", "within the award's period"),
        ({"periodEnd": "2030-01-01"}, "INVALID", "periodEnd", "within the award's period"),
        ({"periodEnd": "2025-12-31"}, "INVALID", "periodEnd", "must not be before periodStart"),
        ({"recipient": "r" * 161}, "INVALID", "recipient", "at most 160"),
        ({"awardId": gid("FederalAward", 99_999_999)}, "NOT_FOUND", "awardId", "not found"),
        ({"awardId": gid("FederalAward", closed.id)}, "CONFLICT", "awardId", "closed"),
    ]
    for overrides, code, field, message in cases:
        payload = await post(gql, SUBAWARD, {**base, **overrides})
        [error] = payload["errors"]
        assert (error["code"], error["field"]) == (code, field), overrides
        assert message in error["message"], error
    assert await count(session, Subaward) == before


async def test_disbursements_never_go_beyond_the_remaining_balance(
    gql: GraphQL, session: AsyncSession
) -> None:
    award = await make_award(session, amount=Decimal("1000.00"))
    await make_disbursement(session, award, amount=Decimal("900.00"))
    aid = gid("FederalAward", award.id)
    base: dict[str, object] = {
        "awardId": aid,
        "kind": "DRAWDOWN",
        "paidOn": "2026-11-01",
        "amount": "100.00",
        "payee": "Treasury",
        "purpose": "Drawdown",
    }
    too_much = await post(gql, DISBURSE, {**base, "amount": "100.01"})
    assert too_much["errors"] == [
        {
            "code": "INVALID",
            "field": "amount",
            "message": "amount must not exceed the award's remaining balance (100.00)",
        }
    ]
    exact = await post(gql, DISBURSE, base, key="d-1")
    assert exact["errors"] == []
    assert exact["disbursement"]["award"] == {
        "spentAmount": "1000.00",
        "remainingAmount": "0.00",
        "version": 2,
    }
    replay = await post(gql, DISBURSE, base, key="d-1")
    assert replay["replayed"] is True
    assert await count(session, Disbursement) == 2
    nothing_left = await post(gql, DISBURSE, {**base, "amount": "0.01"})
    assert nothing_left["errors"][0]["field"] == "amount"


async def test_disbursement_refusals_write_nothing(gql: GraphQL, session: AsyncSession) -> None:
    award = await make_award(session, amount=Decimal("1000.00"))
    sub = await make_subaward(session, award, amount=Decimal("50.00"))
    other_sub = await make_subaward(session, await make_award(session))
    aid = gid("FederalAward", award.id)
    base: dict[str, object] = {
        "awardId": aid,
        "kind": "PAYMENT",
        "paidOn": "2026-11-01",
        "amount": "10.00",
        "payee": "P",
        "purpose": "Rent",
    }
    cases: list[tuple[dict[str, object], str, str]] = [
        ({"amount": "-10.00"}, "INVALID", "amount"),
        ({"amount": "0"}, "INVALID", "amount"),
        ({"paidOn": FUTURE}, "INVALID", "paidOn"),
        ({"paidOn": "2025-09-30"}, "INVALID", "paidOn"),  # before the award's period
        ({"payee": "p" * 161}, "INVALID", "payee"),
        ({"purpose": ""}, "INVALID", "purpose"),
        ({"subawardId": gid("Subaward", sub.id), "amount": "50.01"}, "INVALID", "amount"),
        ({"subawardId": gid("Subaward", other_sub.id)}, "NOT_FOUND", "subawardId"),
        ({"awardId": gid("FederalAward", 99_999_999)}, "NOT_FOUND", "awardId"),
    ]
    before = await count(session, Disbursement)
    for overrides, code, field in cases:
        payload = await post(gql, DISBURSE, {**base, **overrides})
        assert payload["disbursement"] is None
        assert (payload["errors"][0]["code"], payload["errors"][0]["field"]) == (code, field), overrides
    assert await count(session, Disbursement) == before


async def test_submit_a_report_once(gql: GraphQL, session: AsyncSession) -> None:
    award = await make_award(session)
    report = await make_report(session, award)
    rid = gid("AwardReport", report.id)
    done = await post(gql, SUBMIT, {"id": rid, "version": 1, "submittedOn": "2026-10-28"})
    assert done["errors"] == []
    assert done["report"] == {"submittedOn": "2026-10-28", "version": 2, "overdue": False}
    again = await post(gql, SUBMIT, {"id": rid, "version": 2})
    assert again["errors"] == [
        {"code": "CONFLICT", "field": "id", "message": "id was already submitted on 2026-10-28"}
    ]


async def test_report_refusals_write_nothing(gql: GraphQL, session: AsyncSession) -> None:
    report = await make_report(session, await make_award(session))
    rid = gid("AwardReport", report.id)
    cases: list[tuple[dict[str, object], str, str]] = [
        ({"version": 7}, "STALE_VERSION", "version"),
        ({"submittedOn": FUTURE}, "INVALID", "submittedOn"),
        ({"submittedOn": "2026-06-30"}, "INVALID", "submittedOn"),  # before the period reported on
        ({"id": gid("AwardReport", 99_999_999)}, "NOT_FOUND", "id"),
    ]
    for overrides, code, field in cases:
        payload = await post(gql, SUBMIT, {"id": rid, "version": 1, **overrides})
        assert (payload["errors"][0]["code"], payload["errors"][0]["field"]) == (code, field), overrides
    submitted = await session.scalar(select(AwardReport.submitted_on).where(AwardReport.id == report.id))
    assert submitted is None


async def test_only_the_grants_unit_and_admin_can_write(gql: GraphQL, session: AsyncSession) -> None:
    award = await make_award(session)
    body = (
        await gql(
            DISBURSE,
            {
                "input": {
                    "awardId": gid("FederalAward", award.id),
                    "kind": "DRAWDOWN",
                    "paidOn": "2026-11-01",
                    "amount": "1.00",
                    "payee": "P",
                    "purpose": "x",
                }
            },
            audience=Audience.LEGISLATIVE,
        )
    ).json()
    if "errors" in body:
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    else:
        assert body["data"]["recordDisbursement"]["errors"][0]["code"] == "NOT_FOUND"
