"""The console's pages over HTTP (in-process): what each unit sees, refusals, headers, forms."""

from __future__ import annotations

import re
from html import unescape

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from hub.console.security import CONTENT_SECURITY_POLICY
from resolvers.models.inquiries import Inquiry
from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience, Partner
from schema.ids import to_global_id
from tests.console.conftest import SignIn, csrf_of
from tests.factories.inquiries import make_inquiry
from tests.factories.people import make_inmate
from tests.factories.research import make_agreement, make_extract, make_research_partner


async def test_anonymous_visitors_are_sent_to_sign_in_with_a_strict_policy(client: httpx.AsyncClient) -> None:
    home = await client.get("/console/")
    assert home.status_code == 303
    assert home.headers["location"] == "/console/signin"
    assert home.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    cookie = home.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "secure" not in cookie  # plain http: a Secure cookie would never come back
    page = await client.get("/console/partners")
    assert page.status_code == 303
    assert page.headers["location"] == "/console/signin?next=/console/partners"


async def test_admin_sees_partners_and_the_page_is_a_ledger_event(
    client: httpx.AsyncClient, sign_in: SignIn, partners: dict[Audience, Partner], session: AsyncSession
) -> None:
    await sign_in(Audience.ADMIN)
    page = await client.get("/console/partners")
    assert page.status_code == 200, page.text
    for partner in partners.values():
        assert partner.name in page.text
    assert "<script>" not in page.text  # every script is a file of the console's own
    operations = await session.scalars(select(AuditEvent.operation_name).where(AuditEvent.kind == "graphql"))
    assert "ConsolePartners" in list(operations)


@pytest.mark.parametrize(
    ("audience", "path"),
    [
        (Audience.CONSTITUENT_SERVICES, "/console/partners"),
        (Audience.VICTIM_SERVICES, "/console/ledger/who-saw"),
        (Audience.ADMIN, "/console/notifications"),
        (Audience.PROGRAMS, "/console/inquiries"),
    ],
)
async def test_a_unit_cannot_open_another_units_page(
    client: httpx.AsyncClient, sign_in: SignIn, audience: Audience, path: str
) -> None:
    await sign_in(audience)
    page = await client.get(path)
    assert page.status_code == 403
    assert "is not open to" in page.text
    assert "Traceback" not in page.text


@pytest.mark.parametrize(
    ("audience", "path", "heading"),
    [
        (Audience.ADMIN, "/console/clients", "Clients"),
        (Audience.ADMIN, "/console/ledger/events?outcome=SERVED", "Ledger events"),
        (Audience.ADMIN, "/console/inquiries", "Inquiry queue"),
        (Audience.CONSTITUENT_SERVICES, "/console/inquiries?status=RECEIVED", "Inquiry queue"),
        (Audience.VICTIM_SERVICES, "/console/notifications?status=FAILED", "Victim notifications"),
        (Audience.RESEARCH_UNIT, "/console/research/agreements", "Research agreements"),
        (Audience.ADMIN, "/console/research/agreements?status=SUBMITTED", "Research agreements"),
    ],
)
async def test_each_page_renders_for_its_units(
    client: httpx.AsyncClient, sign_in: SignIn, audience: Audience, path: str, heading: str
) -> None:
    await sign_in(audience)
    page = await client.get(path)
    assert page.status_code == 200, page.text
    assert f"<h1>{heading}</h1>" in page.text
    assert 'class="problems"' not in page.text, page.text


