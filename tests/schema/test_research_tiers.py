"""Issue 13 item 5: suppression that protects nothing, and records that defeat it.

An aggregate-tier agreement releases statistics only (records and extracts refused, typed); a
record-tier one releases k-anonymous records (every equivalence class of released quasi-identifier
values holds at least k records) and computes its statistics over them, so counting the records
tells nothing the statistics hide. Issue 14 item 20: the extract writes the GraphQL enum names.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience, Partner
from resolvers.models.research import ResearchExtract
from tests.conftest import GraphQL, Mint
from tests.factories.research_cohort import FIELDS, make_cohort, make_cohort_agreement
from tests.schema.test_research_root import _all_records
from tests.schema.test_victims import gid

#: The record's quasi-identifiers, by their GraphQL names.
QUASI = ["birthYear", "sex", "race", "offenseClass", "admissionMonth", "releaseMonth", "facilityType"]

ACCESS = """query($id: ID!) { research(agreementId: $id) { tier extractUrl
  release { k quasiIdentifiers generalized levels { field level } cohort released suppressed classes smallestClass }
} }"""
STATS = """query($id: ID!, $by: [ResearchDimension!]!) { research(agreementId: $id) {
  statistics(groupBy: $by) { suppressionThreshold entries { values people } } } }"""


def _classes(nodes: list[dict[str, Any]]) -> Counter[tuple[Any, ...]]:
    return Counter(tuple(n[q] for q in QUASI) for n in nodes)


async def test_a_record_tier_release_is_k_anonymous_and_its_statistics_count_the_released_records(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    cohort = await make_cohort(session, size=30)  # birth years 1980-2009: every record unique as it is
    agreement = await make_cohort_agreement(
        session, partners[Audience.RESEARCHER], cohort, small_cell_threshold=5
    )
    nodes = await _all_records(gql, agreement.id)
    classes = _classes(nodes)
    assert classes
    assert min(classes.values()) >= 5, classes
    body = (
        await gql(ACCESS, {"id": gid("ResearchAgreement", agreement.id)}, audience=Audience.RESEARCHER)
    ).json()
    assert "errors" not in body, body
    access = body["data"]["research"]
    assert access["tier"] == "RECORD"
    release = access["release"]
    assert release["k"] == 5
    assert release["quasiIdentifiers"] == [
        "birth_year", "sex", "race", "offense_class", "admission_month", "release_month", "facility_type"
    ]  # fmt: skip
    assert release["generalized"], release  # 30 distinct birth years cannot go out exactly
    assert release["cohort"] == 30
    assert release["released"] == len(nodes) == 30 - release["suppressed"]
    assert release["classes"] == len(classes)
    assert release["smallestClass"] == min(classes.values())
    # Statistics over a record-tier release: exactly what counting its records gives, nothing hidden
    # (a null would protect nothing the records do not show).
    stats = (
        await gql(
            STATS, {"id": gid("ResearchAgreement", agreement.id), "by": ["SEX"]}, audience=Audience.RESEARCHER
        )
    ).json()["data"]["research"]["statistics"]
    assert stats["suppressionThreshold"] is None
    by_sex = {e["values"][0]: e["people"] for e in stats["entries"]}
    counted = Counter("unknown" if n["sex"] is None else n["sex"] for n in nodes)
    assert by_sex[None] == len(nodes)
    assert {v: c for v, c in by_sex.items() if v is not None and c} == dict(counted)


async def test_an_aggregate_tier_agreement_refuses_records_and_extracts(
    gql: GraphQL,
    client: httpx.AsyncClient,
    mint: Mint,
    session: AsyncSession,
    partners: dict[Audience, Partner],
) -> None:
    cohort = await make_cohort(session, size=14)
    agreement = await make_cohort_agreement(
        session, partners[Audience.RESEARCHER], cohort, tier="aggregate", small_cell_threshold=11
    )
    variables = {"id": gid("ResearchAgreement", agreement.id)}
    body = (
        await gql(
            "query($id: ID!) { research(agreementId: $id) { records { nodes { pseudonym sex } } } }",
            variables,
            audience=Audience.RESEARCHER,
        )
    ).json()
    [error] = body["errors"]
    assert error["extensions"]["code"] == "RECORDS_NOT_RELEASED"
    assert error["extensions"]["field"] == "records"
    assert "aggregate-tier" in error["message"]
    assert agreement.reference in error["message"]
    access = (await gql(ACCESS, variables, audience=Audience.RESEARCHER)).json()["data"]["research"]
    assert access == {"tier": "AGGREGATE", "extractUrl": None, "release": None}
    token = await mint(Audience.RESEARCHER)
    response = await client.get(
        f"/research/extracts/{agreement.id}.csv", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "RECORDS_NOT_RELEASED"
    # The statistics stay suppressed as before: 7 men and 7 women are small cells at 11.
    stats = (await gql(STATS, {**variables, "by": ["SEX"]}, audience=Audience.RESEARCHER)).json()
    table = stats["data"]["research"]["statistics"]
    assert table["suppressionThreshold"] == 11
    assert {tuple(e["values"]): e["people"] for e in table["entries"]}[("MALE",)] is None


async def test_the_extract_is_the_release_with_its_metadata_in_the_vocabulary_of_graphql(
    gql: GraphQL,
    client: httpx.AsyncClient,
    mint: Mint,
    session: AsyncSession,
    partners: dict[Audience, Partner],
) -> None:
    cohort = await make_cohort(session, size=30)
    agreement = await make_cohort_agreement(
        session, partners[Audience.RESEARCHER], cohort, small_cell_threshold=5
    )
    token = await mint(Audience.RESEARCHER)
    response = await client.get(
        f"/research/extracts/{agreement.id}.csv", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    quasi = [f for f in FIELDS if f not in ("programs_completed", "returned_1y", "returned_3y")]
    classes = Counter(tuple(r[f] for f in quasi) for r in rows)
    assert min(classes.values()) >= 5, classes
    headers = response.headers
    assert headers["x-release-k"] == "5"
    assert headers["x-record-count"] == str(len(rows))
    assert int(headers["x-release-cohort"]) == 30
    assert int(headers["x-release-suppressed"]) == 30 - len(rows)
    assert headers["x-release-quasi-identifiers"] == ",".join(quasi)
    assert "birth_year=" in headers["x-release-generalized"]
    # One vocabulary: the enum names GraphQL uses, not the stored codes (M, white, institution).
    assert {r["sex"] for r in rows} <= {"MALE", "FEMALE", ""}
    assert {r["race"] for r in rows} <= {"WHITE", ""}
    assert {r["facility_type"] for r in rows} <= {"INSTITUTION", ""}
    extract = (
        await session.scalars(select(ResearchExtract).where(ResearchExtract.agreement_id == agreement.id))
    ).one()
    assert extract.release is not None
    assert extract.release["k"] == 5
    assert extract.release["released"] == len(rows)
    event = (
        await session.scalars(select(AuditEvent).where(AuditEvent.kind == "research_extract.released"))
    ).all()[-1]
    assert event.detail is not None
    assert event.detail["release"] == extract.release
    listed = (
        await gql(
            "query($id: ID!) { researchAgreement(id: $id) { extracts { rowCount release } } }",
            {"id": gid("ResearchAgreement", agreement.id)},
            audience=Audience.RESEARCHER,
        )
    ).json()
    assert listed["data"]["researchAgreement"]["extracts"][0]["release"]["k"] == 5


async def test_an_exact_release_when_k_is_met_as_is(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    cohort = await make_cohort(session, size=12)
    agreement = await make_cohort_agreement(
        session,
        partners[Audience.RESEARCHER],
        cohort,
        granted_fields=["race", "returned_1y"],
        small_cell_threshold=11,
    )
    body = (
        await gql(
            "query($id: ID!) { research(agreementId: $id) { release { generalized suppressed }"
            " records(first: 50) { totalCount nodes { race } } } }",
            {"id": gid("ResearchAgreement", agreement.id)},
            audience=Audience.RESEARCHER,
        )
    ).json()
    research = body["data"]["research"]
    assert research["release"] == {"generalized": [], "suppressed": 0}
    assert research["records"]["totalCount"] == 12
    assert {n["race"] for n in research["records"]["nodes"]} == {"WHITE"}
