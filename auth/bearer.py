"""``Authorization: Bearer …`` on ``/graphql``: a token of the hub's or of a configured identity
provider becomes a ``Principal``, or the request is refused with RFC 6750's ``WWW-Authenticate``.

A partner token is also checked against the store on every request, behind a cache of a few
seconds: a disabled, locked or suspended client, or a revoked token, stops working within that
time in every process, because every process reads the same rows.

A token's signature is verified once per process, not once per request: its verified claims are
kept (by a hash of the token) until it expires, and at most ``HUB_KEY_CACHE_S`` — the time in which
a retired signing key leaves every process's key cache anyway — so a key taken out of service stops
its tokens no later than it would without this cache. Revocation and client status are not cached
here (they are the short status cache above).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request

from auth import tokens
from auth.issuance import AUDIENCE_CLAIM, PARTNER_CLAIM, resource_of
from auth.issuers import ExternalIssuer
from auth.keys import KeyStore
from auth.principal import Principal, Unauthenticated
from resolvers.models.partners import Audience, Client, ClientStatus, Partner, RevokedToken


@dataclass
class AccessTokens:
    """Verifies the hub's own access tokens (signature, RFC 9068 type and claims)."""

    keys: KeyStore
    issuer: str
    #: The longest lifetime the hub grants (``HUB_TOKEN_TTL_S``): a token of the hub's that claims a
    #: longer one was not issued by this hub's rules and is refused.
    max_lifetime_s: int = 86_400
    clock: Callable[[], float] = time.time
    #: sha256(token) → (claims, when the entry stops counting): tokens already verified here.
    _verified: dict[bytes, tuple[dict[str, Any], float]] = field(default_factory=dict, repr=False)

    MAX_VERIFIED: ClassVar[int] = 50_000

    async def claims(self, token: str, *, now: float | None = None) -> dict[str, Any]:
        """The token's verified claims; a token seen before in this process skips the signature."""
        if now is not None:  # an explicit time (tests of expiry): always the full check
            return await self._verify(token, now)
        digest = hashlib.sha256(token.encode()).digest()
        at = self.clock()
        cached = self._verified.get(digest)
        if cached is not None and at < cached[1]:
            return cached[0]
        claims = await self._verify(token, at)
        until = min(float(claims["exp"]), at + self.keys.policy.cache_s)
        if len(self._verified) >= self.MAX_VERIFIED:
            self._verified.clear()
        self._verified[digest] = (claims, until)
        return claims

    async def _verify(self, token: str, now: float | None) -> dict[str, Any]:
        peeked = tokens.peek(token)
        found = await self.keys.verification_key(peeked.kid)
        if found is None:
            raise tokens.TokenError("the token's signing key is unknown or expired")
        key, alg = found
        claims = tokens.verify(
            token,
            key,
            [alg],
            typ=tokens.ACCESS_TOKEN_TYPE,
            now=now,
            required=("exp", "iat", "jti", "sub", "client_id", PARTNER_CLAIM, AUDIENCE_CLAIM),
            iss=self.issuer,
            aud=resource_of(self.issuer),
            max_lifetime_s=self.max_lifetime_s,
        )
        if not isinstance(claims[PARTNER_CLAIM], int) or claims[AUDIENCE_CLAIM] not in set(Audience):
            raise tokens.TokenError("the token is malformed")
        return claims


@dataclass(frozen=True, slots=True)
class ClientState:
    usable: bool
    partner_id: int | None
    audience: str | None
    reason: str
    #: What the endpoint enforces per client: read with the status, so a change reaches every
    #: process within the same cache time as a disabled client does.
    client_pk: int | None = None
    persisted_only: bool = False
    requests_per_minute: int | None = None
    cost_per_minute: int | None = None


