"""Where a request came from, in the ledger: the hub's own request id, the caller's correlation id,
and the caller's source address behind trusted proxies."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from auth.audit import GENESIS, chain_hash
from hub.app import create_app
from hub.middleware import correlation_id, source_address
from hub.settings import Settings
from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience
from tests.conftest import GraphQL, Mint

ORIGIN = '{ auditEvents(kind: "graphql", first: 100) { nodes { requestId correlationId sourceAddress } } }'


async def _events(session: AsyncSession) -> list[AuditEvent]:
    return list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


async def test_a_callers_request_id_is_kept_as_its_correlation_id_never_as_the_ledgers_request_id(
    client: httpx.AsyncClient, mint: Mint, session: AsyncSession, gql: GraphQL
) -> None:
    token = await mint(Audience.LEGISLATIVE)
    # Another request's id, as a caller trying to blur the ledger would send it.
    response = await client.post(
        "/graphql",
        json={"query": "{ __typename }"},
        headers={"Authorization": f"Bearer {token}", "X-Request-Id": "ticket 4711/a"},
    )
    assert response.status_code == 200
    minted = response.headers["x-request-id"]
    assert minted != "ticket 4711/a"
    assert response.headers["x-correlation-id"] == "ticket 4711/a"
    assert response.json()["extensions"]["requestId"] == minted

    [event] = [e for e in await _events(session) if e.kind == "graphql"]
    assert event.request_id == minted
    assert event.correlation_id == "ticket 4711/a"
    body = (await gql(ORIGIN, audience=Audience.ADMIN)).json()
    assert {"requestId": minted, "correlationId": "ticket 4711/a", "sourceAddress": "127.0.0.1"} in body[
        "data"
    ]["auditEvents"]["nodes"], body


async def test_two_requests_with_the_same_caller_id_get_two_request_ids(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    for _ in range(2):
        await client.post("/graphql", json={"query": "{ __typename }"}, headers={"X-Request-Id": "same-id-1"})
    events = [e for e in await _events(session) if e.kind == "graphql"]
    assert [e.correlation_id for e in events] == ["same-id-1", "same-id-1"]
    assert len({e.request_id for e in events}) == 2


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        (b"partner-abc-12345", "partner-abc-12345"),
        (b"  spaced id  ", "spaced id"),
        (b"x" * 128, "x" * 128),
        (b"x" * 129, None),
        (b"tab\there", None),
        (b"caf\xc3\xa9", None),
        (b"", None),
        (None, None),
    ],
)
def test_a_correlation_id_is_printable_ascii_of_at_most_128_characters(
    raw: bytes | None, kept: str | None
) -> None:
    assert correlation_id(raw) == kept


async def test_an_invalid_correlation_id_is_ignored(client: httpx.AsyncClient, session: AsyncSession) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"X-Request-Id": "y" * 300}
    )
    assert "x-correlation-id" not in response.headers
    [event] = [e for e in await _events(session) if e.kind == "graphql"]
    assert event.correlation_id is None


TRUSTED = [__import__("ipaddress").ip_network(n) for n in ("127.0.0.1/32", "10.0.0.0/8", "fd00::/8")]


@pytest.mark.parametrize(
    ("peer", "forwarded", "source"),
    [
        ("127.0.0.1", None, "127.0.0.1"),
        # From an untrusted peer the header is the caller's own word: ignored.
        ("198.51.100.9", "203.0.113.7", "198.51.100.9"),
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),
        # Read from the right: the first hop no trusted proxy vouches for; what lies left of it is forged.
        ("127.0.0.1", "1.2.3.4, 203.0.113.7, 10.1.2.3", "203.0.113.7"),
        ("127.0.0.1", "10.0.0.1, 10.0.0.2", "10.0.0.1"),
        ("127.0.0.1", "not-an-address, 10.0.0.2", "10.0.0.2"),
        ("127.0.0.1", "2001:db8::1, fd00::5", "2001:db8::1"),
        (None, "203.0.113.7", None),
    ],
)
def test_the_source_address_behind_trusted_proxies(
    peer: str | None, forwarded: str | None, source: str | None
) -> None:
    assert source_address(peer, forwarded, TRUSTED) == source


@pytest_asyncio.fixture(loop_scope="session")
async def proxied(
    settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """The hub behind a proxy at 127.0.0.1 (the test transport's peer address)."""
    app = create_app(
        settings.model_copy(update={"trusted_proxies": ["127.0.0.1"]}), engine=engine, sessions=sessions
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as c:
        yield c


async def test_every_ledger_event_carries_the_source_address(
    client: httpx.AsyncClient, proxied: httpx.AsyncClient, session: AsyncSession
) -> None:
    headers = {"X-Forwarded-For": "203.0.113.7"}
    # Not behind a trusted proxy: the header is ignored.
    await client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    # Behind one: a GraphQL request and a failed token request, both with the caller's address.
    await proxied.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    await proxied.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "wrong"},
        headers=headers,
    )
    events = [e for e in await _events(session) if e.kind in ("graphql", "auth.failed")]
    assert [(e.kind, e.source_address) for e in events] == [
        ("graphql", "127.0.0.1"),
        ("graphql", "203.0.113.7"),
        ("auth.failed", "203.0.113.7"),
    ]


def test_the_source_address_and_correlation_id_are_hashed_when_present() -> None:
    def event(**values: str | None) -> AuditEvent:
        from datetime import UTC, datetime

        return AuditEvent(
            occurred_at=datetime(2026, 1, 1, tzinfo=UTC), kind="graphql", outcome="served", **values
        )

    plain = chain_hash(GENESIS, event())
    assert chain_hash(GENESIS, event(source_address=None, correlation_id=None)) == plain
    assert chain_hash(GENESIS, event(source_address="203.0.113.7")) != plain
    assert chain_hash(GENESIS, event(source_address="203.0.113.7")) != chain_hash(
        GENESIS, event(source_address="203.0.113.8")
    )
    assert chain_hash(GENESIS, event(correlation_id="a")) != plain
