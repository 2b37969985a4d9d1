"""The console's *Ledger events* page filtered by partner and by a period of whole UTC days, in
addition to outcome and client id (in-process, through ``auditEvents``)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.audit import record_event
from auth.keys import KeyPolicy, KeyStore
from auth.ledger_checkpoints import checkpoint, record
from resolvers.models.partners import Audience
from schema.ids import to_global_id
from tests.console.conftest import SignIn
from tests.factories.partners import make_partner


async def test_events_by_partner_and_period(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    mine = await make_partner(session, Audience.REENTRY, name="Filter Works")
    other = await make_partner(session, Audience.REENTRY, name="Other Works")
    for partner, day, op in (
        (mine, 3, "InMarch"),
        (mine, 20, "LateMarch"),
        (other, 3, "OtherMarch"),
    ):
        await record_event(
            session,
            kind="graphql",
            partner_id=partner.id,
            client_id=f"c-{partner.id}",
            audience="reentry",
            operation_name=op,
            occurred_at=datetime(2021, 3, day, 12, tzinfo=UTC),
        )
    await session.flush()
    await sign_in(Audience.ADMIN)
    gid = to_global_id("Partner", mine.id)
    page = await client.get(
        "/console/ledger/events", params={"partner": gid, "since": "2021-03-01", "until": "2021-03-03"}
    )
    assert page.status_code == 200, page.text
    assert 'class="problems"' not in page.text, page.text
    assert "InMarch" in page.text
    assert "LateMarch" not in page.text  # after the last day
    assert "OtherMarch" not in page.text  # another partner's
    # The filters are kept in the form.
    assert f'<option value="{gid}" selected>Filter Works</option>' in page.text
    assert 'value="2021-03-03"' in page.text
    # The last day is included whole.
    wider = await client.get(
        "/console/ledger/events", params={"partner": gid, "since": "2021-03-01", "until": "2021-03-20"}
    )
    assert "InMarch" in wider.text
    assert "LateMarch" in wider.text
    backwards = await client.get(
        "/console/ledger/events", params={"since": "2021-03-20", "until": "2021-03-01"}
    )
    assert "The period ends before it starts" in backwards.text


async def test_the_events_page_shows_the_chain(client: httpx.AsyncClient, sign_in: SignIn) -> None:
    await sign_in(Audience.ADMIN)
    page = await client.get("/console/ledger/events")
    assert page.status_code == 200, page.text
    assert 'id="chain-heading"' in page.text
    assert "<strong>Holds</strong>: the newest" in page.text
    assert "hub audit verify" in page.text
    assert "No signed checkpoint is recorded in the store" in page.text


async def test_the_events_page_shows_the_latest_signed_checkpoint(
    client: httpx.AsyncClient,
    sign_in: SignIn,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await record_event(session, kind="client.test")
    await session.flush()
    value = await checkpoint(session, await KeyStore(sessions, KeyPolicy()).signer())
    await record(session, value)
    await session.flush()
    await sign_in(Audience.ADMIN)
    page = await client.get("/console/ledger/events")
    assert page.status_code == 200, page.text
    assert "Latest signed checkpoint: <strong>verifies</strong>" in page.text
    assert f"by key <code>{value['kid']}</code>, covering {value['events']} events" in page.text
    assert to_global_id("AuditEvent", value["head_id"]) in page.text
    assert value["head"] in page.text
