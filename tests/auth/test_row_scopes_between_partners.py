"""A second partner of the same audience cannot reach the first one's rows: not by list, by id,
through a relation, a filter, an alias, a fragment, a statistic or a mutation — and what it cannot
reach looks exactly like what does not exist."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.partners import Audience, Partner
from schema.ids import to_global_id
from tests.conftest import GraphQL, Mint
from tests.factories.inquiries import make_inquiry
from tests.factories.partners import make_client, make_partner
from tests.factories.people import make_facility, make_person
from tests.factories.reentry import make_consent, make_referral
from tests.factories.research import make_agreement

MISSING_PERSON = to_global_id("Person", 999_999_999)


async def as_second(session: AsyncSession, mint: Mint, audience: Audience) -> tuple[Partner, str]:
    partner = await make_partner(session, audience)
    client = await make_client(session, partner)
    return partner, await mint(client=client, partner=partner)


def data(response: Any) -> dict[str, Any]:
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]
    return result


@pytest.fixture
async def referred(session: AsyncSession, partners: dict[Audience, Partner]) -> dict[str, Any]:
    """A person referred to the first reentry partner, with a consent, at a facility of their own."""
    facility = await make_facility(session)
    person = await make_person(session, current_facility_id=facility.id, last_name="Scopetest")
    referral = await make_referral(session, person, partners[Audience.REENTRY])
    await make_consent(session, person, partners[Audience.REENTRY], categories=("identity", "programs"))
    return {
        "person": to_global_id("Person", person.id),
        "doc_id": person.doc_id,
        "referral": to_global_id("Referral", referral.id),
        "facility": to_global_id("Facility", facility.id),
    }


async def test_reentry_partners_are_walled_off_from_each_other(
    gql: GraphQL, session: AsyncSession, mint: Mint, referred: dict[str, Any]
) -> None:
    _, other = await as_second(session, mint, Audience.REENTRY)
    person, referral = referred["person"], referred["referral"]

    # The first partner reaches everything, so the checks below are not vacuous.
    mine = data(
        await gql(
            "query($id: ID!) { person(id: $id) { docId identity { birthDate } } }",
            {"id": person},
            audience=Audience.REENTRY,
        )
    )
    assert mine["person"]["docId"] == referred["doc_id"]
    assert mine["person"]["identity"] is not None

    async def ask(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return data(await gql(query, variables, audience=Audience.REENTRY, token=other))

    by_list = await ask(
        '{ people(name: "Scopetest") { totalCount nodes { id } } referrals { nodes { id } } }'
    )
    assert by_list["people"]["totalCount"] == 0
    assert referral not in [n["id"] for n in by_list["referrals"]["nodes"]]
    assert (await ask("query($id: ID!) { person(id: $id) { docId } }", {"id": person}))["person"] is None
    assert (await ask("query($id: ID!) { referral(id: $id) { id } }", {"id": referral}))["referral"] is None
    by_filter = await ask("query($d: String) { people(docId: $d) { totalCount } }", {"d": referred["doc_id"]})
    assert by_filter["people"]["totalCount"] == 0
    relation = await ask(
        "query($id: ID!) { facility(id: $id) { population { totalCount nodes { id } } } }",
        {"id": referred["facility"]},
    )
    assert relation["facility"]["population"]["totalCount"] == 0
    aliased = await ask(
        "query($id: ID!, $rid: ID!) { a: person(id: $id) { docId } b: referral(id: $rid) { id } }",
        {"id": person, "rid": referral},
    )
    assert aliased == {"a": None, "b": None}
    fragment = await ask(
        "query($id: ID!) { ...Q } fragment Q on Query { person(id: $id) { ...P } } fragment P on Person { docId }",
        {"id": person},
    )
    assert fragment == {"person": None}
    theirs = await ask("{ populationStatistics { total } }")
    first = data(await gql("{ populationStatistics { total } }", audience=Audience.REENTRY))
    # One referred person: a small cell, suppressed (null) for partners, yet not zero.
    assert first["populationStatistics"]["total"] != 0
    assert theirs["populationStatistics"]["total"] == 0

    # Out of scope answers exactly as missing: same null by id, same NOT_FOUND in a mutation.
    assert await ask("query($id: ID!) { person(id: $id) { docId } }", {"id": MISSING_PERSON}) == {
        "person": None
    }
    write = (
        "mutation($input: RecordServiceInput!) { recordServiceDelivered(input: $input) "
        "{ errors { code field message } } }"
    )
    refused = await ask(
        write, {"input": {"referralId": referral, "deliveredOn": "2026-01-05", "description": "Bed"}}
    )
    missing = await ask(
        write,
        {
            "input": {
                "referralId": to_global_id("Referral", 999_999_999),
                "deliveredOn": "2026-01-05",
                "description": "Bed",
            }
        },
    )
    assert refused["recordServiceDelivered"]["errors"] == missing["recordServiceDelivered"]["errors"]
    assert refused["recordServiceDelivered"]["errors"][0]["code"] == "NOT_FOUND"


async def test_legislative_offices_see_only_their_own_inquiries(
    gql: GraphQL, session: AsyncSession, mint: Mint, partners: dict[Audience, Partner]
) -> None:
    inquiry = await make_inquiry(
        session,
        partner_id=partners[Audience.LEGISLATIVE].id,
        source="legislative",
        summary="Scopetest inquiry",
    )
    inquiry_id = to_global_id("Inquiry", inquiry.id)
    _, other = await as_second(session, mint, Audience.LEGISLATIVE)
    query = "query($id: ID!) { inquiry(id: $id) { summary } all: inquiries { nodes { id } } }"
    mine = data(await gql(query, {"id": inquiry_id}, audience=Audience.LEGISLATIVE))
    assert mine["inquiry"] == {"summary": "Scopetest inquiry"}
    assert inquiry_id in [n["id"] for n in mine["all"]["nodes"]]
    theirs = data(await gql(query, {"id": inquiry_id}, audience=Audience.LEGISLATIVE, token=other))
    assert theirs["inquiry"] is None
    assert inquiry_id not in [n["id"] for n in theirs["all"]["nodes"]]
    fragment = data(
        await gql(
            "query($id: ID!) { x: inquiry(id: $id) { ...I } } fragment I on Inquiry { summary }",
            {"id": inquiry_id},
            audience=Audience.LEGISLATIVE,
            token=other,
        )
    )
    assert fragment == {"x": None}


async def test_researchers_see_only_their_own_agreements(
    gql: GraphQL, session: AsyncSession, mint: Mint, partners: dict[Audience, Partner]
) -> None:
    agreement = await make_agreement(session, partners[Audience.RESEARCHER])
    agreement_id = to_global_id("ResearchAgreement", agreement.id)
    other_partner, other = await as_second(session, mint, Audience.RESEARCHER)
    query = "query($id: ID!) { researchAgreement(id: $id) { id } researchAgreements { nodes { id } } }"
    mine = data(await gql(query, {"id": agreement_id}, audience=Audience.RESEARCHER))
    assert mine["researchAgreement"] == {"id": agreement_id}
    theirs = data(await gql(query, {"id": agreement_id}, audience=Audience.RESEARCHER, token=other))
    assert theirs["researchAgreement"] is None
    assert agreement_id not in [n["id"] for n in theirs["researchAgreements"]["nodes"]]
    assert other_partner.id != partners[Audience.RESEARCHER].id