class ClientStates:
    """Per-token answers to "may this token still be used?", read from the store and kept ``ttl_s``."""

    MAX_ENTRIES = 50_000

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self.ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, ClientState]] = {}

    def forget(self, jti: str) -> None:
        self._cache.pop(jti, None)

    async def state(self, client_id: str, jti: str) -> ClientState:
        now = self._clock()
        cached = self._cache.get(jti)
        if cached is not None and now - cached[0] < self.ttl_s:
            return cached[1]
        async with self._sessions() as session:
            revoked = exists().where(RevokedToken.jti == jti)
            row = (
                await session.execute(
                    select(
                        Client.status,
                        Partner.id,
                        Partner.audience,
                        Partner.active,
                        revoked,
                        Client.id,
                        Client.persisted_only,
                        Client.requests_per_minute,
                        Client.cost_per_minute,
                    )
                    .join(Partner, Partner.id == Client.partner_id)
                    .where(Client.client_id == client_id)
                )
            ).first()
        if row is None:
            state = ClientState(False, None, None, "the token's client no longer exists")
        elif row[4]:
            state = ClientState(False, row[1], row[2], "the token has been revoked")
        elif row[0] != ClientStatus.ACTIVE:
            state = ClientState(False, row[1], row[2], f"the token's client is {row[0]}")
        elif not row[3]:
            state = ClientState(False, row[1], row[2], "the partner's access is suspended")
        else:
            state = ClientState(
                True,
                row[1],
                row[2],
                "",
                client_pk=row[5],
                persisted_only=bool(row[6]),
                requests_per_minute=row[7],
                cost_per_minute=row[8],
            )
        if len(self._cache) >= self.MAX_ENTRIES:
            self._cache.clear()
        self._cache[jti] = (now, state)
        return state


@dataclass
class BearerAuthenticator:
    """The ``authenticate`` callable of the GraphQL endpoint."""

    access_tokens: AccessTokens
    states: ClientStates
    issuers: dict[str, ExternalIssuer]

    async def __call__(self, request: Request) -> Principal:
        token = bearer_token(request)
        try:
            peeked = tokens.peek(token)
            if peeked.issuer == self.access_tokens.issuer:
                return await self._partner(token)
            external = self.issuers.get(peeked.issuer or "")
            if external is None:
                raise tokens.TokenError("the token comes from an issuer the hub does not accept")
            return await external.principal(token)
        except tokens.TokenError as exc:
            raise Unauthenticated("invalid_token", exc.description) from None

    async def _partner(self, token: str) -> Principal:
        claims = await self.access_tokens.claims(token)
        state = await self.states.state(claims["client_id"], claims["jti"])
        if not state.usable:
            raise tokens.TokenError(state.reason)
        if state.partner_id != claims[PARTNER_CLAIM] or state.audience != claims[AUDIENCE_CLAIM]:
            raise tokens.TokenError("the token's partner no longer matches its client; request a new token")
        return Principal(
            audience=Audience(claims[AUDIENCE_CLAIM]),
            partner_id=claims[PARTNER_CLAIM],
            client_id=claims["client_id"],
            scopes=frozenset(str(claims.get("scope", "")).split()),
            token_id=claims["jti"],
            client_pk=state.client_pk,
            persisted_only=state.persisted_only,
            requests_per_minute=state.requests_per_minute,
            cost_per_minute=state.cost_per_minute,
        )


def bearer_token(request: Request) -> str:
    """The one bearer token of the request (RFC 6750 section 2.1)."""
    headers = request.headers.getlist("authorization")
    if not headers:
        raise Unauthenticated("", "a bearer token is required: Authorization: Bearer <access token>")
    if len(headers) > 1:
        raise Unauthenticated("invalid_request", "send exactly one Authorization header")
    scheme, _, token = headers[0].strip().partition(" ")
    if scheme.lower() != "bearer":
        # RFC 6750 section 3.1: a request without bearer credentials (Basic, say) gets the bare
        # challenge, 401 and no error code, like one without an Authorization header.
        raise Unauthenticated("", "use the Bearer scheme: Authorization: Bearer <access token>")
    token = token.strip()
    if not token:
        raise Unauthenticated("invalid_request", "the Authorization header carries no token")
    return token
