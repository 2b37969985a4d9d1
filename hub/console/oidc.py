"""Staff sign-in through the department's identity provider: OpenID Connect authorization code with
PKCE (RFC 7636, S256), built on authlib's OAuth 2.0 parameters.

Each ``HUB_CONSOLE_OIDC`` entry names an issuer of ``HUB_ISSUERS``: the provider's metadata comes from
its discovery document, and the unit → audience mapping, the accepted algorithms, the required
authentication strength and the token lifetime are that issuer's, exactly as for a staff token sent
to the API. The console signs the person in with the provider's **access token** (the one the API
accepts from that issuer) once

- the ``state`` names a pending sign-in in the store (``console_oidc_pending``, so any worker or
  node may receive the provider's redirect), which the browser's short-lived SameSite=Lax cookie
  opens (the provider's redirect back is a cross-site navigation, which a Strict cookie misses),
- the code exchange succeeded with the PKCE verifier,
- the ID token is signed by the issuer's key, is for the console's client id and carries the nonce,
- the access token passes the hub's own staff-token check (``ExternalIssuer.principal``) for the
  same subject.

A pending sign-in's row is keyed by the SHA-256 of its ``state`` and holds the PKCE verifier, the
nonce and the page to go on to sealed with AES-GCM under a key derived (HKDF-SHA256) from the id in
the browser's cookie, as console sessions seal their token: a copy of the store yields no verifier.
The callback deletes the row before using it and goes on only if its own delete removed it, so a
replayed redirect (to the same worker or another) is refused; rows expire after ``PENDING_S`` and
expired ones are deleted as new sign-ins start.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth import tokens
from auth.issuers import ExternalIssuer
from hub.console.pages import PENDING_S, Refused
from hub.settings import ConsoleOidcClient
from resolvers.models.partners import Audience, ConsoleOidcPendingRecord

MAX_PENDING = 10_000
#: How long a provider's discovery document and keys are kept.
METADATA_S = 300
METADATA_FIELDS = ("authorization_endpoint", "token_endpoint", "jwks_uri")
_HKDF_INFO = b"hub console oidc sign-in"
NOT_STARTED = (
    "This sign-in was not started here, was already used or took too long; start again from the sign-in page."
)


def state_hash(state: str) -> str:
    """The store's key of a pending sign-in: the SHA-256 of its ``state``, in hex."""
    return hashlib.sha256(state.encode()).hexdigest()


def _key(pending_id: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(pending_id.encode())


def seal(pending_id: str, key: str, secret: dict[str, str]) -> bytes:
    """``nonce || AES-GCM(secret)`` under the cookie id's key, bound to the row's key."""
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(_key(pending_id)).encrypt(nonce, orjson.dumps(secret), key.encode())


def unseal(pending_id: str, key: str, sealed: bytes) -> dict[str, str]:
    """The sealed values; raises ``InvalidTag`` for another browser's cookie."""
    value = orjson.loads(AESGCM(_key(pending_id)).decrypt(sealed[:12], sealed[12:], key.encode()))
    assert isinstance(value, dict)
    return {str(k): str(v) for k, v in value.items()}


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True)
class Pending:
    issuer: str
    state: str
    nonce: str
    verifier: str
    next_path: str
    started: float


@dataclass(frozen=True)
class StaffSignIn:
    audience: Audience
    who: str
    token: str
    expires_in: float


def default_http() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=5.0, follow_redirects=False)


