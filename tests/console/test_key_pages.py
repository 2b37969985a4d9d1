"""The console's *Signing keys* page (in-process): the keys and the next rotation due, rotation and
retirement through the API's admin mutations, under CSRF, and for the admin unit only."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import keys
from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience
from resolvers.models.signing_keys import SigningKey
from tests.console.conftest import SignIn, csrf_of


def _key_of(html: str, suffix: str) -> str:
    found = re.search(rf'name="idempotency_key" value="([^"]*-{suffix})"', html)
    assert found, suffix
    return unescape(found.group(1))


async def _signing_kids(session: AsyncSession) -> list[str]:
    return list(await session.scalars(select(SigningKey.kid).where(SigningKey.retired_at.is_(None))))


async def test_admin_sees_the_keys_rotates_them_and_a_resend_writes_once(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    await sign_in(Audience.ADMIN)
    page = await client.get("/console/keys")
    assert page.status_code == 200, page.text
    assert "<h1>Signing keys</h1>" in page.text
    assert 'class="problems"' not in page.text, page.text
    (signer,) = await _signing_kids(session)
    assert signer in page.text
    assert "Next rotation due" in page.text
    assert "(every 90 days)" in page.text
    assert "overdue" not in page.text
    form = {"csrf": csrf_of(page.text), "idempotency_key": _key_of(page.text, "rotate")}
    rotated = await client.post("/console/keys/rotate", data=form)
    assert rotated.status_code == 303
    assert rotated.headers["location"].endswith("/console/keys")
    page = await client.get("/console/keys")
    assert "Signing keys rotated" in page.text
    (new,) = await _signing_kids(session)
    assert new != signer
    # The same form sent again (a double click, a retry): nothing more is written.
    await client.post("/console/keys/rotate", data=form)
    assert "Already done" in (await client.get("/console/keys")).text
    assert await _signing_kids(session) == [new]
    operations = list(
        await session.scalars(select(AuditEvent.operation_name).where(AuditEvent.kind == "graphql"))
    )
    assert {"ConsoleSigningKeys", "ConsoleRotateSigningKey"} <= set(operations)


async def test_a_second_active_key_is_retired_and_the_signing_key_is_refused(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    (signer,) = await _signing_kids(session)
    extra = await keys.create_key(session, keys.KeyPolicy())
    extra.created_at = datetime.now(UTC) - timedelta(days=400)
    await session.flush()
    await sign_in(Audience.ADMIN)
    page = await client.get("/console/keys")
    assert f'action="/console/keys/{extra.kid}/retire"' in page.text
    # The signing key has no retire form: it is retired by rotating.
    assert f'action="/console/keys/{signer}/retire"' not in page.text
    csrf = csrf_of(page.text)
    retired = await client.post(
        f"/console/keys/{extra.kid}/retire", data={"csrf": csrf, "idempotency_key": "r1"}
    )
    assert retired.status_code == 303
    assert f"Key {extra.kid} retired" in (await client.get("/console/keys")).text
    await session.refresh(extra)
    assert extra.retired_at is not None
    # A forged form of the signing key is refused by the API, and the page says why.
    refused = await client.post(
        f"/console/keys/{signer}/retire", data={"csrf": csrf, "idempotency_key": "r2"}
    )
    assert refused.status_code == 303
    assert "is the only signing key" in unescape((await client.get("/console/keys")).text)
    assert await _signing_kids(session) == [signer]


async def test_an_overdue_rotation_is_marked(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    (signer,) = await _signing_kids(session)
    row = await session.get(SigningKey, signer)
    assert row is not None
    row.created_at = datetime.now(UTC) - timedelta(days=91)
    await session.flush()
    await sign_in(Audience.ADMIN)
    page = await client.get("/console/keys")
    assert "overdue: rotate now" in page.text


async def test_a_post_without_the_csrf_token_rotates_nothing(
    client: httpx.AsyncClient, sign_in: SignIn, session: AsyncSession
) -> None:
    before = await _signing_kids(session)
    await sign_in(Audience.ADMIN)
    forged = await client.post("/console/keys/rotate", data={"csrf": "forged", "idempotency_key": "x"})
    assert forged.status_code == 403
    assert "CSRF" in forged.text
    assert await _signing_kids(session) == before


@pytest.mark.parametrize("audience", [Audience.VICTIM_SERVICES, Audience.RESEARCH_UNIT])
async def test_other_units_cannot_open_the_keys_page(
    client: httpx.AsyncClient, sign_in: SignIn, audience: Audience
) -> None:
    await sign_in(audience)
    page = await client.get("/console/keys")
    assert page.status_code == 403
    assert "is not open to" in page.text
