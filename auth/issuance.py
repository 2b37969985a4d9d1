"""Issuing access tokens: RFC 9068 JWTs that name the client, its partner and the partner's audience."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from auth import tokens
from auth.audit import record_event
from auth.keys import KeyStore
from resolvers.models.partners import Client, Partner

#: Private claims the hub adds to the RFC 9068 set.
PARTNER_CLAIM = "partner_id"
AUDIENCE_CLAIM = "hub_audience"


def resource_of(issuer: str) -> str:
    """The ``aud`` of the hub's own tokens: its GraphQL endpoint."""
    return f"{issuer.rstrip('/')}/graphql"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    token_id: str
    expires_in: int
    scope: str


@dataclass
class TokenIssuer:
    keys: KeyStore
    issuer: str
    ttl: timedelta

    @property
    def resource(self) -> str:
        return resource_of(self.issuer)

    async def issue(
        self,
        session: AsyncSession,
        client: Client,
        partner: Partner,
        scopes: list[str],
        *,
        now: int,
        request_id: str | None = None,
        signer: tokens.SignerKey | None = None,
    ) -> IssuedToken:
        """Sign a token for ``client`` and record the issuance in ``session`` (the caller commits).

        ``signer``: the key, read before ``session`` took the store's write lock (reading it may need
        a connection of its own, which must not be waited for while holding the lock)."""
        signer = signer or await self.keys.signer()
        jti = tokens.new_token_id()
        lifetime = int(self.ttl.total_seconds())
        scope = " ".join(scopes)
        claims = {
            "iss": self.issuer,
            "aud": self.resource,
            "sub": client.client_id,
            "client_id": client.client_id,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": jti,
            "scope": scope,
            PARTNER_CLAIM: partner.id,
            AUDIENCE_CLAIM: partner.audience,
        }
        token = tokens.sign(claims, signer)
        await record_event(
            session,
            kind="token.issued",
            request_id=request_id,
            partner_id=partner.id,
            client_id=client.client_id,
            audience=partner.audience,
            detail={"jti": jti, "kid": signer.kid, "scope": scope, "expires_in": lifetime},
        )
        return IssuedToken(access_token=token, token_id=jti, expires_in=lifetime, scope=scope)
