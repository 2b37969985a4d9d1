"""Failed client authentications are throttled per source address, never locked: an outsider who
knows a client id (it is in every token) cannot stop its owner or its tokens. Client secrets are
stored as a peppered HMAC; argon2id hashes of earlier versions verify and are replaced on use."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette

from auth import clients as registry
from auth.client_auth import ClientAuthenticator
from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import AuthThrottle, ClientStatus
from tests.auth.conftest import AppWith, Registered, basic, graphql

GRANT = {"grant_type": "client_credentials"}
OWNER = "10.0.0.2"
ATTACKER = "203.0.113.66"


@asynccontextmanager
async def from_address(app: Starlette, address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield http


async def token_request(http: httpx.AsyncClient, client_id: str, secret: str) -> httpx.Response:
    return await http.post("/oauth/token", data=GRANT, headers={"Authorization": basic(client_id, secret)})


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def set_clock(app: Starlette, clock: Callable[[], datetime]) -> None:
    authenticator: ClientAuthenticator = app.state.identity.oauth.clients
    authenticator.throttle.clock = clock


async def ledger_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


async def test_failures_from_one_address_do_not_stop_the_client_elsewhere(
    app_with: AppWith, session: AsyncSession, registered: Registered
) -> None:
    async with (
        app_with() as (app, _http),
        from_address(app, OWNER) as owner,
        from_address(app, ATTACKER) as evil,
    ):
        issued = await token_request(owner, registered.client_id, registered.secret)
        assert issued.status_code == 200
        token = issued.json()["access_token"]

        for _ in range(5):
            assert (await token_request(evil, registered.client_id, "guess")).status_code == 401
        before = await ledger_count(session)
        refused = await token_request(evil, registered.client_id, "guess")
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"] == "temporarily_unavailable"
        # Refused before any work: nothing checked, nothing written.
        assert await ledger_count(session) == before
        # Even the right secret waits at that address: the wait is the address's, not the client's.
        assert (await token_request(evil, registered.client_id, registered.secret)).status_code == 429

        # The owner, from its own address, is not affected, nor are its tokens.
        assert (await token_request(owner, registered.client_id, registered.secret)).status_code == 200
        assert (await graphql(owner, token, "{ __typename }")).status_code == 200
        await session.refresh(registered.client)
        assert registered.client.status == ClientStatus.ACTIVE


async def test_retry_after_grows_and_is_capped(
    app_with: AppWith, session: AsyncSession, registered: Registered
) -> None:
    clock = Clock()
    async with app_with(auth_throttle_max_s=8) as (app, _http), from_address(app, ATTACKER) as evil:
        set_clock(app, clock)
        for _ in range(4):
            assert (await token_request(evil, registered.client_id, "guess")).status_code == 401
        waits = []
        for _ in range(6):
            assert (await token_request(evil, registered.client_id, "guess")).status_code == 401
            refused = await token_request(evil, registered.client_id, "guess")
            assert refused.status_code == 429
            wait = int(refused.headers["retry-after"])
            waits.append(wait)
            clock.advance(wait)
        assert waits == [1, 2, 4, 8, 8, 8]
        # A success clears this client id's count at this address.
        assert (await token_request(evil, registered.client_id, registered.secret)).status_code == 200
        assert (await token_request(evil, registered.client_id, "guess")).status_code == 401
        assert (await token_request(evil, registered.client_id, "guess")).status_code == 401
        # Counts are forgotten HUB_AUTH_THROTTLE_FORGET_S after their last failure.
        clock.advance(3601)
        assert (await token_request(evil, registered.client_id, "guess")).status_code == 401
        row = await session.get(AuthThrottle, f"c {ATTACKER} {registered.client_id}", populate_existing=True)
        assert row is not None
        assert row.failures == 1


async def test_one_address_trying_many_client_ids_waits(app_with: AppWith, registered: Registered) -> None:
    async with (
        app_with(auth_throttle_address_after=6) as (app, _http),
        from_address(app, ATTACKER) as evil,
        from_address(app, OWNER) as owner,
    ):
        for n in range(6):
            assert (await token_request(evil, f"guessed-client-{n}", "guess")).status_code == 401
        assert (await token_request(evil, "guessed-client-99", "guess")).status_code == 429
        assert (await token_request(owner, registered.client_id, registered.secret)).status_code == 200


async def test_past_the_hub_wide_limit_every_failing_address_waits(
    app_with: AppWith, registered: Registered
) -> None:
    async with app_with(auth_failures_per_minute=3) as (app, _http), from_address(app, OWNER) as owner:
        for n in range(4):
            async with from_address(app, f"198.51.100.{n}") as bot:
                assert (await token_request(bot, registered.client_id, "guess")).status_code == 401
        async with from_address(app, "198.51.100.0") as bot:
            assert (await token_request(bot, registered.client_id, "guess")).status_code == 429
        # An address without failures is not held back.
        assert (await token_request(owner, registered.client_id, registered.secret)).status_code == 200


async def test_failed_attempts_are_ledgered_in_aggregate(
    app_with: AppWith, session: AsyncSession, registered: Registered
) -> None:
    async with (
        app_with(auth_throttle_after=100, auth_throttle_address_after=100) as (app, _http),
        from_address(app, ATTACKER) as evil,
    ):
        for n in range(20):
            assert (await token_request(evil, f"no-such-client-{n}", "guess")).status_code == 401
    events = list(
        await session.scalars(
            select(AuditEvent).where(AuditEvent.kind == "auth.failed").order_by(AuditEvent.id)
        )
    )
    mine = [e for e in events if e.detail and e.detail.get("source") == ATTACKER]
    # The 1st, 2nd, 4th, 8th and 16th failure, each with the count since the one before.
    assert [e.detail["window_failures"] for e in mine if e.detail] == [1, 2, 4, 8, 16]
    assert sum(e.detail["failures"] for e in mine if e.detail) == 16


async def test_secrets_are_stored_as_peppered_hmac(session: AsyncSession, registered: Registered) -> None:
    stored = registered.client.secret_hash
    assert stored is not None
    scheme, _pepper_id, digest = stored.split("$")
    assert scheme == "hmac-sha256"
    assert len(digest) == 64
    assert registered.secret not in stored
    assert await registry.legacy_hashes(session, pepper=None) == []


async def test_argon2_hashes_verify_and_are_replaced_on_use(
    client: httpx.AsyncClient, session: AsyncSession, registered: Registered
) -> None:
    registered.client.secret_hash = PasswordHasher().hash(registered.secret)
    await session.flush()
    assert [c.client_id for c in await registry.legacy_hashes(session, pepper=None)] == [registered.client_id]
    assert (await token_request(client, registered.client_id, "wrong")).status_code == 401
    await session.refresh(registered.client)
    assert str(registered.client.secret_hash).startswith("$argon2")
    assert (await token_request(client, registered.client_id, registered.secret)).status_code == 200
    await session.refresh(registered.client)
    assert str(registered.client.secret_hash).startswith("hmac-sha256$")
    assert await registry.legacy_hashes(session, pepper=None) == []
    assert (await token_request(client, registered.client_id, registered.secret)).status_code == 200
    kinds = list(
        await session.scalars(select(AuditEvent.kind).where(AuditEvent.client_id == registered.client_id))
    )
    assert "client.secret_rehashed" in kinds


async def test_a_configured_pepper_takes_over_and_old_hashes_still_verify(
    app_with: AppWith, session: AsyncSession, registered: Registered
) -> None:
    from pydantic import SecretStr

    old_hash = registered.client.secret_hash
    async with app_with(secret_pepper=SecretStr("p" * 40)) as (_app, http):
        assert (await token_request(http, registered.client_id, registered.secret)).status_code == 200
        await session.refresh(registered.client)
        assert registered.client.secret_hash != old_hash
        assert str(registered.client.secret_hash).split("$")[1] == registry.pepper_id(b"p" * 40)
    # The pepper was that app's alone (it used to stay set for the process): the store's is current
    # again for everyone else.
    assert [c.client_id for c in await registry.legacy_hashes(session, pepper=None)] == [registered.client_id]


async def test_behind_a_trusted_proxy_each_caller_is_throttled_on_its_own_address(
    app_with: AppWith, registered: Registered
) -> None:
    proxy = "10.9.0.1"
    async with app_with(trusted_proxies=["10.9.0.0/24"]) as (app, _http), from_address(app, proxy) as via:

        async def through_proxy(caller: str, secret: str) -> httpx.Response:
            return await via.post(
                "/oauth/token",
                data=GRANT,
                headers={"Authorization": basic(registered.client_id, secret), "X-Forwarded-For": caller},
            )

        for _ in range(5):
            assert (await through_proxy(ATTACKER, "guess")).status_code == 401
        assert (await through_proxy(ATTACKER, "guess")).status_code == 429
        # The owner comes through the same proxy and is not held back by the attacker's failures.
        assert (await through_proxy(OWNER, registered.secret)).status_code == 200
    # From a peer that is not a trusted proxy the header is ignored: the peer itself is the caller.
    async with app_with() as (app, _http), from_address(app, proxy) as direct:
        forged = {"Authorization": basic(registered.client_id, "guess"), "X-Forwarded-For": OWNER}
        for _ in range(5):
            await direct.post("/oauth/token", data=GRANT, headers=forged)
        assert (await direct.post("/oauth/token", data=GRANT, headers=forged)).status_code == 429
