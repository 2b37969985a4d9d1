"""Concurrent token requests on a store of their own (commits are real): on SQLite 37 of 40 used to
answer 500 "database is locked" (a read, then the ledger's write in the same transaction)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from auth.keys import KeyPolicy, ensure_signing_key
from hub.app import create_app
from hub.db import session_factory
from resolvers.models.partners import Audience
from tests.auth.conftest import basic
from tests.factories.partners import make_client_with_secret, make_partner
from tests.factories.stores import fresh_store

GRANT = {"grant_type": "client_credentials"}


async def test_forty_concurrent_token_requests_all_succeed(tmp_path: Path) -> None:
    async with fresh_store(tmp_path, "tokens") as (settings, engine):
        sessions = session_factory(engine)
        async with sessions() as session:
            await ensure_signing_key(session, KeyPolicy())
            partner = await make_partner(session, Audience.REENTRY)
            client, secret = await make_client_with_secret(session, partner)
            await session.commit()
        app = create_app(settings.model_copy(update={"issuer": "http://hub.test"}), engine=engine)

        async def ask(address: str, secret_given: str) -> httpx.Response:
            transport = httpx.ASGITransport(app=app, client=(address, 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://hub.test", timeout=60) as http:
                return await http.post(
                    "/oauth/token",
                    data=GRANT,
                    headers={"Authorization": basic(client.client_id, secret_given)},
                )

        good = [ask(f"10.1.0.{n}", secret) for n in range(40)]
        bad = [ask(f"10.2.0.{n}", "wrong") for n in range(10)]
        responses = await asyncio.gather(*good, *bad)
        statuses = [r.status_code for r in responses]
        assert statuses[:40] == [200] * 40, [r.text for r in responses if r.status_code == 500][:1]
        assert statuses[40:] == [401] * 10
