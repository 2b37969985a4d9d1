"""Research agreements through HTTP: the research unit and admin read all, a researcher its own;
the pseudonym key is not in the schema at all."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.partners import Audience, Partner
from schema.root import build_schema
from tests.conftest import GraphQL
from tests.factories.research import make_agreement, make_extract, make_research_partner
from tests.schema.test_victims import gid

QUERY = """query($status: AgreementStatus) { researchAgreements(status: $status, first: 20) { totalCount nodes {
  id reference partner title investigator institution irbNumber irbExpiresOn purpose requestedFields requestedCohort
  grantedFields grantedCohort startsOn endsOn tier smallCellThreshold status decidedAt decidedBy decisionNote version
  extracts { fields rowCount requestedBy }
} } }"""


async def test_the_research_unit_reads_every_field_of_the_agreement(
    gql: GraphQL, session: AsyncSession
) -> None:
    partner = await make_research_partner(session)
    agreement = await make_agreement(session, partner)
    await make_extract(session, agreement)
    body = (await gql(QUERY, {"status": "APPROVED"}, audience=Audience.RESEARCH_UNIT)).json()
    assert "errors" not in body, body
    [node] = [n for n in body["data"]["researchAgreements"]["nodes"] if n["reference"] == agreement.reference]
    assert node["partner"] == partner.name
    # The cohort input's vocabulary, not the stored one (admitted_from: "2018-01-01").
    assert node["requestedCohort"] == {
        "admissionYearFrom": 2018, "admissionYearTo": 2020, "facilities": [], "offenseClasses": [], "sexes": []
    }  # fmt: skip
    assert node["tier"] == "RECORD"
    assert node["grantedFields"] == ["sex", "icvc_completed", "returned_3y"]
    assert node["smallCellThreshold"] == 11
    assert node["extracts"] == [
        {"fields": ["sex", "returned_3y"], "rowCount": 1200, "requestedBy": "Dr. R. Searcher"}
    ]
    assert "secret" not in str(body)
    one = (
        await gql(
            "query($id: ID!) { researchAgreement(id: $id) { title } }",
            {"id": node["id"]},
            audience=Audience.ADMIN,
        )
    ).json()
    assert one["data"]["researchAgreement"]["title"] == agreement.title


def test_the_pseudonym_key_is_not_in_the_schema() -> None:
    # Records carry a pseudonym (the research root); the key that makes them never appears.
    sdl = str(build_schema()).lower()
    assert "pseudonymkey" not in sdl
    assert "pseudonym_key" not in sdl
    agreement = build_schema()._schema.type_map["ResearchAgreement"]
    assert not [f for f in agreement.fields if "pseudonym" in f.lower() or "key" in f.lower()]  # type: ignore[attr-defined]


async def test_a_researcher_sees_only_its_own_agreements(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    own = await make_agreement(session, partners[Audience.RESEARCHER])
    await make_extract(session, own)
    other = await make_agreement(session, await make_research_partner(session))
    await make_extract(session, other)
    body = (await gql(QUERY, {}, audience=Audience.RESEARCHER)).json()
    if "errors" in body:  # the field policy may narrow the researcher's schema
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        return
    nodes = body["data"]["researchAgreements"]["nodes"]
    assert [n["reference"] for n in nodes] == [own.reference]
    lookup = "query($id: ID!) { researchAgreement(id: $id) { title } }"
    theirs = (
        await gql(lookup, {"id": gid("ResearchAgreement", other.id)}, audience=Audience.RESEARCHER)
    ).json()
    assert theirs["data"]["researchAgreement"] is None


async def test_other_audiences_see_no_agreement(gql: GraphQL, session: AsyncSession) -> None:
    await make_agreement(session, await make_research_partner(session))
    for audience in (
        Audience.LEGISLATIVE,
        Audience.BUDGET_GRANTS,
        Audience.VICTIM_SERVICES,
        Audience.REENTRY,
    ):
        body = (await gql("{ researchAgreements { totalCount } }", audience=audience)).json()
        if "errors" in body:
            assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
            continue
        assert body["data"]["researchAgreements"]["totalCount"] == 0, audience
