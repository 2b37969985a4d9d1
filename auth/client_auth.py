"""Client authentication at the token and revocation endpoints (RFC 6749 section 2.3, RFC 7523).

Three methods: HTTP Basic (``client_secret_basic``), form fields (``client_secret_post``) and a
JWT signed with the client's registered key (``private_key_jwt``). A request uses exactly one.
Whether a client id exists never changes the answer: an unknown id is checked against a dummy
HMAC (or a dummy key), and a secret failure says only that authentication failed. (Client ids are
not secrets, they are in every token; a legacy argon2id hash, kept until its client's next success,
does take longer to check.)

Failures are throttled per source address (``auth.throttle``), checked before any work that costs
anything; the client itself is never locked. The work is done in three steps so that concurrent
requests on SQLite never fail with "database is locked": read (throttle counts, the client), commit;
verify the credentials outside any transaction; then write, taking the write lock first.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote_plus

from joserfc import jwk
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import Headers

from auth import tokens
from auth.audit import record_event
from auth.clients import SecretCheck, peppers, rehash, secret_matches
from auth.refusals import NO_STORE, Form, Refusal
from auth.throttle import Throttle, begin_write
from resolvers.models.partners import Client, ClientStatus, Partner, RevokedToken

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
#: A client assertion may live at most this long (RFC 7523 lets the server bound it); its jti is
#: remembered until it expires, so one assertion buys one token.
MAX_ASSERTION_LIFETIME_S = 600
MAX_CLIENT_ID_CHARS = 64


class OAuthError(Refusal):
    """An error response of RFC 6749 section 5.2 (and RFC 7009 for revocation)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        # A failed client authentication is 401 with a challenge for the Basic scheme.
        status = 401 if error == "invalid_client" else status
        headers = dict(NO_STORE)
        if status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="hub"'
        super().__init__(status, error, description, headers, form=Form.OAUTH)
        self.error = error
        self.description = description


AUTHENTICATION_FAILED = "client authentication failed"


@dataclass(frozen=True, slots=True)
class Credentials:
    method: str
    client_id: str
    secret: str | None = None
    assertion: str | None = None


def read_credentials(headers: Headers, form: Mapping[str, str], max_assertion_chars: int) -> Credentials:
    """The one set of client credentials in the request, or the RFC's error for the way it is wrong."""
    found: list[Credentials] = []
    authorization = headers.getlist("authorization")
    if len(authorization) > 1:
        raise OAuthError("invalid_request", "send at most one Authorization header")
    if authorization:
        found.append(_basic(authorization[0]))
    if "client_secret" in form:
        if "client_id" not in form:
            raise OAuthError("invalid_request", "client_secret needs client_id beside it")
        found.append(Credentials("client_secret_post", form["client_id"], secret=form["client_secret"]))
    if "client_assertion" in form or "client_assertion_type" in form:
        found.append(_assertion(form, max_assertion_chars))
    if len(found) > 1:
        raise OAuthError("invalid_request", "use one client authentication method per request, not several")
    if not found:
        raise OAuthError(
            "invalid_client", "client authentication is required (HTTP Basic, form or private_key_jwt)"
        )
    credentials = found[0]
    if "client_id" in form and form["client_id"] != credentials.client_id:
        raise OAuthError("invalid_request", "client_id does not match the client that authenticated")
    if not credentials.client_id or len(credentials.client_id) > MAX_CLIENT_ID_CHARS:
        raise OAuthError("invalid_client", AUTHENTICATION_FAILED)
    return credentials


def _basic(header: str) -> Credentials:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise OAuthError(
            "invalid_client", "the Authorization header of the token endpoint uses the Basic scheme"
        )
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError(
            "invalid_client", "the Basic credentials are not base64 of client_id:client_secret"
        ) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise OAuthError("invalid_client", "the Basic credentials are not base64 of client_id:client_secret")
    # RFC 6749 section 2.3.1: both parts are form-urlencoded before they are joined.
    return Credentials("client_secret_basic", unquote_plus(client_id), secret=unquote_plus(secret))


def _assertion(form: Mapping[str, str], max_chars: int) -> Credentials:
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise OAuthError("invalid_client", f"client_assertion_type must be {ASSERTION_TYPE}")
    assertion = form.get("client_assertion", "")
    if len(assertion) > max_chars:
        raise OAuthError("invalid_client", f"the client assertion is over {max_chars} characters")
    try:
        peeked = tokens.peek(assertion)
    except tokens.TokenError as exc:
        raise OAuthError("invalid_client", f"client assertion: {exc.description}") from None
    subject = peeked.claims.get("sub")
    client_id = form.get("client_id") or (subject if isinstance(subject, str) else "")
    return Credentials("private_key_jwt", client_id, assertion=assertion)


@functools.cache
def _dummy_key() -> tokens.Key:
    return jwk.ECKey.generate_key("P-256", private=False)


