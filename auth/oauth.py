"""The authorization server's HTTP endpoints.

- ``POST /oauth/token``: the client credentials grant (RFC 6749 section 4.4);
- ``POST /oauth/revoke``: revocation of a client's own access tokens (RFC 7009);
- ``GET /.well-known/jwks.json``: the public signing keys;
- ``GET /.well-known/oauth-authorization-server``: server metadata (RFC 8414).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth import tokens
from auth.audit import record_event
from auth.bearer import AccessTokens, ClientStates
from auth.client_auth import AUTH_METHODS, ClientAuthenticator, OAuthError, read_credentials
from auth.clients import DEFAULT_SCOPES
from auth.issuance import TokenIssuer
from auth.keys import KeyStore
from auth.refusals import NO_STORE
from auth.throttle import source_address
from resolvers.models.partners import Client, RevokedToken

GRANT_TYPE = "client_credentials"
FORM = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 64 * 1024


def endpoint_urls(issuer: str) -> dict[str, str]:
    base = issuer.rstrip("/")
    return {
        "token": f"{base}/oauth/token",
        "revoke": f"{base}/oauth/revoke",
        "jwks": f"{base}/.well-known/jwks.json",
    }


async def read_form(request: Request) -> dict[str, str]:
    """The form parameters, once each (RFC 6749 section 3.2); empty values count as absent."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM:
        raise OAuthError("invalid_request", f"send the parameters as {FORM}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise OAuthError("invalid_request", f"the request body is over {MAX_FORM_BYTES} bytes", 413)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body))
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the request body is not a valid form") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise OAuthError("invalid_request", f"parameter {name!r} is repeated")
        if value:
            form[name] = value
    return form


@dataclass
class OAuthEndpoints:
    sessions: async_sessionmaker[AsyncSession]
    clients: ClientAuthenticator
    issuer: TokenIssuer
    keys: KeyStore
    access_tokens: AccessTokens
    states: ClientStates
    max_assertion_chars: int

    async def token(self, request: Request) -> Response:
        """Refusals (``OAuthError``, ``Throttled``) and store outages are answered by the app's
        exception handlers (hub/http_errors.py)."""
        request_id: str | None = getattr(request.state, "request_id", None)
        form = await read_form(request)
        grant = form.get("grant_type")
        if grant is None:
            raise OAuthError("invalid_request", "grant_type is required")
        if grant != GRANT_TYPE:
            raise OAuthError("unsupported_grant_type", f"the hub grants only {GRANT_TYPE}")
        credentials = read_credentials(request.headers, form, self.max_assertion_chars)
        # Read before the session below holds the store's write lock (it may need a connection).
        signer = await self.keys.signer()
        async with self.sessions() as session:
            client, partner = await self.clients.authenticate(
                session, credentials, source_address(request), request_id
            )
            scopes = granted_scopes(client, form.get("scope"))
            issued = await self.issuer.issue(
                session,
                client,
                partner,
                scopes,
                now=int(time.time()),
                request_id=request_id,
                signer=signer,
            )
            await session.commit()
        body: dict[str, Any] = {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
        }
        if issued.scope:
            body["scope"] = issued.scope
        return JSONResponse(body, headers=NO_STORE)

    async def revoke(self, request: Request) -> Response:
        request_id: str | None = getattr(request.state, "request_id", None)
        form = await read_form(request)
        token = form.get("token")
        if token is None:
            raise OAuthError("invalid_request", "token is required")
        credentials = read_credentials(request.headers, form, self.max_assertion_chars)
        # Verified before the session below holds the store's write lock (it may read keys).
        claims = await self._claims(token)
        async with self.sessions() as session:
            client, _partner = await self.clients.authenticate(
                session, credentials, source_address(request), request_id
            )
            if claims is not None:
                await self._revoke(session, client, claims, request_id)
            await session.commit()
        return Response(status_code=200, headers=NO_STORE)

    async def _claims(self, token: str) -> dict[str, Any] | None:
        try:
            return await self.access_tokens.claims(token)
        except tokens.TokenError:
            # RFC 7009 section 2.2: an invalid, expired or foreign token is no error; nothing to revoke.
            return None

    async def _revoke(
        self, session: AsyncSession, client: Client, claims: dict[str, Any], request_id: str | None
    ) -> None:
        if claims["client_id"] != client.client_id:
            raise OAuthError("unauthorized_client", "the token was not issued to this client")
        jti: str = claims["jti"]
        if await session.scalar(select(RevokedToken.jti).where(RevokedToken.jti == jti)) is None:
            session.add(RevokedToken(jti=jti, client_pk=client.id, expires_at=_utc(int(claims["exp"]))))
            await record_event(
                session,
                kind="token.revoked",
                request_id=request_id,
                partner_id=client.partner_id,
                client_id=client.client_id,
                detail={"jti": jti},
            )
        self.states.forget(jti)

    async def jwks(self, request: Request) -> Response:
        return JSONResponse(await self.keys.published(), headers={"Cache-Control": "public, max-age=60"})

    async def metadata(self, request: Request) -> Response:
        urls = endpoint_urls(self.issuer.issuer)
        return JSONResponse(
            {
                "issuer": self.issuer.issuer,
                "token_endpoint": urls["token"],
                "jwks_uri": urls["jwks"],
                "revocation_endpoint": urls["revoke"],
                "grant_types_supported": [GRANT_TYPE],
                "response_types_supported": [],
                "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
                "token_endpoint_auth_signing_alg_values_supported": list(tokens.ASYMMETRIC_ALGORITHMS),
                "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
                "revocation_endpoint_auth_signing_alg_values_supported": list(tokens.ASYMMETRIC_ALGORITHMS),
                "scopes_supported": DEFAULT_SCOPES.split(),
                "service_documentation": f"{self.issuer.issuer.rstrip('/')}/graphql",
            },
            headers={"Cache-Control": "public, max-age=300"},
        )


def granted_scopes(client: Client, requested: str | None) -> list[str]:
    allowed = client.scopes.split()
    if requested is None:
        return allowed
    wanted = sorted(set(requested.split()))
    refused = [scope for scope in wanted if scope not in allowed]
    if refused:
        raise OAuthError("invalid_scope", f"the client may not request {' '.join(refused)}")
    return wanted


def _utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
