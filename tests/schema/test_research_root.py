"""The research root through HTTP: de-identified records of an agreement in force, only the granted
fields, pseudonyms that two agreements cannot link, access closed by expiry and revocation."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience, Partner
from resolvers.models.research import ResearchAgreement
from tests.conftest import GraphQL
from tests.factories.research_cohort import make_cohort, make_cohort_agreement
from tests.schema.test_victims import gid

RECORDS = """query($id: ID!, $after: String) { research(agreementId: $id) { reference
  records(first: 4, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    nodes { pseudonym birthYear sex race offenseClass admissionMonth releaseMonth facilityType
            programsCompleted returnedWithin1Year returnedWithin3Years } } } }"""


async def _all_records(
    gql: GraphQL, agreement_id: int, audience: Audience = Audience.RESEARCHER
) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        body = (
            await gql(
                RECORDS, {"id": gid("ResearchAgreement", agreement_id), "after": after}, audience=audience
            )
        ).json()
        assert "errors" not in body, body
        page = body["data"]["research"]["records"]
        nodes += page["nodes"]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def test_records_of_the_cohort_carry_only_de_identified_fields(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    cohort = await make_cohort(session, size=6)
    agreement = await make_cohort_agreement(session, partners[Audience.RESEARCHER], cohort)
    nodes = await _all_records(gql, agreement.id)
    assert len(nodes) == 6
    assert len({n["pseudonym"] for n in nodes}) == 6
    text = str(nodes)
    for person in cohort.people:
        assert person.doc_id not in text
        assert person.last_name not in text
    assert str(cohort.people[0].id) not in {n["pseudonym"] for n in nodes}
    first = next(n for n in nodes if n["programsCompleted"])
    assert first == {
        "pseudonym": first["pseudonym"],
        "birthYear": "1980",
        "sex": "MALE",
        "race": "WHITE",
        "offenseClass": "FELONY_C",
        "admissionMonth": "2018-01",
        "releaseMonth": "2019-03",
        "facilityType": "INSTITUTION",
        "programsCompleted": [cohort.program_code],
        "returnedWithin1Year": True,
        "returnedWithin3Years": True,
    }
    released = [n for n in nodes if n["releaseMonth"]]
    assert len(released) == 3
    assert sorted(n["returnedWithin1Year"] for n in released) == [False, False, True]
    assert all(n["returnedWithin1Year"] is None for n in nodes if not n["releaseMonth"])


async def test_every_research_response_names_its_agreement_as_authority(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    cohort = await make_cohort(session, size=2)
    agreement = await make_cohort_agreement(session, partners[Audience.RESEARCHER], cohort)
    body = (
        await gql(RECORDS, {"id": gid("ResearchAgreement", agreement.id)}, audience=Audience.RESEARCHER)
    ).json()
    assert "errors" not in body
    event = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))).one()
    assert event.audience == "researcher"
    assert event.authority == {"research_agreement": agreement.id}


async def test_a_field_not_granted_is_refused_by_name(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    cohort = await make_cohort(session, size=3)
    agreement = await make_cohort_agreement(
        session, partners[Audience.RESEARCHER], cohort, granted_fields=["sex", "admission_month"]
    )
    query = """query($id: ID!) { research(agreementId: $id) { records { nodes { pseudonym sex
      ...More } } } } fragment More on ResearchRecord { birthYear }"""
    body = (
        await gql(query, {"id": gid("ResearchAgreement", agreement.id)}, audience=Audience.RESEARCHER)
    ).json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == "FIELD_NOT_GRANTED"
    assert error["extensions"]["field"] == "birthYear"
    assert "not granted" in error["message"]
    assert agreement.reference in error["message"]
    assert body["data"] is None or body["data"]["research"] is None
    ok = (
        await gql(
            "query($id: ID!) { research(agreementId: $id) { records { nodes { pseudonym sex } } } }",
            {"id": gid("ResearchAgreement", agreement.id)},
            audience=Audience.RESEARCHER,
        )
    ).json()
    assert "errors" not in ok
    assert len(ok["data"]["research"]["records"]["nodes"]) == 3


async def test_two_agreements_over_the_same_people_give_unlinkable_pseudonyms(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    cohort = await make_cohort(session, size=8)
    first = await make_cohort_agreement(session, partners[Audience.RESEARCHER], cohort)
    second = await make_cohort_agreement(session, partners[Audience.RESEARCHER], cohort)
    a = await _all_records(gql, first.id)
    b = await _all_records(gql, second.id)
    pa, pb = {n["pseudonym"] for n in a}, {n["pseudonym"] for n in b}
    assert len(pa) == len(pb) == 8
    assert not pa & pb
    # Stable within an agreement: asking again gives the same pseudonyms.
    assert {n["pseudonym"] for n in await _all_records(gql, first.id)} == pa
    # Not in the same order either: the order is keyed by the agreement.
    assert [n["birthYear"] for n in a] != [n["birthYear"] for n in b] or len(a) < 3


async def test_revocation_closes_access_on_the_next_request(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    cohort = await make_cohort(session, size=2)
    agreement = await make_cohort_agreement(
        session,
        partners[Audience.RESEARCHER],
        cohort,
        status="submitted",
        granted_fields=None,
        granted_cohort=None,
        starts_on=None,
        ends_on=None,
        pseudonym_key=None,
    )
    agreement_id = gid("ResearchAgreement", agreement.id)
    approve = """mutation($input: ApproveResearchAgreementInput!) { approveResearchAgreement(input: $input) {
      errors { code field message } researchAgreement { status version } } }"""
    cohort_input = {"admissionYearFrom": 2018, "admissionYearTo": 2020, "facilities": [cohort.facility.code]}
    body = (
        await gql(
            approve,
            {
                "input": {
                    "id": agreement_id,
                    "version": 1,
                    "grantedFields": ["sex", "returned_1y"],
                    "grantedCohort": cohort_input,
                    "startsOn": "2020-01-01",
                    "endsOn": "2099-01-01",
                    "tier": "RECORD",
                    "smallCellThreshold": 2,
                }
            },
            audience=Audience.RESEARCH_UNIT,
        )
    ).json()
    assert body["data"]["approveResearchAgreement"]["errors"] == [], body
    query = "query($id: ID!) { research(agreementId: $id) { records { totalCount nodes { sex } } } }"
    before = (await gql(query, {"id": agreement_id}, audience=Audience.RESEARCHER)).json()
    assert before["data"]["research"]["records"]["totalCount"] == 2
    revoke = """mutation($input: DecideResearchAgreementInput!) { revokeResearchAgreement(input: $input) {
      errors { code } researchAgreement { status } } }"""
    body = (
        await gql(
            revoke,
            {"input": {"id": agreement_id, "version": 2, "note": "Data-handling incident."}},
            audience=Audience.RESEARCH_UNIT,
        )
    ).json()
    assert body["data"]["revokeResearchAgreement"] == {
        "errors": [],
        "researchAgreement": {"status": "REVOKED"},
    }
    after = (await gql(query, {"id": agreement_id}, audience=Audience.RESEARCHER)).json()
    assert after["data"] is None or after["data"]["research"] is None
    assert after["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert "revoked" in after["errors"][0]["message"]
    key = await session.scalar(
        select(ResearchAgreement.pseudonym_key).where(ResearchAgreement.id == agreement.id)
    )
    assert key is None
    kinds = list(
        await session.scalars(select(AuditEvent.kind).where(AuditEvent.kind.like("research_agreement.%")))
    )
    assert kinds[-2:] == ["research_agreement.approved", "research_agreement.revoked"]


async def test_expiry_closes_access_on_the_next_request(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    cohort = await make_cohort(session, size=2)
    agreement = await make_cohort_agreement(session, partners[Audience.RESEARCHER], cohort)
    query = "query($id: ID!) { research(agreementId: $id) { records { totalCount } } }"
    variables = {"id": gid("ResearchAgreement", agreement.id)}
    assert (await gql(query, variables, audience=Audience.RESEARCHER)).json()["data"]["research"][
        "records"
    ] == {"totalCount": 2}
    # The last day passes (nothing else changes: no job has marked it expired yet).
    await session.execute(
        update(ResearchAgreement).where(ResearchAgreement.id == agreement.id).values(ends_on=date(2021, 1, 1))
    )
    await session.flush()
    body = (await gql(query, variables, audience=Audience.RESEARCHER)).json()
    assert body["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert "ended on 2021-01-01" in body["errors"][0]["message"]


async def test_another_teams_agreement_and_other_audiences_are_refused(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    from tests.factories.research import make_research_partner

    cohort = await make_cohort(session, size=2)
    theirs = await make_cohort_agreement(session, await make_research_partner(session), cohort)
    query = "query($id: ID!) { research(agreementId: $id) { records { totalCount } } }"
    variables = {"id": gid("ResearchAgreement", theirs.id)}
    body = (await gql(query, variables, audience=Audience.RESEARCHER)).json()
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    for audience in (Audience.LEGISLATIVE, Audience.ADMIN, Audience.PROGRAMS):
        body = (await gql(query, variables, audience=audience)).json()
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED", audience
    unit = (await gql(query, variables, audience=Audience.RESEARCH_UNIT)).json()
    assert unit["data"]["research"]["records"]["totalCount"] == 2
