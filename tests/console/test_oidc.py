"""Staff sign-in through an identity provider: OIDC authorization code with PKCE against a tiny
provider on 127.0.0.1 (discovery, authorize, token, keys), the hub in-process.

The provider stub checks PKCE itself: it answers the code only for the verifier whose S256
challenge came with the authorization request, so a console that skipped or garbled PKCE fails here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import pytest_asyncio
from joserfc import jwk
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette

from auth import tokens
from auth.issuers import IssuerConfig
from hub.app import create_app
from hub.console.sessions import OIDC_COOKIE
from hub.settings import ConsoleOidcClient, Settings
from resolvers.models.ledger import AuditEvent
from resolvers.models.partners import Audience, ConsoleOidcPendingRecord
from tests.console.conftest import csrf_of

CLIENT_ID = "hub-console"
CLIENT_SECRET = "console-secret-at-the-idp"
HUB_AUDIENCE = "partner-data-hub"


class Provider:
    """The stub's state: its key, the codes it issued, and what it was asked."""

    def __init__(self) -> None:
        self.key = jwk.RSAKey.generate_key(2048, parameters={"kid": "idp-1", "alg": "RS256"})
        self.issuer = ""
        self.unit = "admins"
        self.codes: dict[str, dict[str, str]] = {}
        self.authorize_requests: list[dict[str, str]] = []
        self.token_requests: list[dict[str, str]] = []
        self.nonce_override: str | None = None

    def sign(self, claims: dict[str, Any]) -> str:
        return tokens.sign_with(claims, self.key, "RS256", kid="idp-1")

    def answer_code(self, form: dict[str, str], basic: str | None) -> tuple[int, dict[str, Any]]:
        self.token_requests.append(form)
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if basic != f"Basic {expected}":
            return 401, {"error": "invalid_client"}
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return 400, {"error": "invalid_grant", "error_description": "unknown code"}
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode()).digest())
            .decode()
            .rstrip("=")
        )
        if grant["code_challenge_method"] != "S256" or challenge != grant["code_challenge"]:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        now = int(time.time())
        common = {"iss": self.issuer, "sub": "staff-4711", "iat": now, "exp": now + 300}
        access = self.sign(
            {**common, "aud": HUB_AUDIENCE, "jti": secrets.token_hex(8), "department_unit": self.unit}
        )
        nonce = self.nonce_override if self.nonce_override is not None else grant["nonce"]
        identity = self.sign({**common, "aud": CLIENT_ID, "nonce": nonce, "preferred_username": "a.admin"})
        return 200, {"access_token": access, "id_token": identity, "token_type": "Bearer", "expires_in": 300}


def handler_for(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/.well-known/openid-configuration":
                self._json(
                    200,
                    {
                        "issuer": provider.issuer,
                        "authorization_endpoint": f"{provider.issuer}/authorize",
                        "token_endpoint": f"{provider.issuer}/token",
                        "jwks_uri": f"{provider.issuer}/jwks",
                    },
                )
            elif url.path == "/jwks":
                self._json(200, {"keys": [provider.key.as_dict(private=False)]})
            elif url.path == "/authorize":
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                provider.authorize_requests.append(query)
                code = secrets.token_urlsafe(16)
                provider.codes[code] = query
                self.send_response(302)
                self.send_header(
                    "Location",
                    f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}",
                )
                self.end_headers()
            else:
                self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            status, body = provider.answer_code(form, self.headers.get("Authorization"))
            self._json(status, body)

    return Handler


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    state = Provider()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(state))
    state.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def oidc_settings(settings: Settings, provider: Provider) -> Settings:
    issuer = IssuerConfig(
        issuer=provider.issuer,
        audience=HUB_AUDIENCE,
        jwks_url=f"{provider.issuer}/jwks",
        unit_map={"admins": Audience.ADMIN, "cs": Audience.CONSTITUENT_SERVICES},
    )
    return Settings.model_validate(
        {
            **settings.model_dump(),
            "issuers": [issuer.model_dump()],
            "console_oidc": [
                {
                    "issuer": provider.issuer,
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "label": "Staff login",
                }
            ],
        }
    )


