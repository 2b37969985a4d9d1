"""Staff sign-in through the department's identity provider: OpenID Connect authorization code with
PKCE (RFC 7636, S256), built on authlib's OAuth 2.0 parameters.

Each ``HUB_CONSOLE_OIDC`` entry names an issuer of ``HUB_ISSUERS``: the provider's metadata comes from
its discovery document, and the unit → audience mapping, the accepted algorithms, the required
authentication strength and the token lifetime are that issuer's, exactly as for a staff token sent
to the API. The console signs the person in with the provider's **access token** (the one the API
accepts from that issuer) once

- the ``state`` matches the pending sign-in (kept server-side, named by a short-lived SameSite=Lax
  cookie: the provider's redirect back is a cross-site navigation, which a Strict cookie misses),
- the code exchange succeeded with the PKCE verifier,
- the ID token is signed by the issuer's key, is for the console's client id and carries the nonce,
- the access token passes the hub's own staff-token check (``ExternalIssuer.principal``) for the
  same subject.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from auth import tokens
from auth.issuers import ExternalIssuer
from hub.console.pages import PENDING_S, Refused
from hub.settings import ConsoleOidcClient
from resolvers.models.partners import Audience

MAX_PENDING = 10_000
#: How long a provider's discovery document and keys are kept.
METADATA_S = 300
METADATA_FIELDS = ("authorization_endpoint", "token_endpoint", "jwks_uri")


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
        http: Callable[[], httpx.AsyncClient] = default_http,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clients = {client.issuer: client for client in clients}
        self._verifiers = verifiers
        self.redirect_uri = redirect_uri
        self._http = http
        self._clock = clock
        self._pending: dict[str, Pending] = {}
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
        if len(self._pending) >= MAX_PENDING:
            for key in [k for k, p in self._pending.items() if now - p.started >= PENDING_S]:
                del self._pending[key]
        if len(self._pending) >= MAX_PENDING:
            raise Refused(503, "Too many sign-ins are under way; try again in a few minutes.")
        pending = Pending(
            issuer=issuer,
            state=generate_token(32),
            nonce=generate_token(32),
            verifier=generate_token(64),
            next_path=next_path,
            started=now,
        )
        pending_id = secrets.token_urlsafe(32)
        self._pending[pending_id] = pending
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

    def take(self, pending_id: str | None) -> Pending:
        pending = self._pending.pop(pending_id, None) if pending_id else None
        if pending is None or self._clock() - pending.started >= PENDING_S:
            raise Refused(
                400, "This sign-in was not started here or took too long; start again from the sign-in page."
            )
        return pending

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
