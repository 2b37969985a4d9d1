"""JSON Web Tokens and Keys: the one module that signs, verifies and parses them.

Built on joserfc, the JOSE library of the authlib project. Every verification names the
algorithms it accepts from the *key* (never from the token's header), so ``alg: none`` and
algorithm-confusion tokens are refused before any claim is read.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from joserfc import jwk, jws, jwt
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError, MissingClaimError

#: RFC 9068 section 2.1: the media type of a JWT access token.
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret
#: What the hub signs its own tokens with (RFC 9068 makes RS256 the one every verifier supports).
SIGNING_ALGORITHMS = ("RS256", "ES256")
#: What partners may sign client assertions with, and external issuers their tokens.
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
#: No legitimate token or assertion is near this; longer ones are refused unparsed.
MAX_TOKEN_CHARS = 8192
#: Clock skew tolerated between the hub and the parties whose tokens it reads.
LEEWAY_S = 30

Key = jwk.RSAKey | jwk.ECKey


class TokenError(Exception):
    """A JWT was refused; the message is safe to send back to the caller."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclass(frozen=True, slots=True)
class SignerKey:
    kid: str
    alg: str
    key: Key


@dataclass(frozen=True, slots=True)
class NewKey:
    kid: str
    alg: str
    private_pem: bytes
    public_jwk: str


def new_token_id() -> str:
    return secrets.token_hex(16)


# --- keys -----------------------------------------------------------------------------------------


def generate_key(alg: str, passphrase: str | None = None) -> NewKey:
    """A fresh signing key; the private half only ever leaves as (optionally encrypted) PEM."""
    if alg not in SIGNING_ALGORITHMS:
        raise ValueError(f"signing algorithm must be one of {', '.join(SIGNING_ALGORITHMS)}")
    key: Key = jwk.RSAKey.generate_key(2048) if alg == "RS256" else jwk.ECKey.generate_key("P-256")
    kid = key.thumbprint()
    public = dict(key.as_dict(private=False))
    public.update({"kid": kid, "alg": alg, "use": "sig"})
    return NewKey(
        kid=kid,
        alg=alg,
        private_pem=key.as_pem(private=True, password=passphrase),
        public_jwk=json.dumps(public, sort_keys=True),
    )


def load_signer(kid: str, alg: str, private_pem: bytes, passphrase: str | None) -> SignerKey:
    password = passphrase.encode() if passphrase else None
    try:
        raw = load_pem_private_key(private_pem, password)
    except (TypeError, ValueError):
        raise ValueError(
            f"signing key {kid} cannot be read; check HUB_KEY_PASSPHRASE (the key is encrypted with it)"
        ) from None
    key: Key
    if isinstance(raw, rsa.RSAPrivateKey):
        key = jwk.RSAKey.import_key(raw)
    elif isinstance(raw, ec.EllipticCurvePrivateKey):
        key = jwk.ECKey.import_key(raw)
    else:
        raise ValueError(f"signing key {kid} is neither RSA nor EC")
    return SignerKey(kid=kid, alg=alg, key=key)


def public_key(public_jwk: str | Mapping[str, Any]) -> Key:
    """Import one public JWK (a stored string or a parsed dict); refuses private and symmetric keys."""
    try:
        data = json.loads(public_jwk) if isinstance(public_jwk, str) else dict(public_jwk)
        if not isinstance(data, dict) or data.get("kty") not in ("RSA", "EC") or "d" in data:
            raise ValueError
        key = jwk.import_key(data)
    except (ValueError, JoseError):
        raise ValueError("a public key must be one public RSA or EC JWK (JSON)") from None
    assert isinstance(key, jwk.RSAKey | jwk.ECKey)
    return key


def key_set(document: Mapping[str, Any]) -> dict[str, Key]:
    """The usable public keys of a JWKS document, by kid ("" for a key without one)."""
    keys: dict[str, Key] = {}
    for entry in document.get("keys", []) if isinstance(document.get("keys"), list) else []:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            keys[str(entry.get("kid", ""))] = public_key(entry)
        except ValueError:
            continue  # an unknown key type in someone else's set is not ours to fail on
    return keys


def jwks(public_jwks: Iterable[str]) -> dict[str, Any]:
    return {"keys": [json.loads(item) for item in public_jwks]}


def key_algorithms(key: Key, default: Iterable[str]) -> list[str]:
    allowed = [key.alg] if key.alg else list(default)
    family = ("RS", "PS") if isinstance(key, jwk.RSAKey) else ("ES",)
    return [a for a in allowed if a.startswith(family) and a in ASYMMETRIC_ALGORITHMS]


# --- tokens ---------------------------------------------------------------------------------------


def sign(claims: Mapping[str, Any], signer: SignerKey, typ: str = ACCESS_TOKEN_TYPE) -> str:
    header = {"alg": signer.alg, "kid": signer.kid, "typ": typ}
    return jwt.encode(header, dict(claims), signer.key, algorithms=[signer.alg])


