"""Victim services' "registrations by person": a DOC number, then that person's victim registrations,
read through the API as the victim-services audience."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience
from tests.console.conftest import SignIn
from tests.factories.people import make_person
from tests.factories.victims import make_registration, make_victim


async def test_victim_services_finds_a_persons_registrations_by_doc_number(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    person = await make_person(session)
    other = await make_person(session)
    vera = await make_victim(session, first_name="Vera", last_name="Registrant")
    fay = await make_victim(session, kind="family", first_name="Fay", last_name="Kin", language="es")
    await make_registration(session, victim=vera, person=person, preferences=(("email", "vera@example.org"),))
    await make_registration(
        session,
        victim=fay,
        person=person,
        relationship="mother",
        status="inactive",
        preferences=(("sms", "573-555-0101"), ("letter", None)),
    )
    await make_registration(session, victim=await make_victim(session, last_name="Elsewhere"), person=other)
    await sign_in(Audience.VICTIM_SERVICES)

    page = await client.get("/console/registrations", params={"doc_id": person.doc_id})
    assert page.status_code == 200, page.text
    assert f"Victim registrations for DOC {person.doc_id}" in page.text
    registrants = re.findall(r'<th scope="row">([^<]+)</th>', page.text)
    assert sorted(registrants) == ["Fay Kin", "Vera Registrant"]
    assert "Elsewhere" not in page.text  # another person's registrant
    assert "email vera@example.org" in page.text
    assert "sms 573-555-0101; letter" in page.text
    fay_row = re.search(r"Fay Kin</th>(.*?)</tr>", page.text, re.DOTALL)
    assert fay_row is not None
    assert re.findall(r"<td>([^<]*)</td>", fay_row.group(1))[:5] == [
        "family",
        "mother",
        "inactive",
        "2023-01-10",
        "—",
    ]

    nobody = await client.get("/console/registrations", params={"doc_id": "NO-SUCH-DOC"})
    assert "No person with DOC number NO-SUCH-DOC." in nobody.text
    operations = list(
        await session.scalars(select(AuditEvent.operation_name).where(AuditEvent.kind == "graphql"))
    )
    assert operations.count("ConsoleRegistrationsByPerson") == 1
    assert "ConsolePersonByDocId" in operations


async def test_a_name_finds_the_person_or_the_people_to_choose_from(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    only = await make_person(session, first_name="Quill", last_name="Zyxwander")
    await make_registration(session, victim=await make_victim(session, last_name="Onlyone"), person=only)
    twins = [await make_person(session, last_name=f"Qwertyson{n}") for n in (1, 2)]
    await sign_in(Audience.VICTIM_SERVICES)

    page = await client.get("/console/registrations", params={"name": "zyxwand"})
    assert page.status_code == 200, page.text
    assert f"Victim registrations for DOC {only.doc_id}" in page.text
    assert "Onlyone" in page.text

    page = await client.get("/console/registrations", params={"name": "Qwertyson"})
    links = re.findall(r'href="/console/registrations\?doc_id=([^"]+)"', page.text)
    assert sorted(links) == sorted(p.doc_id for p in twins)
    assert "Victim registrations for DOC" not in page.text

    page = await client.get("/console/registrations", params={"name": "Nosuchname"})
    assert "Nobody whose name contains Nosuchname." in page.text


async def test_a_person_without_registrations_says_so(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    person = await make_person(session)
    await sign_in(Audience.VICTIM_SERVICES)
    page = await client.get("/console/registrations", params={"doc_id": person.doc_id})
    assert page.status_code == 200, page.text
    assert "Nobody is registered for this person." in page.text


async def test_registrations_by_person_is_for_victim_services_only(
    client: httpx.AsyncClient, sign_in: SignIn
) -> None:
    await sign_in(Audience.CONSTITUENT_SERVICES)
    refused = await client.get("/console/registrations", params={"doc_id": "T0000001"})
    assert refused.status_code == 403
    assert "Registrations by person is not open to constituent services" in refused.text