class OidcSignIn:
    """Starts and finishes sign-ins at the configured providers."""

    def __init__(
        self,
        clients: list[ConsoleOidcClient],
        verifiers: Mapping[str, ExternalIssuer],
        redirect_uri: str,
        *,
        db: async_sessionmaker[AsyncSession],
        http: Callable[[], httpx.AsyncClient] = default_http,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clients = {client.issuer: client for client in clients}
        self._verifiers = verifiers
        self.redirect_uri = redirect_uri
        self._db = db
        self._http = http
        self._clock = clock
        self._metadata: dict[str, tuple[float, dict[str, Any]]] = {}

    def labels(self) -> list[tuple[str, str]]:
        return [(c.issuer, c.label or c.issuer) for c in self.clients.values()]

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            async with self._http() as http:
                response = await http.get(url, headers={"Accept": "application/json"})
            body = response.json()
        except (httpx.HTTPError, ValueError):
            raise Refused(502, f"The identity provider's {what} cannot be read; try again later.") from None
        if response.status_code != 200 or not isinstance(body, dict):
            raise Refused(502, f"The identity provider's {what} answered {response.status_code}.")
        return body

    async def metadata(self, issuer: str) -> dict[str, Any]:
        cached = self._metadata.get(issuer)
        if cached is not None and self._clock() - cached[0] < METADATA_S:
            return cached[1]
        document = await self._get_json(
            f"{issuer.rstrip('/')}/.well-known/openid-configuration", "discovery document"
        )
        if document.get("issuer") != issuer or not all(
            isinstance(document.get(f), str) for f in METADATA_FIELDS
        ):
            raise Refused(502, "The identity provider's discovery document does not describe this issuer.")
        self._metadata[issuer] = (self._clock(), document)
        return document

    async def start(self, issuer: str, next_path: str) -> tuple[str, str]:
        """(pending sign-in id, the provider's authorization URL to send the browser to)."""
        client = self.clients.get(issuer)
        if client is None:
            raise Refused(400, "Choose one of the identity providers listed on the sign-in page.")
        metadata = await self.metadata(issuer)
        now = self._clock()
        pending = Pending(
            issuer=issuer,
            state=generate_token(32),
            nonce=generate_token(32),
            verifier=generate_token(64),
            next_path=next_path,
            started=now,
        )
        pending_id = secrets.token_urlsafe(32)
        key = state_hash(pending.state)
        sealed = seal(
            pending_id, key, {"verifier": pending.verifier, "nonce": pending.nonce, "next": next_path}
        )
        async with self._db() as db:
            await db.execute(
                delete(ConsoleOidcPendingRecord).where(ConsoleOidcPendingRecord.expires_at <= _at(now))
            )
            under_way = await db.scalar(select(func.count()).select_from(ConsoleOidcPendingRecord)) or 0
            if under_way >= MAX_PENDING:
                await db.commit()
                raise Refused(503, "Too many sign-ins are under way; try again in a few minutes.")
            db.add(
                ConsoleOidcPendingRecord(
                    state_hash=key,
                    issuer=issuer,
                    sealed=sealed,
                    created_at=_at(now),
                    expires_at=_at(now + PENDING_S),
                )
            )
            await db.commit()
        url = prepare_grant_uri(
            metadata["authorization_endpoint"],
            client.client_id,
            "code",
            redirect_uri=self.redirect_uri,
            scope=client.scope,
            state=pending.state,
            nonce=pending.nonce,
            code_challenge=create_s256_code_challenge(pending.verifier),
            code_challenge_method="S256",
        )
        return pending_id, str(url)

    async def take(self, pending_id: str | None, params: Mapping[str, str]) -> Pending:
        """The pending sign-in the redirect's ``state`` names, opened with the browser's cookie id, and
        deleted from the store: whichever request deletes it goes on, any other (a replay) is refused."""
        state = params.get("state")
        if not state and params.get("error"):
            described = params.get("error_description") or params["error"]
            raise Refused(403, f"The identity provider did not sign you in: {described[:200]}")
        if not pending_id or not state:
            raise Refused(400, NOT_STARTED)
        key = state_hash(state)
        async with self._db() as db:
            row = await db.get(ConsoleOidcPendingRecord, key)
            if row is None:
                raise Refused(400, NOT_STARTED)
            taken = await db.execute(
                delete(ConsoleOidcPendingRecord).where(ConsoleOidcPendingRecord.state_hash == key)
            )
            await db.commit()
        if getattr(taken, "rowcount", 0) != 1 or self._clock() >= row.expires_at.timestamp():
            raise Refused(400, NOT_STARTED)
        try:
            secret = unseal(pending_id, key, row.sealed)
        except InvalidTag:
            raise Refused(
                400, "This sign-in was started in another browser; start again from the sign-in page."
            ) from None
        return Pending(
            issuer=row.issuer,
            state=state,
            nonce=secret["nonce"],
            verifier=secret["verifier"],
            next_path=secret["next"],
            started=row.created_at.timestamp(),
        )

    async def finish(self, pending: Pending, params: Mapping[str, str]) -> StaffSignIn:
        if params.get("error"):
            described = params.get("error_description") or params["error"]
            raise Refused(403, f"The identity provider did not sign you in: {described[:200]}")
        if not secrets.compare_digest(params.get("state", ""), pending.state):
            raise Refused(400, "The sign-in's state does not match; start again from the sign-in page.")
        code = params.get("code")
        if not code:
            raise Refused(400, "The identity provider sent no authorization code; start again.")
        client = self.clients[pending.issuer]
        metadata = await self.metadata(pending.issuer)
        answer = await self._exchange(client, metadata["token_endpoint"], code, pending.verifier)
        id_claims = await self._id_token(client, metadata, answer.get("id_token"), pending.nonce)
        access_token = answer.get("access_token")
        if not isinstance(access_token, str):
            raise Refused(502, "The identity provider issued no access token.")
        verifier = self._verifiers.get(pending.issuer)
        if verifier is None:
            raise Refused(500, "The hub no longer accepts this identity provider's tokens (HUB_ISSUERS).")
        try:
            principal = await verifier.principal(access_token)
            expires_at = float(tokens.peek(access_token).claims["exp"])
        except tokens.TokenError as exc:
            raise Refused(
                403, f"The identity provider's token is not accepted by the hub: {exc.description}"
            ) from None
        if principal.subject != str(id_claims["sub"]):
            raise Refused(403, "The identity provider's tokens name two different people.")
        who = next(
            (
                str(id_claims[c])
                for c in ("preferred_username", "email", "name")
                if isinstance(id_claims.get(c), str)
            ),
            principal.subject or "staff",
        )
        return StaffSignIn(
            audience=principal.audience,
            who=who,
            token=access_token,
            expires_in=max(0.0, expires_at - self._clock()),
        )

    async def _exchange(
        self, client: ConsoleOidcClient, endpoint: str, code: str, verifier: str
    ) -> dict[str, Any]:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
            "client_id": client.client_id,
        }
        headers = {"Accept": "application/json"}
        try:
            async with self._http() as http:
                if client.client_secret is None:  # a public client: its id in the form, PKCE alone
                    response = await http.post(endpoint, data=form, headers=headers)
                else:  # client_secret_basic (RFC 6749 section 2.3.1)
                    secret = client.client_secret.get_secret_value()
                    response = await http.post(
                        endpoint, data=form, headers=headers, auth=httpx.BasicAuth(client.client_id, secret)
                    )
            body = response.json()
        except (httpx.HTTPError, ValueError):
            raise Refused(
                502, "The identity provider's token endpoint cannot be reached; try again."
            ) from None
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
            raise Refused(
                403, f"The identity provider refused the code: {str(error or response.status_code)[:200]}"
            )
        return body

    async def _id_token(
        self, client: ConsoleOidcClient, metadata: dict[str, Any], id_token: Any, nonce: str
    ) -> dict[str, Any]:
        if not isinstance(id_token, str):
            raise Refused(502, "The identity provider issued no ID token (is `openid` among the scopes?).")
        keys = tokens.key_set(await self._get_json(metadata["jwks_uri"], "keys"))
        try:
            peeked = tokens.peek(id_token)
            key = keys.get(peeked.kid) or (next(iter(keys.values())) if len(keys) == 1 else None)
            if key is None:
                raise tokens.TokenError("the ID token's signing key is not among the provider's keys")
            claims = tokens.verify(
                id_token,
                key,
                tokens.key_algorithms(key, tokens.ASYMMETRIC_ALGORITHMS),
                required=("exp", "iat", "sub"),
                iss=client.issuer,
                aud=[client.client_id],
            )
        except tokens.TokenError as exc:
            raise Refused(403, f"The identity provider's ID token is not valid: {exc.description}") from None
        if not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise Refused(403, "The ID token is not for this sign-in (nonce); start again.")
        return claims