@pytest_asyncio.fixture(loop_scope="session")
async def hub(
    settings: Settings, provider: Provider, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    provider.unit = "admins"
    provider.nonce_override = None
    app: Starlette = create_app(oidc_settings(settings, provider), engine=engine, sessions=sessions)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        yield client


async def _to_provider_and_back(
    hub: httpx.AsyncClient, next_path: str = "/console/partners"
) -> httpx.Response:
    page = await hub.get("/console/signin")
    assert "Sign in with Staff login" in page.text
    started = await hub.post(
        "/console/signin/oidc",
        data={
            "csrf": csrf_of(page.text),
            "issuer": str(page.text.split('name="issuer" value="')[1].split('"')[0]),
            "next": next_path,
        },
    )
    assert started.status_code == 303
    assert "samesite=lax" in started.headers["set-cookie"].lower()
    # The browser's trip to the provider (a real HTTP server on 127.0.0.1), which redirects back.
    async with httpx.AsyncClient() as browser:
        at_provider = await browser.get(started.headers["location"])
    assert at_provider.status_code == 302
    back = urlsplit(at_provider.headers["location"])
    assert f"{back.scheme}://{back.netloc}" == "http://hub.test"
    return await hub.get(f"{back.path}?{back.query}")


async def test_staff_sign_in_with_pkce_opens_their_units_pages(
    hub: httpx.AsyncClient, provider: Provider, session: AsyncSession
) -> None:
    landed = await _to_provider_and_back(hub)
    assert landed.status_code == 200, landed.text
    assert 'http-equiv="refresh" content="0; url=/console/partners"' in landed.text
    asked = provider.authorize_requests[-1]
    assert asked["client_id"] == CLIENT_ID
    assert asked["code_challenge_method"] == "S256"
    assert asked["response_type"] == "code"
    assert "openid" in asked["scope"].split()
    assert provider.token_requests[-1]["code_verifier"]
    page = await hub.get("/console/partners")
    assert page.status_code == 200
    assert "Signed in as a.admin (admin)." in page.text
    staff = await session.scalars(
        select(AuditEvent.staff_subject).where(AuditEvent.operation_name == "ConsolePartners")
    )
    assert "staff-4711" in list(staff)


async def test_the_unit_comes_from_the_issuers_unit_map(hub: httpx.AsyncClient, provider: Provider) -> None:
    provider.unit = "cs"
    await _to_provider_and_back(hub, "/console/inquiries")
    assert (await hub.get("/console/inquiries")).status_code == 200
    assert (await hub.get("/console/partners")).status_code == 403


async def test_an_id_token_for_another_sign_in_is_refused(hub: httpx.AsyncClient, provider: Provider) -> None:
    provider.nonce_override = "someone-elses-nonce"
    refused = await _to_provider_and_back(hub)
    assert refused.status_code == 403
    assert "nonce" in refused.text
    assert (await hub.get("/console/partners")).status_code == 303


async def test_a_callback_with_a_forged_state_or_no_pending_sign_in_is_refused(
    hub: httpx.AsyncClient, provider: Provider
) -> None:
    page = await hub.get("/console/signin")
    started = await hub.post(
        "/console/signin/oidc",
        data={"csrf": csrf_of(page.text), "issuer": provider.issuer, "next": "/console/"},
    )
    assert started.status_code == 303
    forged = await hub.get("/console/signin/oidc/callback", params={"code": "x", "state": "forged"})
    assert forged.status_code == 400
    assert "not started here" in forged.text
    # The genuine state with a cookie the hub did not sign opens nothing.
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    hub.cookies.set(OIDC_COOKIE, "someone-else.forged-mac")
    stranger = await hub.get("/console/signin/oidc/callback", params={"code": "x", "state": state})
    assert stranger.status_code == 400
    assert "start again" in stranger.text
    assert (await hub.get("/console/partners")).status_code == 303


async def _pending_rows(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as s:
        return len((await s.scalars(select(ConsoleOidcPendingRecord.state_hash))).all())


async def test_a_sign_in_started_on_one_instance_finishes_on_another_and_only_once(
    settings: Settings, provider: Provider, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """Two app instances sharing the store, as two workers or two nodes behind a balancer: the
    provider's redirect reaches the one that did not start the sign-in; a replay is refused on either."""
    provider.unit = "admins"
    provider.nonce_override = None
    configured = oidc_settings(settings, provider)
    first = create_app(configured, engine=engine, sessions=sessions)
    second = create_app(configured, engine=engine, sessions=sessions)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://hub.test") as one,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://hub.test") as two,
    ):
        before = await _pending_rows(sessions)
        page = await one.get("/console/signin")
        started = await one.post(
            "/console/signin/oidc",
            data={"csrf": csrf_of(page.text), "issuer": provider.issuer, "next": "/console/keys"},
        )
        assert started.status_code == 303
        assert await _pending_rows(sessions) == before + 1
        cookie = one.cookies[OIDC_COOKIE]
        async with httpx.AsyncClient() as browser:
            at_provider = await browser.get(started.headers["location"])
        assert at_provider.status_code == 302
        back = urlsplit(at_provider.headers["location"])
        callback = f"{back.path}?{back.query}"
        # The browser's cookies go with it to whichever instance answers.
        two.cookies.set(OIDC_COOKIE, cookie)
        landed = await two.get(callback)
        assert landed.status_code == 200, landed.text
        assert 'http-equiv="refresh" content="0; url=/console/keys"' in landed.text
        assert await _pending_rows(sessions) == before
        assert (await two.get("/console/keys")).status_code == 200
        # The same redirect again, with the same cookie, on either instance: refused, no session.
        for instance in (two, one):
            replayer = httpx.AsyncClient(transport=instance._transport, base_url="http://hub.test")
            async with replayer:
                replayer.cookies.set(OIDC_COOKIE, cookie)
                replayed = await replayer.get(callback)
                assert replayed.status_code == 400
                assert "already used" in replayed.text
                assert (await replayer.get("/console/keys")).status_code == 303
        assert len(provider.token_requests) >= 1


async def test_an_expired_sign_in_under_way_is_refused_and_purged(
    hub: httpx.AsyncClient, provider: Provider, sessions: async_sessionmaker[AsyncSession]
) -> None:
    page = await hub.get("/console/signin")
    started = await hub.post(
        "/console/signin/oidc",
        data={"csrf": csrf_of(page.text), "issuer": provider.issuer, "next": "/console/"},
    )
    assert started.status_code == 303
    async with sessions() as s:
        await s.execute(
            update(ConsoleOidcPendingRecord).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await s.commit()
    async with httpx.AsyncClient() as browser:
        at_provider = await browser.get(started.headers["location"])
    back = urlsplit(at_provider.headers["location"])
    late = await hub.get(f"{back.path}?{back.query}")
    assert late.status_code == 400
    assert "took too long" in late.text
    # The next sign-in started deletes whatever expired.
    async with sessions() as s:
        await s.execute(
            update(ConsoleOidcPendingRecord).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await s.commit()
    page = await hub.get("/console/signin")
    await hub.post(
        "/console/signin/oidc",
        data={"csrf": csrf_of(page.text), "issuer": provider.issuer, "next": "/console/"},
    )
    assert await _pending_rows(sessions) == 1


def test_the_console_signs_in_only_through_configured_staff_issuers() -> None:
    with pytest.raises(ValidationError, match="HUB_ISSUERS does not configure"):
        Settings.model_validate({"console_oidc": [{"issuer": "https://idp.example", "client_id": "c"}]})
    with pytest.raises(ValidationError, match="scope must include openid"):
        ConsoleOidcClient(issuer="https://idp.example", client_id="c", scope="profile")
