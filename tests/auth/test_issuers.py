"""Department staff through the department's identity provider: a local issuer that signs with its
own key, configured with a static JWKS or a JWKS URL served on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from joserfc import jwk
from pydantic import ValidationError

from auth import tokens
from auth.issuers import IssuerConfig
from resolvers.models.partners import Audience
from tests.auth.conftest import AppWith, graphql

IDP = "https://login.department.test/realms/staff"
UNITS = {"cs": Audience.CONSTITUENT_SERVICES, "vs": Audience.VICTIM_SERVICES, "admins": Audience.ADMIN}


class LocalIdentityProvider:
    def __init__(self) -> None:
        self.key = jwk.RSAKey.generate_key(2048, parameters={"kid": "idp-1", "alg": "RS256"})

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.key.as_dict(private=False)]}

    def token(self, **changes: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": IDP,
            "aud": ["account", "partner-data-hub"],
            "sub": "staff-4711",
            "iat": now,
            "exp": now + 300,
            "jti": tokens.new_token_id(),
            "acr": "mfa",
            "amr": ["pwd", "otp", "mfa"],
            "department_unit": "cs",
        }
        claims.update(changes)
        return tokens.sign_with(
            {k: v for k, v in claims.items() if v is not None}, self.key, "RS256", kid="idp-1"
        )


@pytest.fixture
def idp() -> LocalIdentityProvider:
    return LocalIdentityProvider()


def config(idp: LocalIdentityProvider, **changes: Any) -> IssuerConfig:
    values: dict[str, Any] = {
        "issuer": IDP,
        "audience": "partner-data-hub",
        "jwks": idp.jwks(),
        "unit_map": UNITS,
        "required_acr": ["mfa"],
        "required_amr": ["mfa"],
    }
    values.update(changes)
    return IssuerConfig(**{k: v for k, v in values.items() if v is not None})


async def test_staff_token_maps_to_the_unit(app_with: AppWith, idp: LocalIdentityProvider) -> None:
    async with app_with(issuers=[config(idp)]) as (_app, http):
        response = await graphql(http, idp.token(), "{ __typename }")
        assert response.status_code == 200, response.text
        admin = await graphql(http, idp.token(department_unit=["admins", "unmapped-group"]), "{ __typename }")
        assert admin.status_code == 200, admin.text


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amr": ["pwd"]}, "not strong enough (amr)"),
        ({"acr": "password"}, "not strong enough (acr)"),
        ({"aud": "someone-else"}, "another audience"),
        ({"department_unit": "catering"}, "names no department unit"),
        ({"department_unit": None}, "names no department unit"),
        ({"department_unit": ["cs", "vs"]}, "several department units"),
        ({"exp": int(time.time()) - 600}, "expired"),
        ({"sub": None}, "'sub'"),
        # Longer than the issuer's max_lifetime_s (default 3600 s).
        ({"exp": int(time.time()) + 10**9}, "lifetime is longer than the 3600 s"),
    ],
)
async def test_staff_tokens_refused(
    app_with: AppWith, idp: LocalIdentityProvider, changes: dict[str, Any], message: str
) -> None:
    async with app_with(issuers=[config(idp)]) as (_app, http):
        response = await graphql(http, idp.token(**changes), "{ __typename }")
        assert response.status_code == 401, response.text
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
        assert message in response.json()["errors"][0]["message"]


async def test_a_token_issued_long_before_its_expiry_is_refused(
    app_with: AppWith, idp: LocalIdentityProvider
) -> None:
    now = int(time.time())
    async with app_with(issuers=[config(idp)]) as (_app, http):
        response = await graphql(http, idp.token(iat=now - 7200, exp=now + 300), "{ __typename }")
        assert response.status_code == 401, response.text
        assert "lifetime is longer" in response.json()["errors"][0]["message"]


async def test_max_lifetime_is_configured_per_issuer(app_with: AppWith, idp: LocalIdentityProvider) -> None:
    day = int(time.time()) + 86_000
    async with app_with(issuers=[config(idp, max_lifetime_s=86_400)]) as (_app, http):
        assert (await graphql(http, idp.token(exp=day), "{ __typename }")).status_code == 200
    async with app_with(issuers=[config(idp, max_lifetime_s=120)]) as (_app, http):
        assert (await graphql(http, idp.token(), "{ __typename }")).status_code == 401
    with pytest.raises(ValidationError, match="max_lifetime_s"):
        config(idp, max_lifetime_s=10**9)


async def test_unconfigured_issuer_and_foreign_key(app_with: AppWith, idp: LocalIdentityProvider) -> None:
    impostor = LocalIdentityProvider()  # same kid, its own key
    async with app_with(issuers=[config(idp)]) as (_app, http):
        forged = await graphql(http, impostor.token(), "{ __typename }")
        assert "signature" in forged.json()["errors"][0]["message"]
    async with app_with(issuers=[]) as (_app, http):
        unconfigured = await graphql(http, idp.token(), "{ __typename }")
        assert "issuer the hub does not accept" in unconfigured.json()["errors"][0]["message"]


@pytest.fixture
def jwks_server(idp: LocalIdentityProvider) -> Iterator[tuple[str, list[int]]]:
    hits: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(1)
            body = json.dumps(idp.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/jwks", hits
    finally:
        server.shutdown()
        server.server_close()


async def test_jwks_url_is_fetched_once_and_cached(
    app_with: AppWith, idp: LocalIdentityProvider, jwks_server: tuple[str, list[int]]
) -> None:
    url, hits = jwks_server
    async with app_with(issuers=[config(idp, jwks=None, jwks_url=url)]) as (_app, http):
        for _ in range(3):
            response = await graphql(http, idp.token(), "{ __typename }")
            assert response.status_code == 200, response.text
    assert len(hits) == 1


def test_configuration_errors_are_named() -> None:
    idp = LocalIdentityProvider()
    with pytest.raises(ValidationError, match="partner audiences"):
        config(idp, unit_map={"x": Audience.REENTRY})
    with pytest.raises(ValidationError, match="exactly one of jwks_url and jwks"):
        config(idp, jwks_url="https://idp.test/jwks")
    with pytest.raises(ValidationError, match="not accepted"):
        config(idp, algorithms=["HS256"])


def test_issuers_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from hub.settings import Settings

    idp = LocalIdentityProvider()
    entry = {"issuer": IDP, "audience": "hub", "jwks": idp.jwks(), "unit_map": {"cs": "constituent_services"}}
    monkeypatch.setenv("HUB_ISSUERS", json.dumps([entry]))
    settings = Settings()
    assert settings.issuers[0].unit_map == {"cs": Audience.CONSTITUENT_SERVICES}
    monkeypatch.setenv("HUB_ISSUERS", json.dumps([entry, entry]))
    with pytest.raises(ValidationError, match="same issuer twice"):
        Settings()
