"""The department's identity providers: staff tokens from a configured issuer become a unit's principal.

Each issuer is configured with its keys (a JWKS URL or a static JWKS), the ``aud`` the hub must
find in its tokens, the claim that carries the staff member's unit and how its values map to the
hub's department audiences, and the authentication strength it requires (``acr`` values, ``amr``
methods such as ``mfa``). Several issuers may be configured; a token is routed by its ``iss``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from auth import tokens
from auth.principal import Principal
from resolvers.models.partners import PARTNER_AUDIENCES, Audience

log = logging.getLogger("hub.auth.issuers")

MAX_JWKS_BYTES = 512 * 1024


class IssuerConfig(BaseModel):
    """One identity provider, as given in ``HUB_ISSUERS`` (a JSON list of these objects)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str = Field(min_length=1, description="The exact `iss` of its tokens")
    audience: str = Field(min_length=1, description="The `aud` its tokens must carry for the hub")
    jwks_url: str | None = Field(default=None, description="Where its public keys are published")
    jwks: dict[str, Any] | None = Field(default=None, description="Its public keys, given inline")
    unit_claim: str = Field(
        default="department_unit", description="Claim (dotted path) with the staff member's unit(s)"
    )
    unit_map: dict[str, Audience] = Field(description="Claim value -> department audience")
    required_acr: list[str] = Field(default_factory=list, description="`acr` must be one of these")
    required_amr: list[str] = Field(default_factory=list, description="`amr` must include all of these")
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    max_lifetime_s: int = Field(
        default=3600,
        ge=60,
        le=86_400,
        description="Longest token lifetime accepted (`exp` - `iat`, and `exp` - now), plus 30 s skew",
    )

    @model_validator(mode="after")
    def _consistent(self) -> IssuerConfig:
        if (self.jwks_url is None) == (self.jwks is None):
            raise ValueError(f"issuer {self.issuer}: give exactly one of jwks_url and jwks")
        if self.jwks_url is not None and not self.jwks_url.startswith(("https://", "http://")):
            raise ValueError(f"issuer {self.issuer}: jwks_url must be an http(s) URL")
        partner_units = [value for value, unit in self.unit_map.items() if unit in PARTNER_AUDIENCES]
        if partner_units:
            raise ValueError(
                f"issuer {self.issuer}: unit_map maps {partner_units} to partner audiences; "
                "staff map to department units only"
            )
        if not self.unit_map:
            raise ValueError(f"issuer {self.issuer}: unit_map is empty")
        unknown = [a for a in self.algorithms if a not in tokens.ASYMMETRIC_ALGORITHMS]
        if unknown:
            raise ValueError(f"issuer {self.issuer}: algorithms {unknown} are not accepted")
        return self


Fetch = Callable[[str], Awaitable[dict[str, Any]]]


async def fetch_jwks(url: str) -> dict[str, Any]:
    def _get() -> dict[str, Any]:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310 - scheme checked in IssuerConfig
        with urllib.request.urlopen(request, timeout=3) as response:  # noqa: S310
            body = response.read(MAX_JWKS_BYTES + 1)
        if len(body) > MAX_JWKS_BYTES:
            raise ValueError("JWKS document too large")
        document = json.loads(body)
        if not isinstance(document, dict):
            raise ValueError("JWKS document is not an object")
        return document

    return await asyncio.to_thread(_get)


class ExternalIssuer:
    """Verifies one issuer's tokens; its JWKS is cached ``cache_s`` seconds and fetched again at
    once (at most every ``refetch_s``) when a token names a key not in the cached set."""

    def __init__(
        self,
        config: IssuerConfig,
        *,
        cache_s: float = 300.0,
        refetch_s: float = 10.0,
        fetch: Fetch = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._cache_s = cache_s
        self._refetch_s = refetch_s
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, tokens.Key] = tokens.key_set(config.jwks) if config.jwks is not None else {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def _key(self, kid: str) -> tokens.Key | None:
        if self.config.jwks_url is not None:
            age = None if self._fetched_at is None else self._clock() - self._fetched_at
            if age is None or age >= self._cache_s or (kid not in self._keys and age >= self._refetch_s):
                await self._refresh(self.config.jwks_url)
        if kid in self._keys:
            return self._keys[kid]
        if not kid and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        return None

    async def _refresh(self, url: str) -> None:
        async with self._lock:
            try:
                self._keys = tokens.key_set(await self._fetch(url))
            except (OSError, ValueError) as exc:
                # Keep the keys we had: a provider's brief outage must not lock every staff member out.
                log.warning(
                    "cannot fetch an issuer's keys", extra={"issuer": self.config.issuer, "error": str(exc)}
                )
            self._fetched_at = self._clock()

    async def principal(self, token: str, *, now: float | None = None) -> Principal:
        peeked = tokens.peek(token)
        key = await self._key(peeked.kid)
        if key is None:
            raise tokens.TokenError("the token's signing key is not among its issuer's keys")
        claims = tokens.verify(
            token,
            key,
            tokens.key_algorithms(key, self.config.algorithms),
            now=now,
            required=("exp", "iat", "sub"),
            iss=self.config.issuer,
            aud=[self.config.audience],
            max_lifetime_s=self.config.max_lifetime_s,
        )
        self._check_strength(claims)
        return Principal(
            audience=self._unit(claims),
            subject=str(claims["sub"]),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            token_id=claims.get("jti") if isinstance(claims.get("jti"), str) else None,
        )

    def _check_strength(self, claims: dict[str, Any]) -> None:
        if self.config.required_acr and claims.get("acr") not in self.config.required_acr:
            raise tokens.TokenError("the sign-in was not strong enough (acr); sign in with multi-factor")
        amr = claims.get("amr")
        methods = set(amr) if isinstance(amr, list) else set()
        if not set(self.config.required_amr) <= methods:
            raise tokens.TokenError("the sign-in was not strong enough (amr); sign in with multi-factor")

    def _unit(self, claims: dict[str, Any]) -> Audience:
        value: Any = claims
        for part in self.config.unit_claim.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        units = {self.config.unit_map[v] for v in values if isinstance(v, str) and v in self.config.unit_map}
        if not units:
            raise tokens.TokenError(
                f"the token's {self.config.unit_claim!r} names no department unit the hub serves"
            )
        if len(units) > 1:
            raise tokens.TokenError(
                f"the token's {self.config.unit_claim!r} names several department units; the hub needs one"
            )
        return units.pop()
