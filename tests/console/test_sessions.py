"""Console sessions: the cookie, the idle timeout, the token's expiry, fixation, and the GraphiQL
proxy that keeps the token on the server."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from hub.app import create_app
from hub.console.sessions import COOKIE, SECURE_COOKIE, SessionStore, unseal
from hub.settings import Settings
from resolvers.models.partners import Audience, ConsoleSessionRecord
from tests.conftest import Mint
from tests.console.conftest import SignIn, console_of, csrf_of


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def _signed_in(store: SessionStore, expires_in: float = 900) -> str:
    session = await store.sign_in(
        store.new(), audience=Audience.ADMIN, who="t", token="a.b.c", expires_in=expires_in, demo=False
    )
    return store.cookie_value(session)


async def _seen(store: SessionStore, cookie: str) -> bool:
    """A visit: the session is read and written back, as a request does."""
    session = await store.get(cookie)
    if session is None:
        return False
    await store.save(session)
    return True


async def test_a_session_ends_after_the_idle_timeout_and_each_visit_restarts_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = Clock()
    store = SessionStore(600, sessions, clock=clock)
    cookie = await _signed_in(store, expires_in=3600)
    clock.now += 599
    assert await _seen(store, cookie)
    clock.now += 599  # idle 599 s again since the last visit
    assert await _seen(store, cookie)
    clock.now += 600
    assert not await _seen(store, cookie)
    assert await store.count() == 0  # the expired row is gone


async def test_a_session_ends_when_its_token_expires(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = Clock()
    store = SessionStore(3600, sessions, clock=clock)
    cookie = await _signed_in(store, expires_in=300)
    clock.now += 299
    assert await _seen(store, cookie)
    clock.now += 1
    assert not await _seen(store, cookie)


async def test_a_cookie_with_a_wrong_or_missing_signature_names_no_session(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = SessionStore(600, sessions)
    cookie = await _signed_in(store)
    session_id, mac = cookie.split(".")
    assert await store.get(f"{session_id}.{mac[:-2]}xx") is None
    assert await store.get(session_id) is None
    assert await store.get(f"{session_id}.{mac}.extra") is None
    other = SessionStore(600, sessions, key=b"k" * 32)  # another key: its cookies are not ours
    assert await other.get(cookie) is None
    # Every store on the same database signs with the same key (every worker reads it).
    assert await SessionStore(600, sessions).get(cookie) is not None


async def test_signing_in_replaces_the_session_id_and_csrf_token(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = SessionStore(600, sessions)
    await store.load_key()
    anonymous = store.new()
    await store.save(anonymous)
    before = store.cookie_value(anonymous)
    assert await store.get(before) is not None
    signed_in = await store.sign_in(
        anonymous, audience=Audience.ADMIN, who="t", token="a.b.c", expires_in=60, demo=False
    )
    assert signed_in.id != anonymous.id
    assert signed_in.csrf != anonymous.csrf
    assert await store.get(before) is None  # a planted anonymous id does not become the signed-in session


async def test_signing_in_purges_expired_sessions(sessions: async_sessionmaker[AsyncSession]) -> None:
    clock = Clock()
    store = SessionStore(600, sessions, clock=clock)
    for _ in range(3):
        await store.save(store.new())
    assert await store.count() == 3
    clock.now += 600
    await _signed_in(store)
    assert await store.count() == 1


async def test_the_store_holds_no_session_id_and_no_token_in_clear(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    store = SessionStore(600, sessions)
    token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ0In0.c2lnbmF0dXJl"
    session = await store.sign_in(
        store.new(), audience=Audience.ADMIN, who="t", token=token, expires_in=600, demo=False
    )
    async with sessions() as db:
        row = (await db.execute(select(ConsoleSessionRecord))).one()
        raw = (await db.execute(text("SELECT * FROM console_sessions"))).one()
    record = row[0]
    assert record.id_hash == hashlib.sha256(session.id.encode()).hexdigest()
    dump = repr(tuple(raw))
    for secret in (session.id, token):
        assert secret not in dump
        assert secret.encode() not in (record.token_sealed or b"")
    # The sealed token opens only with the id, which only the cookie holds.
    assert unseal(session.id, record.token_sealed or b"") == token
    with pytest.raises(InvalidTag):
        unseal(record.id_hash, record.token_sealed or b"")


async def test_two_workers_share_sign_in_csrf_and_sign_out(
    settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], mint: Mint
) -> None:
    """Two apps on one store stand in for two workers: a session started on one is served by the other."""
    one = create_app(settings, engine=engine, sessions=sessions)
    two = create_app(settings, engine=engine, sessions=sessions)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=one), base_url="http://hub.test") as first,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=two), base_url="http://hub.test") as second,
    ):
        # An anonymous session (the sign-in form's CSRF token) started on one worker is the other's too.
        await first.get("/console/signin")
        anonymous = first.cookies[COOKIE]
        second.cookies.set(COOKIE, anonymous)
        seen = await console_of(two).store.get(anonymous)
        assert seen is not None
        refused = await second.post("/console/signin/demo", data={"csrf": "wrong", "unit": "admin"})
        assert refused.status_code == 403
        accepted = await second.post("/console/signin/demo", data={"csrf": seen.csrf, "unit": "admin"})
        assert accepted.status_code == 404  # past the CSRF check: there is no demo sign-in here

        # Signed in through the first worker, the second serves the pages and takes the CSRF token.
        console = console_of(one)
        signed_in = await console.store.sign_in(
            console.store.new(),
            audience=Audience.ADMIN,
            who="test admin",
            token=await mint(Audience.ADMIN),
            expires_in=600,
            demo=False,
        )
        cookie = console.store.cookie_value(signed_in)
        first.cookies.set(COOKIE, cookie)
        second.cookies.set(COOKIE, cookie)
        page = await second.get("/console/partners")
        assert page.status_code == 200
        assert "test admin" in page.text
        query = {"query": "{ partners(first: 1) { totalCount } }"}
        answered = await second.post(
            "/console/api/graphql", json=query, headers={"X-CSRF-Token": csrf_of(page.text)}
        )
        assert answered.status_code == 200
        assert "totalCount" in answered.text

        # Signed out through the second, the first asks to sign in again.
        out = await second.post("/console/signout", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303
        gone = await first.get("/console/partners")
        assert gone.status_code == 303
        assert "/console/signin" in gone.headers["location"]


async def test_an_expired_session_is_refused_by_every_worker(
    settings: Settings, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], mint: Mint
) -> None:
    one = create_app(settings, engine=engine, sessions=sessions)
    console = console_of(one)
    signed_in = await console.store.sign_in(
        console.store.new(),
        audience=Audience.ADMIN,
        who="test admin",
        token=await mint(Audience.ADMIN),
        expires_in=600,
        demo=False,
    )
    async with sessions() as db:
        await db.execute(
            update(ConsoleSessionRecord).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await db.commit()
    two = create_app(settings, engine=engine, sessions=sessions)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=two), base_url="http://hub.test"
    ) as client:
        client.cookies.set(COOKIE, console.store.cookie_value(signed_in))
        refused = await client.get("/console/partners")
    assert refused.status_code == 303
    assert "/console/signin" in refused.headers["location"]


async def test_over_https_the_cookie_is_secure_and_host_only(app: Starlette) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://hub.test") as client:
        answer = await client.get("/console/signin")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SECURE_COOKIE}=")
    assert "Secure" in cookie
    assert "Path=/" in cookie
    assert "Domain" not in cookie


async def test_graphiql_requests_under_the_sign_in_need_the_csrf_header(
    app: Starlette, client: httpx.AsyncClient, sign_in: SignIn
) -> None:
    await sign_in(Audience.ADMIN)
    query = {"query": "{ partners(first: 1) { totalCount } }"}
    refused = await client.post("/console/api/graphql", json=query)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]
    session = await console_of(app).store.get(client.cookies["hub_console"])
    assert session is not None
    answered = await client.post("/console/api/graphql", json=query, headers={"X-CSRF-Token": session.csrf})
    assert answered.status_code == 200
    assert "totalCount" in answered.json()["data"]["partners"]
    assert "a.b.c" not in answered.text
