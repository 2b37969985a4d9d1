"""Console sessions: the cookie, the idle timeout, the token's expiry, fixation, and the GraphiQL
proxy that keeps the token on the server."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from hub.console.sessions import SECURE_COOKIE, SessionStore
from resolvers.models.partners import Audience
from tests.console.conftest import SignIn, console_of


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _signed_in(store: SessionStore, expires_in: float = 900) -> str:
    session = store.sign_in(
        store.new(), audience=Audience.ADMIN, who="t", token="a.b.c", expires_in=expires_in, demo=False
    )
    return store.cookie_value(session)


def test_a_session_ends_after_the_idle_timeout_and_each_visit_restarts_it() -> None:
    clock = Clock()
    store = SessionStore(timeout_s=600, clock=clock)
    cookie = _signed_in(store, expires_in=3600)
    clock.now += 599
    assert store.get(cookie) is not None
    clock.now += 599  # idle 599 s again since the last visit
    assert store.get(cookie) is not None
    clock.now += 600
    assert store.get(cookie) is None
    assert len(store) == 0


def test_a_session_ends_when_its_token_expires() -> None:
    clock = Clock()
    store = SessionStore(timeout_s=3600, clock=clock)
    cookie = _signed_in(store, expires_in=300)
    clock.now += 299
    assert store.get(cookie) is not None
    clock.now += 1
    assert store.get(cookie) is None


def test_a_cookie_with_a_wrong_or_missing_signature_names_no_session() -> None:
    store = SessionStore(timeout_s=600)
    cookie = _signed_in(store)
    session_id, mac = cookie.split(".")
    assert store.get(f"{session_id}.{mac[:-2]}xx") is None
    assert store.get(session_id) is None
    assert store.get(f"{session_id}.{mac}.extra") is None
    other = SessionStore(timeout_s=600)  # another process's key: its cookies are not ours
    assert other.get(cookie) is None


def test_signing_in_replaces_the_session_id_and_csrf_token() -> None:
    store = SessionStore(timeout_s=600)
    anonymous = store.new()
    before = store.cookie_value(anonymous)
    signed_in = store.sign_in(
        anonymous, audience=Audience.ADMIN, who="t", token="a.b.c", expires_in=60, demo=False
    )
    assert signed_in.id != anonymous.id
    assert signed_in.csrf != anonymous.csrf
    assert store.get(before) is None  # a planted anonymous id does not become the signed-in session


def test_the_store_is_bounded_and_drops_the_longest_idle_first() -> None:
    clock = Clock()
    store = SessionStore(timeout_s=600, max_sessions=3, clock=clock)
    cookies = []
    for _ in range(3):
        cookies.append(store.cookie_value(store.new()))
        clock.now += 1
    store.cookie_value(store.new())
    assert len(store) == 3
    assert store.get(cookies[0]) is None
    assert store.get(cookies[2]) is not None


def test_a_flood_of_anonymous_visits_does_not_sign_staff_out() -> None:
    clock = Clock()
    store = SessionStore(timeout_s=600, max_sessions=3, clock=clock)
    staff = _signed_in(store)
    for _ in range(10):
        clock.now += 1
        store.new()
    assert len(store) == 3
    assert store.get(staff) is not None


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
    session = console_of(app).store.get(client.cookies["hub_console"])
    assert session is not None
    answered = await client.post("/console/api/graphql", json=query, headers={"X-CSRF-Token": session.csrf})
    assert answered.status_code == 200
    assert "totalCount" in answered.json()["data"]["partners"]
    assert "a.b.c" not in answered.text
