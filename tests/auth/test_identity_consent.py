"""``Person.identity`` (date of birth, address, phone) follows its cell of the matrix: a reentry partner
reads it only under an active consent naming ``identity``, not merely because the person is referred
to it; ``Person.age`` (public_person) still reads for every audience that reads the public record;
the identifiers stay admin's alone; and an identity withheld is not recorded in the ledger."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.classes import FieldClass
from auth.policy import Access, grant
from auth.principal import Principal
from resolvers.models.ledger import AuditDisclosure, AuditEvent
from resolvers.models.partners import Audience, Partner
from resolvers.models.people import Person
from resolvers.people import identifiers_by_person_id
from resolvers.session import RequestDb
from schema.ids import to_global_id
from tests.conftest import GraphQL
from tests.factories.people import make_inmate
from tests.factories.reentry import make_consent, make_referral

PERSON = "query($id: ID!) { person(id: $id) { docId age identity { birthDate phone } } }"
BORN = date(1990, 6, 15)
YESTERDAY = date.today() - timedelta(days=1)


async def referred(session: AsyncSession, partners: dict[Audience, Partner]) -> Person:
    person, _ = await make_inmate(session, birth_date=BORN)
    await make_referral(session, person, partners[Audience.REENTRY])
    return person


async def read(gql: GraphQL, person: Person, audience: Audience = Audience.REENTRY) -> Any:
    query = (
        PERSON
        if grant(audience, FieldClass.IDENTITY).readable
        else PERSON.replace(" identity { birthDate phone }", "")
    )
    body = (await gql(query, {"id": to_global_id("Person", person.id)}, audience=audience)).json()
    assert "errors" not in body, body
    assert body["data"]["person"] is not None, audience
    return body["data"]["person"]


def age(today: date) -> int:
    return today.year - BORN.year - ((today.month, today.day) < (BORN.month, BORN.day))


async def test_a_consent_without_identity_does_not_open_it(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    person = await referred(session, partners)
    await make_consent(session, person, partners[Audience.REENTRY], categories=("programs",))
    shown = await read(gql, person)
    assert shown["identity"] is None
    # The age is the public record's (public_person), read without consent.
    assert shown["age"] == age(date.today())


async def test_an_identity_consent_opens_it(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    person = await referred(session, partners)
    await make_consent(session, person, partners[Audience.REENTRY], categories=("identity",))
    shown = await read(gql, person)
    assert shown["identity"] == {"birthDate": BORN.isoformat(), "phone": None}


@pytest.mark.parametrize(
    "lapsed",
    [
        {"expires_on": YESTERDAY},
        {"revoked_on": YESTERDAY},
        {"signed_on": date.today() + timedelta(days=1)},
    ],
    ids=["expired", "revoked", "not-yet-signed"],
)
async def test_a_lapsed_identity_consent_does_not_open_it(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner], lapsed: dict[str, date]
) -> None:
    person = await referred(session, partners)
    values = {"signed_on": date(2025, 1, 10), **lapsed}
    await make_consent(session, person, partners[Audience.REENTRY], categories=("identity",), **values)
    shown = await read(gql, person)
    assert shown["identity"] is None
    assert shown["age"] == age(date.today())


async def test_another_partners_identity_consent_does_not_open_it(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    from tests.factories.reentry import make_reentry_partner

    person = await referred(session, partners)
    other = await make_reentry_partner(session)
    await make_consent(session, person, other, categories=("identity",))
    assert (await read(gql, person))["identity"] is None


@pytest.mark.parametrize(
    "audience",
    [a for a in Audience if grant(a, FieldClass.PUBLIC_PERSON).access in (Access.ALL, Access.SCOPED)],
    ids=lambda a: a.value,
)
async def test_age_reads_for_every_audience_of_the_public_record(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner], audience: Audience
) -> None:
    person = await referred(session, partners)  # referred, so the reentry partner's scope reaches them
    shown = await read(gql, person, audience)
    assert shown["age"] == age(date.today())
    if grant(audience, FieldClass.IDENTITY).access is Access.ALL:
        assert shown["identity"]["birthDate"] == BORN.isoformat()


@pytest.mark.parametrize("audience", list(Audience), ids=lambda a: a.value)
async def test_identifiers_are_admins_alone(session: AsyncSession, audience: Audience) -> None:
    person, _ = await make_inmate(session, birth_date=BORN)
    [row] = await identifiers_by_person_id(RequestDb(session), Principal(audience=audience), [person.id])
    assert (row is not None) == (audience is Audience.ADMIN)


async def test_an_identity_withheld_is_not_recorded(
    gql: GraphQL, session: AsyncSession, partners: dict[Audience, Partner]
) -> None:
    person = await referred(session, partners)
    await make_consent(session, person, partners[Audience.REENTRY], categories=("programs",))
    assert (await read(gql, person))["identity"] is None
    event = await session.scalar(
        select(AuditEvent).where(AuditEvent.kind == "graphql", AuditEvent.audience == "reentry")
    )
    assert event is not None
    classes = await session.scalar(
        select(AuditDisclosure.field_classes).where(
            AuditDisclosure.event_id == event.id, AuditDisclosure.subject_id == person.id
        )
    )
    assert classes == ["public_person"]
