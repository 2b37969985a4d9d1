"""The console's administration of the partner registry (in-process): partners added, renamed,
suspended and restored; clients added (the secret shown once), rotated, disabled, enabled, switched to
persisted operations only and removed, each through the API's admin mutations and under CSRF."""

from __future__ import annotations

import hashlib
import logging
import re
from html import unescape

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience, Client, Partner, PersistedOperation
from schema.ids import to_global_id
from tests.console.conftest import SignIn, csrf_of
from tests.factories.partners import make_client, make_partner


def _value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, name
    return unescape(found.group(1))


def _secret_of(html: str) -> str:
    found = re.search(r'id="client-secret" class="secret" value="([^"]+)"', html)
    assert found, html
    return unescape(found.group(1))


async def _operations(session: AsyncSession) -> list[str | None]:
    return list(await session.scalars(select(AuditEvent.operation_name).where(AuditEvent.kind == "graphql")))


async def test_admin_adds_renames_suspends_and_restores_a_partner(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    await sign_in(Audience.ADMIN)
    page = await client.get("/console/partners")
    assert 'for="partner-name"' in page.text
    form = {
        "csrf": csrf_of(page.text),
        "idempotency_key": _value(page.text, "idempotency_key"),
        "name": "Office of Rep. Console",
        "audience": "legislative",
        "contact_email": "rep@example.org",
    }
    added = await client.post("/console/partners/add", data=form)
    assert added.status_code == 303
    # On to the new partner's clients, with the form for its first one.
    assert added.headers["location"].startswith("/console/clients?partner=")
    clients = await client.get(added.headers["location"])
    assert "Partner Office of Rep. Console added. Add its first client below." in clients.text
    assert "Clients of Office of Rep. Console." in clients.text
    page = await client.get("/console/partners")
    assert "Office of Rep. Console" in page.text
    # The same form sent twice (a double click, a retry): written once.
    again = await client.post("/console/partners/add", data=form)
    assert again.status_code == 303
    assert "Already done" in (await client.get("/console/partners")).text
    partner = await session.scalar(select(Partner).where(Partner.name == "Office of Rep. Console"))
    assert partner is not None
    gid = to_global_id("Partner", partner.id)
    csrf = csrf_of(page.text)
    renamed = await client.post(
        f"/console/partners/{gid}/rename", data={"csrf": csrf, "idempotency_key": "r1", "name": "Office Two"}
    )
    assert renamed.status_code == 303
    assert "Partner renamed." in (await client.get("/console/partners")).text
    await client.post(f"/console/partners/{gid}/disable", data={"csrf": csrf, "idempotency_key": "d1"})
    page = await client.get("/console/partners")
    assert "Partner suspended" in page.text
    await session.refresh(partner)
    assert (partner.name, partner.active) == ("Office Two", False)
    await client.post(f"/console/partners/{gid}/enable", data={"csrf": csrf, "idempotency_key": "e1"})
    await session.refresh(partner)
    assert partner.active is True
    operations = await _operations(session)
    for name in (
        "ConsoleAddPartner",
        "ConsoleRenamePartner",
        "ConsoleDisablePartner",
        "ConsoleEnablePartner",
    ):
        assert name in operations


async def test_a_refused_write_says_why(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    taken = await make_partner(session, name="Taken Name")
    await sign_in(Audience.ADMIN)
    page = await client.get("/console/partners")
    added = await client.post(
        "/console/partners/add",
        data={"csrf": csrf_of(page.text), "idempotency_key": "k", "name": taken.name, "audience": "reentry"},
    )
    assert added.status_code == 303
    assert "already exists" in (await client.get("/console/partners")).text


async def test_admin_adds_a_client_and_sees_its_secret_once(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    partner = await make_partner(session, Audience.REENTRY, name="Reentry Works")
    gid = to_global_id("Partner", partner.id)
    await sign_in(Audience.ADMIN)
    page = await client.get("/console/clients", params={"partner": gid})
    assert "Clients of Reentry Works." in page.text
    form = {
        "csrf": csrf_of(page.text),
        "idempotency_key": _value(page.text, "idempotency_key"),
        "partner": gid,
        "partner_id": gid,
        "name": "Case app",
    }
    shown = await client.post("/console/clients/add", data=form)
    # The POST's own answer shows the secret: no redirect, so it is in no URL; never cached.
    assert shown.status_code == 200
    assert shown.headers["cache-control"] == "no-store"
    assert 'id="copy-secret"' in shown.text
    assert "/console/static/console-copy.js" in shown.text
    secret = _secret_of(shown.text)
    client_id = re.search(r'<code id="shown-client-id">([^<]+)</code>', shown.text).group(1)  # type: ignore[union-attr]
    token = await client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert token.status_code == 200, token.text
    # Sent again, the form does not show the secret again.
    again = await client.post("/console/clients/add", data=form)
    assert again.status_code == 303
    listed = await client.get(again.headers["location"].removeprefix("http://hub.test"))
    assert "A secret is shown only once" in listed.text
    assert secret not in listed.text
    assert client_id in listed.text
    assert secret not in caplog.text
    variables = await session.scalars(select(AuditEvent.variables).where(AuditEvent.kind == "graphql"))
    assert all(secret not in str(v) for v in variables)


async def test_rotate_disable_persisted_only_and_remove_a_client(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    partner = await make_partner(session, Audience.RESEARCHER)
    target = await make_client(session, partner)
    cid = target.client_id
    await sign_in(Audience.ADMIN)
    page = await client.get("/console/clients", params={"partner": to_global_id("Partner", partner.id)})
    assert f"/console/clients/{cid}/confirm/rotate" in page.text
    assert f"/console/clients/{cid}/confirm/remove" not in page.text  # active: disable it first
    confirm = await client.get(f"/console/clients/{cid}/confirm/rotate")
    assert confirm.status_code == 200
    assert "stops authenticating at once" in confirm.text
    rotated = await client.post(
        f"/console/clients/{cid}/rotate",
        data={"csrf": csrf_of(confirm.text), "idempotency_key": _value(confirm.text, "idempotency_key")},
    )
    assert rotated.status_code == 200
    assert "Secret rotated" in rotated.text
    assert _secret_of(rotated.text)
    csrf = csrf_of(rotated.text)
    for action, key in (("disable", "d"), ("persisted-only", "p")):
        done = await client.post(
            f"/console/clients/{cid}/{action}", data={"csrf": csrf, "idempotency_key": key}
        )
        assert done.status_code == 303
    await session.refresh(target)
    assert (target.status, target.persisted_only) == ("disabled", True)
    page = await client.get("/console/clients")
    assert "now runs only its registered operations" in page.text
    confirm = await client.get(f"/console/clients/{cid}/confirm/remove")
    assert "cannot be undone" in confirm.text
    unconfirmed = await client.post(
        f"/console/clients/{cid}/remove", data={"csrf": csrf, "idempotency_key": "x"}
    )
    assert unconfirmed.status_code == 400
    removed = await client.post(
        f"/console/clients/{cid}/remove", data={"csrf": csrf, "idempotency_key": "rm", "confirm": "yes"}
    )
    assert removed.status_code == 303
    assert f"Client {cid} removed." in (await client.get("/console/clients")).text
    assert await session.scalar(select(Client.id).where(Client.client_id == cid)) is None


@pytest.mark.parametrize(
    "path",
    [
        "/console/partners/add",
        f"/console/partners/{to_global_id('Partner', 1)}/disable",
        "/console/clients/add",
        "/console/clients/some-client/disable",
        "/console/clients/some-client/remove",
        "/console/clients/some-client/operations/register",
        f"/console/clients/some-client/operations/{'0' * 64}/remove",
    ],
)
async def test_every_registry_form_needs_the_csrf_token(
    client: httpx.AsyncClient, sign_in: SignIn, path: str
) -> None:
    await sign_in(Audience.ADMIN)
    refused = await client.post(
        path, data={"csrf": "forged", "name": "X", "audience": "admin", "confirm": "yes"}
    )
    assert refused.status_code == 403
    assert "CSRF" in refused.text


async def test_other_units_cannot_post_to_the_registry(client: httpx.AsyncClient, sign_in: SignIn) -> None:
    await sign_in(Audience.CONSTITUENT_SERVICES)
    page = await client.get("/console/inquiries")
    refused = await client.post(
        "/console/partners/add", data={"csrf": csrf_of(page.text), "name": "X", "audience": "admin"}
    )
    assert refused.status_code == 403
    assert "is not open to" in refused.text


async def test_a_clients_failed_sign_ins_are_shown_and_forgotten(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    from datetime import UTC, datetime, timedelta

    from auth.throttle import client_key
    from resolvers.models.partners import AuthThrottle

    target = await make_client(session, await make_partner(session))
    now = datetime.now(UTC)
    session.add(
        AuthThrottle(
            key=client_key("198.51.100.7", target.client_id),
            failures=6,
            reported=0,
            first_failure_at=now - timedelta(minutes=1),
            last_failure_at=now,
            blocked_until=now + timedelta(minutes=2),
        )
    )
    await session.flush()
    await sign_in(Audience.ADMIN)
    page = await client.get(
        "/console/clients", params={"partner": to_global_id("Partner", target.partner_id)}
    )
    assert "6 from 198.51.100.7" in page.text
    assert "waits until" in page.text
    assert f"/console/ledger/events?client_id={target.client_id}&amp;outcome=DENIED" in page.text
    forgot = await client.post(
        f"/console/clients/{target.client_id}/unthrottle",
        data={"csrf": csrf_of(page.text), "idempotency_key": "u"},
    )
    assert forgot.status_code == 303
    page = await client.get("/console/clients")
    assert f"Failed authentications of {target.client_id} forgotten" in page.text
    assert (
        await session.scalar(select(AuthThrottle.key).where(AuthThrottle.key.endswith(target.client_id)))
        is None
    )


async def test_a_clients_persisted_operations_registered_and_removed(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    partner = await make_partner(session, Audience.LEGISLATIVE)
    target = await make_client(session, partner)
    cid = target.client_id
    await sign_in(Audience.ADMIN)
    clients = await client.get("/console/clients", params={"partner": to_global_id("Partner", partner.id)})
    assert f"/console/clients/{cid}/operations?partner=" in clients.text
    page = await client.get(f"/console/clients/{cid}/operations")
    assert page.status_code == 200
    assert "No persisted operations." in page.text
    assert 'for="operation-document"' in page.text
    csrf = csrf_of(page.text)
    key = _value(page.text, "idempotency_key")
    # The textarea's CRLF line ends are registered as LF: the text a client's tooling hashes.
    document = "query Facilities {\r\n  facilities(first: 2) { totalCount }\r\n}"
    sent = {"csrf": csrf, "idempotency_key": key, "document": document}
    registered = await client.post(f"/console/clients/{cid}/operations/register", data=sent)
    assert registered.status_code == 303
    assert registered.headers["location"] == f"/console/clients/{cid}/operations"
    sha = hashlib.sha256(document.replace("\r\n", "\n").encode()).hexdigest()
    stored = list(
        await session.scalars(
            select(PersistedOperation.sha256).where(PersistedOperation.client_pk == target.id)
        )
    )
    assert stored == [sha]
    page = await client.get(f"/console/clients/{cid}/operations")
    assert f"Operation {sha} registered for {cid}." in page.text
    assert "Facilities" in page.text
    assert f"/operations/{sha}/remove" in page.text
    # The same form again writes nothing more.
    again = await client.post(f"/console/clients/{cid}/operations/register", data=sent)
    assert "Already done" in (await client.get(again.headers["location"])).text

    bad = await client.post(
        f"/console/clients/{cid}/operations/register",
        data={"csrf": csrf, "idempotency_key": "bad", "document": "{ partners { totalCount } }"},
    )
    page = await client.get(bad.headers["location"])
    assert "is not valid for the legislative schema" in unescape(page.text)

    no_csrf = await client.post(
        f"/console/clients/{cid}/operations/{sha}/remove", data={"idempotency_key": "rm"}
    )
    assert no_csrf.status_code == 403
    removed = await client.post(
        f"/console/clients/{cid}/operations/{sha}/remove", data={"csrf": csrf, "idempotency_key": "rm"}
    )
    assert removed.status_code == 303
    page = await client.get(removed.headers["location"])
    assert f"Operation {sha} removed from {cid}." in page.text
    assert "No persisted operations." in page.text
    assert (
        await session.scalar(select(PersistedOperation.id).where(PersistedOperation.client_pk == target.id))
        is None
    )


@pytest.mark.parametrize("audience", [Audience.CONSTITUENT_SERVICES, Audience.VICTIM_SERVICES])
async def test_only_administrators_see_persisted_operations(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession, audience: Audience
) -> None:
    target = await make_client(session, await make_partner(session))
    await sign_in(audience)
    page = await client.get(f"/console/clients/{target.client_id}/operations")
    assert page.status_code == 403
