"""No N+1: every loader of people, custody, programs and reentry answers N keys with one statement,
and a nested page of people costs the same number of statements for 10 people as for 100."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette.applications import Starlette

from auth.principal import Principal
from resolvers.models.custody import ConductReport, CustodyEvent, HealthNeed, ParoleHearing, SupervisionPeriod
from resolvers.models.partners import Audience, Partner
from resolvers.models.people import PersonAlias
from resolvers.models.programs import ReparativeActivity
from resolvers.models.reentry import ServiceDelivered
from resolvers.parent_pages import ChildPage
from resolvers.session import RequestDb
from schema.ids import to_global_id
from schema.limits import Limits
from schema.loaders import Loaders
from tests.conftest import GraphQL
from tests.factories.people import make_facility, make_inmate, make_sentence
from tests.factories.programs import make_enrollment, make_offering, make_program
from tests.factories.reentry import make_consent, make_referral
from tests.statements import counting

N = 5


@pytest.fixture
async def world(session: AsyncSession, partners: dict[Audience, Partner]) -> dict[str, list[int]]:
    """N people, each with one of everything, in two facilities."""
    from datetime import UTC, datetime

    facilities = [await make_facility(session), await make_facility(session)]
    program = await make_program(session)
    other_program = await make_program(session)
    offering = await make_offering(session, program, facilities[0])
    ids: dict[str, list[int]] = {
        k: []
        for k in [
            "person",
            "sentence",
            "enrollment",
            "referral",
            "consent",
            "facility",
            "program",
            "offering",
            "event",
            "hearing",
            "service",
        ]
    }
    ids["facility"] = [f.id for f in facilities]
    ids["program"] = [program.id, other_program.id]
    ids["offering"] = [offering.id]
    partner = partners[Audience.REENTRY]
    for i in range(N):
        person, facility = await make_inmate(session, facilities[i % 2])
        sentence = await make_sentence(session, person, charges=2)
        enrollment = await make_enrollment(session, person, program, offering_id=offering.id)
        referral = await make_referral(session, person, partner)
        consent = await make_consent(session, person, partner)
        hearing = ParoleHearing(
            person_id=person.id,
            facility_id=facility.id,
            hearing_type="initial",
            scheduled_for=datetime(2025, 1, 1, tzinfo=UTC),
            status="scheduled",
        )
        custody_event = CustodyEvent(
            person_id=person.id,
            kind="admission",
            occurred_at=datetime(2020, 2, 1, tzinfo=UTC),
            facility_id=facility.id,
        )
        service = ServiceDelivered(
            referral_id=referral.id,
            partner_id=partner.id,
            person_id=person.id,
            service_type="housing",
            delivered_on=date(2025, 2, 1),
            description="Placed",
        )
        session.add_all(
            [
                hearing,
                custody_event,
                service,
                PersonAlias(person_id=person.id, alias=f"Alias {i}"),
                SupervisionPeriod(
                    person_id=person.id,
                    office_id=facility.id,
                    kind="parole",
                    started_on=date(2019, 1, 1),
                    ended_on=date(2019, 6, 1),
                ),
                ConductReport(
                    person_id=person.id,
                    facility_id=facility.id,
                    occurred_on=date(2021, 1, 1),
                    violation="Noise",
                    outcome="dismissed",
                ),
                HealthNeed(person_id=person.id, kind="medical", level=1, assessed_on=date(2021, 1, 1)),
                ReparativeActivity(
                    enrollment_id=enrollment.id, performed_on=date(2024, 4, 1), hours=2, description="Garden"
                ),
            ]
        )
        await session.flush()
        ids["person"].append(person.id)
        ids["sentence"].append(sentence.id)
        ids["enrollment"].append(enrollment.id)
        ids["referral"].append(referral.id)
        ids["consent"].append(consent.id)
        ids["event"].append(custody_event.id)
        ids["hearing"].append(hearing.id)
        ids["service"].append(service.id)
    return ids


#: loader name -> which ids it is keyed by
KEYED_BY: dict[str, str] = {
    "identities_by_person_id": "person",
    "birth_dates_by_person_id": "person",
    "identifiers_by_person_id": "person",
    "aliases_by_person_id": "person",
    "sentences_by_person_id": "person",
    "charges_by_sentence_id": "sentence",
    "custody_periods_by_person_id": "person",
    "supervision_periods_by_person_id": "person",
    "parole_hearings_by_person_id": "person",
    "custody_events_by_person_id": "person",
    "conduct_reports_by_person_id": "person",
    "health_needs_by_person_id": "person",
    "population_by_facility_id": "facility",
    "custody_events_by_id": "event",
    "parole_hearings_by_id": "hearing",
    "programs_by_id": "program",
    "offerings_by_id": "offering",
    "enrollments_by_id": "enrollment",
    "enrollments_by_person_id": "person",
    "reparative_activities_by_enrollment_id": "enrollment",
    "offerings_by_program_id": "program",
    "enrollments_by_program_id": "program",
    "referrals_by_id": "referral",
    "referrals_by_person_id": "person",
    "consents_by_id": "consent",
    "consents_by_person_id": "person",
    "consent_categories_by_consent_id": "consent",
    "services_by_id": "service",
    "services_by_referral_id": "referral",
}
CONNECTIONS = {"population_by_facility_id", "offerings_by_program_id", "enrollments_by_program_id"}


@pytest.mark.parametrize("name", sorted(KEYED_BY))
async def test_n_keys_cost_one_statement(
    name: str, session: AsyncSession, world: dict[str, list[int]]
) -> None:
    db = RequestDb(session)
    loader = getattr(Loaders.build(db, Principal(audience=Audience.ADMIN)), name)
    keys: list[Any] = list(world[KEYED_BY[name]])
    if name in CONNECTIONS:
        keys = [(k, ChildPage(first=10)) for k in keys]
    results = await loader.load_many(keys)
    assert db.statements == 1
    assert len(results) == len(keys)
    found = [r for r in results if r]
    assert found, f"{name} found nothing"
    if name in CONNECTIONS:
        assert sum(page.total_count for page in results) >= len(keys) - 1


async def test_a_request_builds_a_loader_on_first_use_and_keeps_it(session: AsyncSession) -> None:
    db = RequestDb(session)
    principal = Principal(audience=Audience.ADMIN)
    loaders, other = Loaders.build(db, principal), Loaders.build(db, principal)
    assert len(Loaders.names()) == len(set(Loaders.names())) > 50
    for name in Loaders.names():
        assert getattr(loaders, name) is getattr(loaders, name)  # one per request
        assert getattr(loaders, name) is not getattr(other, name)  # never shared between requests
    cached: Any = "cached"  # not a row: only clear_all can take it out again
    loaders.people_by_id.prime(-1, cached)
    loaders.facilities_by_id.prime(2, cached)
    loaders.clear_all()
    assert await loaders.people_by_id.load(-1) is None  # asked the store again: there is no person -1
    assert not loaders.facilities_by_id.cache_map.cache_map  # type: ignore[attr-defined]


def test_every_loader_of_these_domains_is_tested() -> None:
    from resolvers import custody, programs, reentry

    names = set(Loaders.names())
    ours = {
        n for n in names for module in (custody, programs, reentry) if getattr(module, n, None) is not None
    }
    assert ours <= set(KEYED_BY), ours - set(KEYED_BY)


# --- The nested page --------------------------------------------------------------------------------

NESTED = """
query($first: Int, $facilityId: ID) {
  people(first: $first, facilityId: $facilityId) {
    nodes {
      id docId firstName lastName
      facility { name }
      sentences { sentencedOn termMonths charges { offense offenseClass } }
      enrollments { status program { name } }
    }
  }
}
"""


async def test_a_nested_page_costs_the_same_for_10_and_100_people(
    gql: GraphQL,
    session: AsyncSession,
    connection: AsyncConnection,
    app: Starlette,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The static cost model assumes 10 rows per plain list, which prices this page at about 270,000:
    # lift the limit here, since what is measured is the statements actually run.
    for executor in app.state.executors.values():
        monkeypatch.setattr(executor, "limits", Limits(max_cost=1_000_000))
    facility = await make_facility(session)
    programs = [await make_program(session) for _ in range(3)]
    for i in range(100):
        person, _ = await make_inmate(session, facility)
        await make_sentence(session, person, charges=2)
        await make_enrollment(session, person, programs[i % 3])
    variables = {"facilityId": to_global_id("Facility", facility.id)}
    await gql(NESTED, {**variables, "first": 1})  # warm up: the token, the document cache
    # What any request costs before it reads anything (token check, rate window, ledger): the
    # bound below is on what the query itself runs.
    with counting(connection) as baseline:
        await gql("{ __typename }", audience=Audience.ADMIN)
    overhead = len(baseline)
    costs = {}
    for size in (10, 100):
        with counting(connection) as statements:
            body = (await gql(NESTED, {**variables, "first": size})).json()
        assert "errors" not in body, body
        nodes = body["data"]["people"]["nodes"]
        assert len(nodes) == size
        assert all(len(n["sentences"][0]["charges"]) == 2 for n in nodes)
        assert all(n["enrollments"][0]["program"]["name"] for n in nodes)
        costs[size] = len(statements)
    print("statements per nested page", costs)
    assert costs[10] == costs[100], costs
    # count + page + facilities + sentences + charges + enrollments + programs, and the request's
    # own bookkeeping (transaction, token checks): a small constant.
    assert costs[100] - overhead <= 15, (costs, overhead)