def sign_with(claims: Mapping[str, Any], key: Key, alg: str, kid: str | None = None, typ: str = "JWT") -> str:
    """Sign with a caller's own key: partners' client assertions, a test identity provider."""
    header: dict[str, Any] = {"alg": alg, "typ": typ}
    if kid:
        header["kid"] = kid
    return jwt.encode(header, dict(claims), key, algorithms=[alg])


@dataclass(frozen=True, slots=True)
class Unverified:
    """What a JWT says about itself before its signature is checked: for routing only."""

    header: dict[str, Any]
    claims: dict[str, Any]

    @property
    def kid(self) -> str:
        kid = self.header.get("kid", "")
        return kid if isinstance(kid, str) else ""

    @property
    def issuer(self) -> str | None:
        iss = self.claims.get("iss")
        return iss if isinstance(iss, str) else None


def peek(token: str) -> Unverified:
    if len(token) > MAX_TOKEN_CHARS:
        raise TokenError(f"the token is over {MAX_TOKEN_CHARS} characters")
    if token.count(".") != 2:
        raise TokenError("the token is not a signed JWT")
    try:
        compact = jws.extract_compact(token.encode("ascii"))
        claims = json.loads(compact.payload)
    except (JoseError, ValueError, UnicodeError):
        raise TokenError("the token is malformed") from None
    if not isinstance(claims, dict):
        raise TokenError("the token is malformed")
    return Unverified(header=dict(compact.headers()), claims=claims)


def verify(
    token: str,
    key: Key,
    algorithms: Iterable[str],
    *,
    typ: str | None = None,
    now: float | None = None,
    required: Iterable[str] = ("exp", "iat"),
    max_lifetime_s: int | None = None,
    **expected: Any,
) -> dict[str, Any]:
    """Check signature, header type and registered claims; return the claims.

    ``expected`` maps claim names to the one accepted value (``iss=...``) or, for ``aud``, also a list
    of accepted values. With ``max_lifetime_s``, a token that lives longer than its issuer may grant
    (``exp - iat``, or ``exp - now``, beyond it plus the clock skew) is refused: a token that
    validly carries ``exp`` far ahead would otherwise outlive every rotation and revocation window.
    """
    try:
        decoded = jwt.decode(token, key, algorithms=list(algorithms))
    except JoseError as exc:
        raise TokenError(_describe(exc)) from None
    if typ is not None and str(decoded.header.get("typ", "")).lower() not in (typ, f"application/{typ}"):
        raise TokenError(f"the token's type is not {typ}")
    options: dict[str, Any] = {name: {"essential": True} for name in required}
    for name, value in expected.items():
        option = {"essential": True, "values" if isinstance(value, list) else "value": value}
        options[name] = option
    registry = jwt.JWTClaimsRegistry(
        now=int(now if now is not None else time.time()), leeway=LEEWAY_S, **options
    )
    try:
        registry.validate(decoded.claims)
    except JoseError as exc:
        raise TokenError(_describe(exc)) from None
    claims = dict(decoded.claims)
    if max_lifetime_s is not None:
        check_lifetime(claims, max_lifetime_s, now)
    return claims


def check_lifetime(claims: Mapping[str, Any], max_lifetime_s: int, now: float | None = None) -> None:
    """Refuse a token whose ``exp`` lies further from its ``iat`` (or from now) than ``max_lifetime_s``
    plus the tolerated skew. ``exp`` must be a number (the claim registry checked it)."""
    expires = claims.get("exp")
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise TokenError("the token's expiry is invalid")
    current = now if now is not None else time.time()
    issued = claims.get("iat")
    starts = [current]
    if isinstance(issued, int | float) and not isinstance(issued, bool):
        starts.append(issued)
    if any(expires - start > max_lifetime_s + LEEWAY_S for start in starts):
        raise TokenError(f"the token's lifetime is longer than the {max_lifetime_s} s its issuer may grant")


_CLAIM_FAILURES = {
    "iss": "the token comes from another issuer",
    "aud": "the token is meant for another audience",
    "nbf": "the token is not yet valid",
    "iat": "the token's issue time is invalid or in the future",
    "exp": "the token's expiry is invalid",
}


def _describe(exc: JoseError) -> str:
    if isinstance(exc, ExpiredTokenError):
        return "the token has expired"
    if isinstance(exc, MissingClaimError):
        return f"the token lacks the {exc.claim!r} claim"
    if isinstance(exc, ClaimError):
        return _CLAIM_FAILURES.get(exc.claim, f"the token's {exc.claim!r} claim is not accepted")
    text = f"{exc.error} {exc.description or ''}".lower()
    if "signature" in text:
        return "the token's signature does not verify"
    if "algorithm" in text:
        return "the token's signing algorithm is not accepted"
    return "the token is malformed"