@dataclass
class ClientAuthenticator:
    throttle: Throttle
    #: Values a client assertion's ``aud`` may take: the token endpoint's URL and the issuer.
    assertion_audiences: list[str]
    #: This app's ``HUB_SECRET_PEPPER`` (None: the store's own pepper): what new hashes are made with.
    pepper: bytes | None = None

    async def authenticate(
        self,
        session: AsyncSession,
        credentials: Credentials,
        address: str,
        request_id: str | None = None,
    ) -> tuple[Client, Partner]:
        """The client and its partner, with ``session`` in its write transaction for the caller to
        write in and commit; or ``OAuthError`` (failures committed before raising), or
        ``Throttled`` when this address must wait (nothing checked, nothing written)."""
        client_id = credentials.client_id[:MAX_CLIENT_ID_CHARS]
        # 1. Read: may this address try, and who is the client.
        seen = await self.throttle.check(session, address, client_id)
        row = (
            await session.execute(
                select(Client, Partner)
                .join(Partner, Partner.id == Client.partner_id)
                .where(Client.client_id == credentials.client_id)
            )
        ).first()
        client, partner = (row[0], row[1]) if row else (None, None)
        known = (
            await peppers(session, pepper=self.pepper) if credentials.method != "private_key_jwt" else None
        )
        await session.commit()
        # 2. Verify, with no transaction open.
        check = SecretCheck(ok=False)
        claims: dict[str, Any] | None = None
        if credentials.method == "private_key_jwt":
            failure, claims = self._check_assertion(client, credentials)
        else:
            assert known is not None
            check = await secret_matches(
                known, client.secret_hash if client else None, credentials.secret or ""
            )
            failure = (
                None if check.ok else (AUTHENTICATION_FAILED, "wrong secret" if client else "unknown client")
            )
        # 3. Write, the write lock first.
        await begin_write(session)
        if failure is None and claims is not None:
            assert client is not None
            failure = await self._spend_assertion(session, client, claims)
        if failure is not None:
            described, reason = failure
            await self.throttle.failed(
                session,
                seen,
                reason=f"{credentials.method}: {reason}",
                partner_id=client.partner_id if client else None,
                known_client=client is not None,
                request_id=request_id,
            )
            await session.commit()
            raise OAuthError("invalid_client", described)
        assert client is not None
        assert partner is not None
        await self.throttle.succeeded(session, seen)
        if check.rehash and client.secret_hash is not None and credentials.secret:
            await rehash(session, client.id, client.secret_hash, credentials.secret, pepper=self.pepper)
        # Only a caller holding the credentials learns why a known client is refused.
        refusal = None
        if client.status != ClientStatus.ACTIVE:
            refusal = "the client is disabled; ask the department to enable it"
        elif not partner.active:
            refusal = "the partner's access is suspended"
        if refusal is not None:
            await record_event(
                session,
                kind="auth.refused",
                outcome="denied",
                request_id=request_id,
                partner_id=partner.id,
                client_id=client.client_id,
                detail={"status": client.status, "partner_active": partner.active},
            )
            await session.commit()
            raise OAuthError("invalid_client", refusal)
        return client, partner

    def _check_assertion(
        self, client: Client | None, credentials: Credentials
    ) -> tuple[tuple[str, str] | None, dict[str, Any] | None]:
        assert credentials.assertion is not None
        registered = client.public_jwk if client else None
        key = tokens.public_key(registered) if registered else _dummy_key()
        now = int(time.time())
        try:
            claims = tokens.verify(
                credentials.assertion,
                key,
                tokens.key_algorithms(key, tokens.ASYMMETRIC_ALGORITHMS),
                now=now,
                required=("exp", "iss", "sub", "aud", "jti"),
                iss=credentials.client_id,
                sub=credentials.client_id,
                aud=self.assertion_audiences,
            )
        except tokens.TokenError as exc:
            if client is None or registered is None:
                failure = (
                    "client assertion: the token's signature does not verify",
                    "no key or unknown client",
                )
                return failure, None
            return (f"client assertion: {exc.description}", exc.description), None
        if claims["exp"] > now + MAX_ASSERTION_LIFETIME_S:
            failure = (
                f"client assertion: exp may be at most {MAX_ASSERTION_LIFETIME_S} s ahead",
                "exp too far",
            )
            return failure, None
        return None, claims

    async def _spend_assertion(
        self, session: AsyncSession, client: Client, claims: dict[str, Any]
    ) -> tuple[str, str] | None:
        # Replay: the assertion's jti is kept (hashed, so it cannot collide with an access token's
        # 32-hex-digit jti) among revoked tokens until it expires.
        marker = hashlib.sha256(f"assertion:{client.client_id}:{claims['jti']}".encode()).hexdigest()
        try:
            async with session.begin_nested():
                session.add(
                    RevokedToken(
                        jti=marker, client_pk=client.id, expires_at=datetime.fromtimestamp(claims["exp"], UTC)
                    )
                )
        except IntegrityError:
            return "client assertion: this assertion was already used", "replayed assertion"
        return None


def assertion_claims(client_id: str, audience: str, lifetime_s: int = 60, **extra: Any) -> dict[str, Any]:
    """The claims of a client assertion (RFC 7523 section 3): for partners' code and the tests."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime_s,
        "jti": tokens.new_token_id(),
    }
    claims.update(extra)
    return claims
