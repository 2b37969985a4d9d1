"""People and facilities through HTTP: filters, a person's relations, a facility's population, and
the row scopes that decide who reaches which person."""

from __future__ import annotations

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.custody import ConductReport, HealthNeed, SupervisionPeriod
from resolvers.models.partners import Audience, Partner
from resolvers.models.people import PersonAlias, PersonIdentity
from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.factories.people import make_facility, make_inmate, make_person, make_sentence
from tests.factories.programs import make_enrollment, make_program
from tests.factories.reentry import make_consent, make_referral

PERSON = """
query($id: ID!) {
  person(id: $id) {
    docId firstName lastName status version projectedReleaseOn
    facility { name }
    identity { birthDate }
    identifiers { ssn }
    aliases
    sentences { causeNumber termMonths charges { offense offenseClass } }
    custodyPeriods { admittedOn releasedOn housingUnit facility { name } }
    supervisionPeriods { kind office { name } }
    paroleHearings { hearingType status }
    custodyEvents { kind }
    conductReports { violation outcome }
    healthNeeds { kind level }
    substanceUseNeeds { kind level }
    enrollments { status program { name } }
    referrals { partnerName serviceType status }
    consents { purpose categories active }
  }
}
"""


async def test_a_person_with_every_relation(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    person, facility = await make_inmate(session, first_name="Ada", last_name="Lovelace")
    await make_sentence(session, person, charges=2, term_months=84)
    office = await make_facility(session, kind="probation_parole_office", name="Old Office")
    session.add_all(
        [
            PersonAlias(person_id=person.id, alias="Ada King"),
            SupervisionPeriod(
                person_id=person.id,
                office_id=office.id,
                kind="probation",
                started_on=date(2018, 1, 1),
                ended_on=date(2019, 1, 1),
                end_reason="revoked",
            ),
            ConductReport(
                person_id=person.id,
                facility_id=facility.id,
                occurred_on=date(2021, 1, 1),
                violation="Contraband",
                outcome="sanctioned",
            ),
            HealthNeed(person_id=person.id, kind="mental_health", level=2, assessed_on=date(2021, 1, 1)),
            HealthNeed(person_id=person.id, kind="substance_use", level=3, assessed_on=date(2021, 1, 1)),
        ]
    )
    program = await make_program(session, name="Impact of Crime on Victims")
    await make_enrollment(session, person, program)
    partner = partners[Audience.REENTRY]
    await make_referral(session, person, partner)
    await make_consent(session, person, partner)
    response = await gql(PERSON, {"id": to_global_id("Person", person.id)})
    body = response.json()
    assert "errors" not in body, body
    p = body["data"]["person"]
    assert (p["firstName"], p["lastName"], p["status"], p["version"]) == (
        "Ada",
        "Lovelace",
        "INCARCERATED",
        1,
    )
    assert p["facility"]["name"] == facility.name
    assert p["projectedReleaseOn"] == "2027-02-01"
    assert p["identity"]["birthDate"] == "1990-06-15"
    assert p["identifiers"]["ssn"].startswith("900-00-")
    assert p["aliases"] == ["Ada King"]
    assert p["sentences"][0]["termMonths"] == 84
    assert [c["offenseClass"] for c in p["sentences"][0]["charges"]] == ["FELONY_C", "FELONY_C"]
    assert p["custodyPeriods"][0]["facility"]["name"] == facility.name
    assert p["supervisionPeriods"] == [{"kind": "PROBATION", "office": {"name": "Old Office"}}]
    assert p["conductReports"] == [{"violation": "Contraband", "outcome": "SANCTIONED"}]
    assert p["healthNeeds"] == [{"kind": "MENTAL_HEALTH", "level": 2}]
    assert p["substanceUseNeeds"] == [{"kind": "SUBSTANCE_USE", "level": 3}]
    assert p["enrollments"] == [{"status": "ENROLLED", "program": {"name": "Impact of Crime on Victims"}}]
    assert p["referrals"][0]["partnerName"] == partner.name
    assert p["consents"][0]["categories"] == ["IDENTITY", "RELEASE"]
    assert p["consents"][0]["active"] is True


async def test_identifiers_are_for_admin_only(gql: GraphQL, session: AsyncSession) -> None:
    person, _ = await make_inmate(session)
    query = "query($id: ID!) { person(id: $id) { docId identifiers { ssn } } }"
    for audience in (Audience.PROGRAMS, Audience.CONSTITUENT_SERVICES):
        body = (await gql(query, {"id": to_global_id("Person", person.id)}, audience=audience)).json()
        if "errors" in body:  # the audience's schema may not carry the field at all
            assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        else:
            assert body["data"]["person"]["identifiers"] is None


PEOPLE = """
query($first: Int, $after: String, $name: String, $docId: String, $status: PersonStatus, $facilityId: ID,
      $releaseFrom: Date, $releaseTo: Date) {
  people(first: $first, after: $after, name: $name, docId: $docId, status: $status, facilityId: $facilityId,
         releaseFrom: $releaseFrom, releaseTo: $releaseTo) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { docId lastName }
  }
}
"""


async def test_people_filters_and_pages(gql: GraphQL, session: AsyncSession) -> None:
    facility = await make_facility(session)
    names = ["Zeller", "Abbott", "Miller"]
    people = [(await make_inmate(session, facility, last_name=n))[0] for n in names]
    fid = to_global_id("Facility", facility.id)
    first = (await gql(PEOPLE, {"facilityId": fid, "first": 2})).json()["data"]["people"]
    assert first["totalCount"] == 3
    assert [n["lastName"] for n in first["nodes"]] == ["Abbott", "Miller"]
    rest = (
        await gql(PEOPLE, {"facilityId": fid, "first": 2, "after": first["pageInfo"]["endCursor"]})
    ).json()
    assert [n["lastName"] for n in rest["data"]["people"]["nodes"]] == ["Zeller"]
    assert rest["data"]["people"]["pageInfo"]["hasNextPage"] is False
    by_doc = (await gql(PEOPLE, {"docId": people[0].doc_id.lower()})).json()["data"]["people"]
    assert [n["lastName"] for n in by_doc["nodes"]] == ["Zeller"]
    by_name = (await gql(PEOPLE, {"name": "mill", "facilityId": fid})).json()["data"]["people"]
    assert [n["lastName"] for n in by_name["nodes"]] == ["Miller"]
    window = (
        await gql(PEOPLE, {"facilityId": fid, "releaseFrom": "2027-01-01", "releaseTo": "2027-03-01"})
    ).json()
    assert window["data"]["people"]["totalCount"] == 3


async def test_bad_filters_are_named(gql: GraphQL) -> None:
    body = (await gql(PEOPLE, {"releaseFrom": "2027-01-01", "releaseTo": "2026-01-01"})).json()
    assert body["errors"][0]["extensions"]["field"] == "releaseTo"
    body = (await gql(PEOPLE, {"first": 101})).json()
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "at most 100" in body["errors"][0]["message"]


POPULATION = """
query($id: ID!, $first: Int, $after: String, $status: PersonStatus) {
  facility(id: $id) {
    name
    population(first: $first, after: $after, status: $status) {
      totalCount pageInfo { hasNextPage endCursor } nodes { lastName status }
    }
  }
}
"""


async def test_a_facilitys_population_pages_by_name(gql: GraphQL, session: AsyncSession) -> None:
    facility = await make_facility(session)
    for name in ["Carter", "Baker", "Adams", "Dunn"]:
        await make_inmate(session, facility, last_name=name)
    await make_person(session, status="escaped", current_facility_id=facility.id, last_name="Evans")
    await make_person(session, status="discharged", current_facility_id=facility.id, last_name="Ford")
    gid = to_global_id("Facility", facility.id)
    page = (await gql(POPULATION, {"id": gid, "first": 3})).json()["data"]["facility"]["population"]
    assert page["totalCount"] == 5  # the discharged are no longer here
    assert [n["lastName"] for n in page["nodes"]] == ["Adams", "Baker", "Carter"]
    rest = (await gql(POPULATION, {"id": gid, "first": 3, "after": page["pageInfo"]["endCursor"]})).json()
    rest_page = rest["data"]["facility"]["population"]
    assert [n["lastName"] for n in rest_page["nodes"]] == ["Dunn", "Evans"]
    assert rest_page["pageInfo"]["hasNextPage"] is False
    assert rest_page["totalCount"] == 5
    past_the_end = (await gql(POPULATION, {"id": gid, "after": rest_page["pageInfo"]["endCursor"]})).json()
    assert past_the_end["data"]["facility"]["population"]["nodes"] == []
    assert past_the_end["data"]["facility"]["population"]["totalCount"] == 5
    counted = (await gql(POPULATION, {"id": gid, "first": 0})).json()["data"]["facility"]["population"]
    assert (counted["nodes"], counted["totalCount"], counted["pageInfo"]["hasNextPage"]) == ([], 5, True)
    escaped = (await gql(POPULATION, {"id": gid, "status": "ESCAPED"})).json()["data"]["facility"][
        "population"
    ]
    assert [n["lastName"] for n in escaped["nodes"]] == ["Evans"]


async def test_an_office_population_is_its_supervisees(gql: GraphQL, session: AsyncSession) -> None:
    office = await make_facility(session, kind="probation_parole_office")
    await make_person(session, status="supervised", supervision_office_id=office.id, last_name="Hale")
    page = (await gql(POPULATION, {"id": to_global_id("Facility", office.id)})).json()["data"]["facility"]
    assert [n["lastName"] for n in page["population"]["nodes"]] == ["Hale"]


async def test_a_reentry_partner_reaches_only_people_referred_to_it(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    referred, facility = await make_inmate(session, last_name="Referred")
    await make_inmate(session, facility, last_name="Other")
    await make_referral(session, referred, partners[Audience.REENTRY])
    body = (
        await gql(PEOPLE, {"facilityId": to_global_id("Facility", facility.id)}, audience=Audience.REENTRY)
    ).json()
    assert [n["lastName"] for n in body["data"]["people"]["nodes"]] == ["Referred"]


async def test_a_legislative_office_does_not_see_the_discharged(gql: GraphQL, session: AsyncSession) -> None:
    person = await make_person(session, status="discharged")
    body = (
        await gql(
            "query($id: ID!) { person(id: $id) { docId } }",
            {"id": to_global_id("Person", person.id)},
            audience=Audience.LEGISLATIVE,
        )
    ).json()
    assert body["data"]["person"] is None


async def test_identity_row_exists_for_age(gql: GraphQL, session: AsyncSession) -> None:
    person = await make_person(session, birth_date=None)
    session.add(PersonIdentity(person_id=person.id, birth_date=date(2000, 1, 1)))
    await session.flush()
    body = (
        await gql("query($id: ID!) { person(id: $id) { age } }", {"id": to_global_id("Person", person.id)})
    ).json()
    assert body["data"]["person"]["age"] >= 25
