"""Fixtures for the identity tests: a registered client with a real secret, token requests, and
apps built with other identity settings."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from hub.app import create_app
from hub.settings import Settings
from resolvers.models.partners import Audience, Client, Partner
from tests.factories.partners import make_client_with_secret, make_partner

TOKEN_URL = "http://hub.test/oauth/token"
PEOPLE = "{ people(first: 1) { totalCount } }"


@dataclass
class Registered:
    partner: Partner
    client: Client
    secret: str

    @property
    def client_id(self) -> str:
        return self.client.client_id


@pytest_asyncio.fixture(loop_scope="session")
async def registered(session: AsyncSession) -> Registered:
    partner = await make_partner(session, Audience.REENTRY)
    client, secret = await make_client_with_secret(session, partner)
    return Registered(partner, client, secret)


def basic(client_id: str, secret: str) -> str:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


async def request_token(
    client: httpx.AsyncClient, data: dict[str, str], headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post("/oauth/token", data=data, headers=headers or {})


async def graphql(client: httpx.AsyncClient, token: str, query: str = PEOPLE) -> httpx.Response:
    return await client.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"})


AppWith = Callable[..., Any]


@pytest.fixture
def app_with(
    settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> Callable[..., Any]:
    """``async with app_with(client_status_cache_s=0) as (app, http):`` — the hub with other settings."""

    @asynccontextmanager
    async def build(**overrides: Any) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
        app = create_app(settings.model_copy(update=overrides), engine=engine, sessions=sessions)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
            yield app, http

    return build


def error_of(response: httpx.Response) -> str:
    body: dict[str, Any] = response.json()
    return str(body["error"])