async def test_who_saw_finds_the_person_by_doc_number(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    person, _facility = await make_inmate(session, last_name="Quillby")
    await session.flush()
    await sign_in(Audience.ADMIN)
    page = await client.get("/console/ledger/who-saw", params={"doc_id": person.doc_id})
    assert page.status_code == 200
    assert "Quillby" in page.text
    # The look-up itself showed the person to the admin: it is the first disclosure listed.
    assert "ConsolePersonByDocId" in page.text
    missing = await client.get("/console/ledger/who-saw", params={"doc_id": "NO-SUCH-DOC"})
    assert "No person with DOC number NO-SUCH-DOC." in missing.text


async def test_a_post_without_the_sessions_csrf_token_is_refused(
    client: httpx.AsyncClient, sign_in: SignIn
) -> None:
    await sign_in(Audience.ADMIN)
    forged = await client.post("/console/signout", data={"csrf": "forged"})
    assert forged.status_code == 403
    assert "CSRF" in forged.text
    missing = await client.post("/console/signout")
    assert missing.status_code == 403
    # Still signed in: the forged sign-out did nothing.
    assert (await client.get("/console/partners")).status_code == 200


async def test_sign_out_ends_the_session(client: httpx.AsyncClient, sign_in: SignIn) -> None:
    await sign_in(Audience.ADMIN)
    page = await client.get("/console/partners")
    out = await client.post("/console/signout", data={"csrf": csrf_of(page.text)})
    assert out.status_code == 303
    assert out.headers["location"] == "/console/signin"
    assert (await client.get("/console/partners")).status_code == 303


async def test_an_inquiry_is_answered_and_closed_through_the_api(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    inquiry = await make_inquiry(session)
    await session.flush()
    gid = to_global_id("Inquiry", inquiry.id)
    await sign_in(Audience.CONSTITUENT_SERVICES)
    page = await client.get(f"/console/inquiries/{gid}")
    assert page.status_code == 200, page.text
    csrf = csrf_of(page.text)
    assigned = await client.post(
        f"/console/inquiries/{gid}/assign",
        data={
            "csrf": csrf,
            "version": str(inquiry.version),
            "idempotency_key": "k0",
            "assigned_to": "B. Caseworker",
        },
    )
    assert assigned.status_code == 303
    page = await client.get(f"/console/inquiries/{gid}")
    assert "Inquiry assigned." in page.text
    assert "B. Caseworker" in page.text
    answered = await client.post(
        f"/console/inquiries/{gid}/respond",
        data={
            "csrf": csrf,
            "version": _value(page.text, "version"),
            "idempotency_key": "k1",
            "responder": "A. Clerk",
            "channel": "EMAIL",
            "body": "We have looked into it.",
        },
    )
    assert answered.status_code == 303
    page = await client.get(f"/console/inquiries/{gid}")
    assert "Response recorded." in page.text
    assert "We have looked into it." in page.text
    version = page.text.split('name="version" value="')[1].split('"')[0]
    closed = await client.post(
        f"/console/inquiries/{gid}/close", data={"csrf": csrf, "version": version, "idempotency_key": "k2"}
    )
    assert closed.status_code == 303
    page = await client.get(f"/console/inquiries/{gid}")
    assert "Inquiry closed." in page.text
    await session.refresh(inquiry)
    status = await session.scalar(select(Inquiry.status).where(Inquiry.id == inquiry.id))
    assert status == "closed"
    stale = await client.post(
        f"/console/inquiries/{gid}/reopen", data={"csrf": csrf, "version": "0", "idempotency_key": "k3"}
    )
    assert stale.status_code == 303
    assert "Inquiry reopened." not in (await client.get(f"/console/inquiries/{gid}")).text


async def test_unknown_pages_and_inquiries_answer_with_a_page_not_a_trace(
    client: httpx.AsyncClient, sign_in: SignIn
) -> None:
    await sign_in(Audience.ADMIN)
    missing = await client.get("/console/no-such-page")
    assert missing.status_code == 404
    assert "There is no such page" in missing.text
    inquiry = await client.get(f"/console/inquiries/{to_global_id('Inquiry', 987_654)}")
    assert inquiry.status_code == 404


def _value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return unescape(found.group(1))


async def test_the_research_unit_approves_a_submitted_agreement(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    partner = await make_research_partner(session)
    agreement = await make_agreement(
        session,
        partner,
        status="submitted",
        granted_fields=None,
        granted_cohort=None,
        starts_on=None,
        ends_on=None,
    )
    gid = to_global_id("ResearchAgreement", agreement.id)
    await sign_in(Audience.RESEARCH_UNIT)
    queue = await client.get("/console/research/agreements", params={"status": "SUBMITTED"})
    assert f"/console/research/agreements/{gid}" in queue.text
    page = await client.get(f"/console/research/agreements/{gid}")
    assert page.status_code == 200, page.text
    form = {
        "csrf": csrf_of(page.text),
        "version": _value(page.text, "version"),
        "idempotency_key": _value(page.text, "idempotency_key"),
        "cohort": _value(page.text, "cohort"),
        "fields": ["sex", "returned_3y"],
        "starts_on": _value(page.text, "starts_on"),
        "ends_on": _value(page.text, "ends_on"),
        "tier": "AGGREGATE",
        "k": "11",
    }
    approved = await client.post(f"/console/research/agreements/{gid}/approve", data=form)
    assert approved.status_code == 303
    page = await client.get(f"/console/research/agreements/{gid}")
    assert "Agreement approved." in page.text, page.text
    await session.refresh(agreement)
    assert agreement.status == "approved"
    assert agreement.granted_fields == ["sex", "returned_3y"]


async def test_an_agreements_page_lists_the_extracts_issued_under_it(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    agreement = await make_agreement(session, await make_research_partner(session), tier="record")
    await make_extract(session, agreement, requested_by="researcher-client-1", row_count=1200)
    await make_extract(
        session,
        agreement,
        requested_by="researcher-client-2",
        row_count=37,
        fields=["sex"],
        release={"k": 11, "suppressed": 4},
    )
    empty = await make_agreement(session, await make_research_partner(session))
    await sign_in(Audience.RESEARCH_UNIT)
    page = await client.get(f"/console/research/agreements/{to_global_id('ResearchAgreement', agreement.id)}")
    assert page.status_code == 200, page.text
    rows = re.findall(r"<tr>\s*<td>[^<]*</td>\s*<th scope=\"row\">([^<]+)</th>\s*<td>(\d+)</td>", page.text)
    assert rows == [("researcher-client-1", "1200"), ("researcher-client-2", "37")]
    assert "sex, returned_3y" in page.text
    assert '{"k": 11, "suppressed": 4}' in unescape(page.text)
    assert "not recorded" in page.text  # the first extract has no recorded release
    page = await client.get(f"/console/research/agreements/{to_global_id('ResearchAgreement', empty.id)}")
    assert "No extract has been issued under this agreement." in page.text
    operations = list(
        await session.scalars(select(AuditEvent.operation_name).where(AuditEvent.kind == "graphql"))
    )
    assert operations.count("ConsoleResearchAgreement") == 2


async def test_the_ledger_records_the_person_at_their_address_not_the_console(
    app: Starlette, sign_in: SignIn, session: AsyncSession, client: httpx.AsyncClient
) -> None:
    await sign_in(Audience.ADMIN)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://hub.test", cookies=client.cookies
    ) as browser:
        page = await browser.get("/console/clients")
    assert page.status_code == 200
    recorded = await session.scalars(
        select(AuditEvent.source_address).where(AuditEvent.operation_name == "ConsoleClients")
    )
    assert list(recorded) == ["203.0.113.9"]
