"""The research agreement workflow through HTTP: submit, approve, reject, revoke; typed refusals;
every transition in the ledger."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience, Partner
from tests.conftest import GraphQL
from tests.factories.people import make_facility

AGREEMENT = "errors { code field message } researchAgreement { id reference status version requestedFields requestedCohort grantedFields grantedCohort tier smallCellThreshold startsOn endsOn decidedBy decisionNote }"
SUBMIT = f"mutation($input: SubmitResearchRequestInput!) {{ submitResearchRequest(input: $input) {{ {AGREEMENT} }} }}"
APPROVE = f"mutation($input: ApproveResearchAgreementInput!) {{ approveResearchAgreement(input: $input) {{ {AGREEMENT} }} }}"
REJECT = f"mutation($input: DecideResearchAgreementInput!) {{ rejectResearchAgreement(input: $input) {{ {AGREEMENT} }} }}"
REVOKE = f"mutation($input: DecideResearchAgreementInput!) {{ revokeResearchAgreement(input: $input) {{ {AGREEMENT} }} }}"


def request(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "title": "ICVC and three-year return",
        "investigator": "Dr. A. Researcher",
        "institution": "State University",
        "irbNumber": "IRB-2026-17",
        "irbExpiresOn": "2099-06-30",
        "purpose": "Evaluate ICVC completion against return to custody.",
        "fields": ["sex", "programs_completed", "returned_3y", "admission_month"],
        "cohort": {"admissionYearFrom": 2018, "admissionYearTo": 2020, "sexes": ["FEMALE"]},
    }
    values.update(overrides)
    return values


def approval(agreement: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "id": agreement["id"],
        "version": agreement["version"],
        "grantedFields": ["sex", "returned_3y"],
        "grantedCohort": {"admissionYearFrom": 2018, "admissionYearTo": 2019},
        "startsOn": "2026-01-01",
        "endsOn": "2098-12-31",
        "tier": "AGGREGATE",
    }
    values.update(overrides)
    return values


async def submit(gql: GraphQL, **overrides: Any) -> dict[str, Any]:
    body = (await gql(SUBMIT, {"input": request(**overrides)}, audience=Audience.RESEARCHER)).json()
    assert "errors" not in body, body
    return body["data"]["submitResearchRequest"]  # type: ignore[no-any-return]


async def test_submit_approve_revoke_with_every_transition_in_the_ledger(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    submitted = await submit(gql)
    assert submitted["errors"] == []
    agreement = submitted["researchAgreement"]
    assert agreement["status"] == "SUBMITTED"
    assert agreement["reference"].startswith("RA-")
    assert agreement["requestedFields"] == ["sex", "admission_month", "programs_completed", "returned_3y"]
    # The cohort reads back in the input's vocabulary: field names and enum names as given.
    assert agreement["requestedCohort"]["sexes"] == ["FEMALE"]
    assert agreement["requestedCohort"]["admissionYearFrom"] == 2018
    body = (await gql(APPROVE, {"input": approval(agreement)}, audience=Audience.RESEARCH_UNIT)).json()
    approved = body["data"]["approveResearchAgreement"]
    assert approved["errors"] == [], approved
    assert approved["researchAgreement"]["status"] == "APPROVED"
    assert approved["researchAgreement"]["smallCellThreshold"] == 11
    assert approved["researchAgreement"]["tier"] == "AGGREGATE"
    assert approved["researchAgreement"]["grantedCohort"] == {
        "admissionYearFrom": 2018, "admissionYearTo": 2019, "facilities": [], "offenseClasses": [], "sexes": []
    }  # fmt: skip
    assert approved["researchAgreement"]["grantedFields"] == ["sex", "returned_3y"]
    # The researcher sees its own request and its status.
    mine = (
        await gql("{ researchAgreements { nodes { reference status } } }", audience=Audience.RESEARCHER)
    ).json()
    assert {"reference": agreement["reference"], "status": "APPROVED"} in mine["data"]["researchAgreements"][
        "nodes"
    ]
    body = (
        await gql(
            REVOKE,
            {"input": {"id": agreement["id"], "version": 2, "note": "Breach."}},
            audience=Audience.RESEARCH_UNIT,
        )
    ).json()
    assert body["data"]["revokeResearchAgreement"]["researchAgreement"]["status"] == "REVOKED"
    events = list(
        await session.scalars(
            select(AuditEvent).where(AuditEvent.kind.like("research_agreement.%")).order_by(AuditEvent.id)
        )
    )
    assert [e.kind for e in events][-3:] == [
        "research_agreement.submitted",
        "research_agreement.approved",
        "research_agreement.revoked",
    ]
    assert events[-2].detail is not None
    assert events[-2].detail["threshold"] == 11
    assert events[-2].detail["tier"] == "aggregate"


async def test_reject_and_invalid_transitions(gql: GraphQL) -> None:
    agreement = (await submit(gql))["researchAgreement"]
    body = (
        await gql(
            REJECT,
            {"input": {"id": agreement["id"], "version": 1, "note": "Too broad."}},
            audience=Audience.RESEARCH_UNIT,
        )
    ).json()
    rejected = body["data"]["rejectResearchAgreement"]
    assert rejected["researchAgreement"]["status"] == "REJECTED"
    assert rejected["researchAgreement"]["decisionNote"] == "Too broad."
    again = (
        await gql(APPROVE, {"input": approval(agreement, version=2)}, audience=Audience.RESEARCH_UNIT)
    ).json()
    [error] = again["data"]["approveResearchAgreement"]["errors"]
    assert error["code"] == "CONFLICT"
    assert error["field"] == "id"
    assert "rejected" in error["message"]
    revoke = (
        await gql(
            REVOKE,
            {"input": {"id": agreement["id"], "version": 2, "note": "x"}},
            audience=Audience.RESEARCH_UNIT,
        )
    ).json()
    assert revoke["data"]["revokeResearchAgreement"]["errors"][0]["code"] == "CONFLICT"
    stale = (
        await gql(
            REJECT,
            {"input": {"id": agreement["id"], "version": 1, "note": "x"}},
            audience=Audience.RESEARCH_UNIT,
        )
    ).json()
    assert stale["data"]["rejectResearchAgreement"]["errors"][0]["code"] == "STALE_VERSION"


async def test_typed_refusals_of_bad_requests(gql: GraphQL, session: AsyncSession) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"fields": ["sex", "name", "doc_id"]}, "fields", "unknown fields: doc_id, name"),
        ({"irbExpiresOn": "2020-01-01"}, "irbExpiresOn", "has passed"),
        (
            {"cohort": {"admissionYearFrom": 2020, "admissionYearTo": 2018}},
            "cohort.admissionYearTo",
            "not be before",
        ),
        (
            {"cohort": {"admissionYearFrom": 2018, "admissionYearTo": 2019, "facilities": ["NOPE"]}},
            "cohort.facilities",
            "unknown facility codes: NOPE",
        ),
        ({"title": "  "}, "title", "must not be blank"),
    ]
    for overrides, field, rule in cases:
        body = (await gql(SUBMIT, {"input": request(**overrides)}, audience=Audience.RESEARCHER)).json()
        [error] = body["data"]["submitResearchRequest"]["errors"]
        assert (error["code"], error["field"]) == ("INVALID", field), (overrides, error)
        assert rule in error["message"], (overrides, error)


async def test_typed_refusals_of_bad_approvals(gql: GraphQL, session: AsyncSession) -> None:
    facility = await make_facility(session)
    agreement = (await submit(gql, irbExpiresOn="2099-01-01"))["researchAgreement"]
    cases: list[tuple[dict[str, Any], str, str, str]] = [
        ({"startsOn": "2027-01-01", "endsOn": "2026-06-01"}, "INVALID", "endsOn", "not be before startsOn"),
        ({"smallCellThreshold": 0}, "INVALID", "smallCellThreshold", "between 1 and"),
        (
            {"tier": "RECORD", "smallCellThreshold": 1},
            "INVALID",
            "smallCellThreshold",
            "k and must be at least 2",
        ),
        ({"grantedFields": ["race"]}, "INVALID", "grantedFields", "not requested: race"),
        ({"grantedFields": ["bogus"]}, "INVALID", "grantedFields", "unknown fields: bogus"),
        ({"endsOn": "2099-06-01"}, "INVALID", "endsOn", "IRB approval expires"),
        (
            {
                "grantedCohort": {
                    "admissionYearFrom": 2018,
                    "admissionYearTo": 2018,
                    "facilities": [facility.code, "ZZZ"],
                }
            },
            "INVALID",
            "grantedCohort.facilities",
            "ZZZ",
        ),
    ]
    for overrides, code, field, rule in cases:
        body = (
            await gql(APPROVE, {"input": approval(agreement, **overrides)}, audience=Audience.RESEARCH_UNIT)
        ).json()
        [error] = body["data"]["approveResearchAgreement"]["errors"]
        assert (error["code"], error["field"]) == (code, field), (overrides, error)
        assert rule in error["message"], (overrides, error)
    ok = (
        await gql(
            APPROVE,
            {"input": approval(agreement, smallCellThreshold=5, tier="RECORD")},
            audience=Audience.RESEARCH_UNIT,
        )
    ).json()["data"]["approveResearchAgreement"]
    assert ok["errors"] == []
    assert ok["researchAgreement"]["smallCellThreshold"] == 5
    assert ok["researchAgreement"]["tier"] == "RECORD"


async def test_an_expired_irb_approval_cannot_be_approved(gql: GraphQL, session: AsyncSession) -> None:
    from sqlalchemy import update

    from resolvers.models.research import ResearchAgreement
    from schema.ids import from_global_id

    agreement = (await submit(gql))["researchAgreement"]
    await session.execute(
        update(ResearchAgreement)
        .where(ResearchAgreement.id == from_global_id("ResearchAgreement", agreement["id"]))
        .values(irb_expires_on=date(2021, 1, 1))
    )
    await session.flush()
    body = (await gql(APPROVE, {"input": approval(agreement)}, audience=Audience.RESEARCH_UNIT)).json()
    [error] = body["data"]["approveResearchAgreement"]["errors"]
    assert error["field"] == "irbExpiresOn"
    assert "expired on 2021-01-01" in error["message"]


async def test_only_the_research_unit_decides_and_only_researchers_submit(gql: GraphQL) -> None:
    agreement = (await submit(gql))["researchAgreement"]
    body = (await gql(APPROVE, {"input": approval(agreement)}, audience=Audience.RESEARCHER)).json()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    body = (await gql(SUBMIT, {"input": request()}, audience=Audience.RESEARCH_UNIT)).json()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_expiry_marks_agreements_past_their_end_and_destroys_their_keys(
    session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    from resolvers.models.research import ResearchAgreement
    from resolvers.research_writes import expire_agreements
    from tests.factories.research import make_agreement

    ended = await make_agreement(session, partners[Audience.RESEARCHER], ends_on=date(2026, 3, 1))
    running = await make_agreement(session, partners[Audience.RESEARCHER], ends_on=date(2026, 12, 31))
    expired = await expire_agreements(session, date(2026, 3, 2))
    assert ended.id in expired
    assert running.id not in expired
    rows = {
        r.id: (r.status, r.pseudonym_key)
        for r in await session.execute(
            select(ResearchAgreement.id, ResearchAgreement.status, ResearchAgreement.pseudonym_key).where(
                ResearchAgreement.id.in_([ended.id, running.id])
            )
        )
    }
    assert rows[ended.id] == ("expired", None)
    assert rows[running.id][0] == "approved"
    assert rows[running.id][1] is not None
    kinds = list(await session.scalars(select(AuditEvent.kind).order_by(AuditEvent.id.desc()).limit(1)))
    assert kinds == ["research_agreement.expired"]
