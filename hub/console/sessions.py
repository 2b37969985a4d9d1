"""Console sessions: an opaque id in a signed, HttpOnly, SameSite=Strict cookie; everything else in
the store (``console_sessions``), so every worker and every node serves every session.

The browser holds only ``<session id>.<HMAC of it>``. The store holds the SHA-256 of the id (never
the id), the signed-in person's unit, the session's CSRF token and the access token sealed with
AES-GCM under a key derived (HKDF-SHA256) from the id: a copy of the store alone yields neither a
usable session id nor a token, and page scripts never see the token. A stolen cookie dies with the
session (idle timeout, the token's own expiry, sign-out).

Every visitor gets a session (anonymous until sign-in) so that the sign-in form carries a CSRF token
too; signing in replaces the session id (no fixation) and signing out deletes its row. The cookie's
HMAC key is a server secret in the store (``server_secrets``), the same for every worker.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from resolvers.models.partners import Audience, ConsoleSessionRecord, ServerSecret

#: The cookie's name; ``__Host-`` (Secure, Path=/, no Domain) when the console is served over https.
COOKIE = "hub_console"
SECURE_COOKIE = "__Host-hub_console"
#: A sign-in under way at an identity provider (SameSite=Lax: it must survive the provider's redirect).
OIDC_COOKIE = "hub_console_oidc"
SECURE_OIDC_COOKIE = "__Host-hub_console_oidc"
#: The ``server_secrets`` row holding the cookies' HMAC key.
COOKIE_KEY_NAME = "console_cookie_key"
_HKDF_INFO = b"hub console session token"


@dataclass
class ConsoleSession:
    id: str
    #: Compared with the form field ``csrf`` of every POST (and the X-CSRF-Token header of scripts).
    csrf: str
    last_seen: float
    #: The signed-in person: None while anonymous.
    audience: Audience | None = None
    #: Who they are, as shown on the pages (the identity provider's subject, or the demo account).
    who: str | None = None
    #: The access token the console calls the API with; never sent to the browser.
    token: str | None = field(default=None, repr=False)
    token_expires_at: float = 0.0
    demo: bool = False
    #: Messages for the next page shown (after a redirect).
    flash: list[str] = field(default_factory=list)
    created: float = 0.0
    #: Whether the store has its row (else ``save`` inserts it); ``ended``: signed out, never saved.
    stored: bool = False
    ended: bool = False

    @property
    def signed_in(self) -> bool:
        return self.token is not None


def id_hash(session_id: str) -> str:
    """The store's key of a session: the SHA-256 of its id, in hex."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def _token_key(session_id: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(session_id.encode())


def seal(session_id: str, token: str) -> bytes:
    """``nonce || AES-GCM(token)`` under the id's key, bound to the row's key."""
    nonce = secrets.token_bytes(12)
    return nonce + AESGCM(_token_key(session_id)).encrypt(nonce, token.encode(), id_hash(session_id).encode())


def unseal(session_id: str, sealed: bytes) -> str:
    nonce, body = sealed[:12], sealed[12:]
    return AESGCM(_token_key(session_id)).decrypt(nonce, body, id_hash(session_id).encode()).decode()


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


class SessionStore:
    """Sessions in the store, by the hash of their id. Reads and writes go through ``db``; the cookie's
    HMAC key is ``key`` or the store's own (``load_key`` before ``sign``/``unsign``)."""

    def __init__(
        self,
        timeout_s: float,
        db: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], float] = time.time,
        key: bytes | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self._db = db
        self._clock = clock
        self._key = key

    # --- the cookie value -------------------------------------------------------------------------

    async def load_key(self) -> None:
        """Reads (or makes, once for every worker) the cookies' HMAC key."""
        if self._key is not None:
            return
        async with self._db() as db:
            value = await db.scalar(select(ServerSecret.value).where(ServerSecret.name == COOKIE_KEY_NAME))
            if value is None:
                dialect = db.get_bind().dialect.name
                insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
                await db.execute(
                    insert(ServerSecret)
                    .values(name=COOKIE_KEY_NAME, value=secrets.token_bytes(32))
                    .on_conflict_do_nothing(index_elements=[ServerSecret.name])
                )
                await db.commit()
                # Another worker may have made it first: theirs is the one.
                value = await db.scalar(
                    select(ServerSecret.value).where(ServerSecret.name == COOKIE_KEY_NAME)
                )
            assert value is not None
            self._key = value

    def _mac(self, session_id: str) -> str:
        assert self._key is not None, "load_key first"
        digest = hmac.new(self._key, session_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def cookie_value(self, session: ConsoleSession) -> str:
        return self.sign(session.id)

    def sign(self, value: str) -> str:
        """``value`` with its HMAC, for a cookie (``value`` must not contain a dot)."""
        return f"{value}.{self._mac(value)}"

    def unsign(self, signed: str | None) -> str | None:
        """The value of a cookie made by ``sign``, or None when it is not one."""
        if not signed or signed.count(".") != 1:
            return None
        value, mac = signed.split(".")
        return value if hmac.compare_digest(mac, self._mac(value)) else None

    # --- sessions ---------------------------------------------------------------------------------

    def _expires(self, session: ConsoleSession) -> float:
        idle = session.last_seen + self.timeout_s
        return min(idle, session.token_expires_at) if session.signed_in else idle

    async def get(self, cookie: str | None) -> ConsoleSession | None:
        """The live session the cookie names (its idle time starts again when it is saved), or None."""
        await self.load_key()
        session_id = self.unsign(cookie)
        if session_id is None:
            return None
        key = id_hash(session_id)
        async with self._db() as db:
            row = await db.get(ConsoleSessionRecord, key)
            if row is None:
                return None
            now = self._clock()
            if now >= row.expires_at.timestamp():
                await db.execute(delete(ConsoleSessionRecord).where(ConsoleSessionRecord.id_hash == key))
                await db.commit()
                return None
            token = None if row.token_sealed is None else unseal(session_id, row.token_sealed)
            return ConsoleSession(
                id=session_id,
                csrf=row.csrf,
                last_seen=now,
                audience=None if row.audience is None else Audience(row.audience),
                who=row.who,
                token=token,
                token_expires_at=0.0 if row.token_expires_at is None else row.token_expires_at.timestamp(),
                demo=row.demo,
                flash=list(row.flash),
                created=row.created_at.timestamp(),
                stored=True,
            )

    def new(self) -> ConsoleSession:
        """A new anonymous session; its row is written by ``save`` (once the response goes out)."""
        now = self._clock()
        return ConsoleSession(
            id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32), last_seen=now, created=now
        )

    async def save(self, session: ConsoleSession) -> None:
        """Writes the session's row (inserted the first time, with a purge of expired rows)."""
        if session.ended:
            return
        values = {
            "csrf": session.csrf,
            "audience": None if session.audience is None else session.audience.value,
            "who": session.who,
            "demo": session.demo,
            "flash": list(session.flash),
            "last_seen_at": _at(session.last_seen),
            "expires_at": _at(self._expires(session)),
        }
        key = id_hash(session.id)
        async with self._db() as db:
            if session.stored:
                await db.execute(
                    update(ConsoleSessionRecord).where(ConsoleSessionRecord.id_hash == key).values(**values)
                )
            else:
                await self._purge(db)
                db.add(
                    ConsoleSessionRecord(
                        id_hash=key,
                        token_sealed=None if session.token is None else seal(session.id, session.token),
                        token_expires_at=_at(session.token_expires_at) if session.signed_in else None,
                        created_at=_at(session.created),
                        **values,
                    )
                )
            await db.commit()
        session.stored = True

    async def sign_in(
        self,
        previous: ConsoleSession,
        *,
        audience: Audience,
        who: str,
        token: str,
        expires_in: float,
        demo: bool,
    ) -> ConsoleSession:
        """A new session (new id, new CSRF token) for the signed-in person, in the store; the previous
        one ends."""
        await self.load_key()
        await self.end(previous)
        session = self.new()
        session.audience = audience
        session.who = who
        session.token = token
        session.token_expires_at = self._clock() + expires_in
        session.demo = demo
        await self.save(session)
        return session

    async def end(self, session: ConsoleSession) -> None:
        """Deletes the session's row: no worker serves it again."""
        session.ended = True
        async with self._db() as db:
            await db.execute(
                delete(ConsoleSessionRecord).where(ConsoleSessionRecord.id_hash == id_hash(session.id))
            )
            await db.commit()

    async def _purge(self, db: AsyncSession) -> None:
        await db.execute(
            delete(ConsoleSessionRecord).where(ConsoleSessionRecord.expires_at <= _at(self._clock()))
        )

    async def count(self) -> int:
        """How many rows the store holds (expired ones included until purged)."""
        async with self._db() as db:
            return len((await db.scalars(select(ConsoleSessionRecord.id_hash))).all())


def csrf_matches(session: ConsoleSession, sent: str | None) -> bool:
    """Whether ``sent`` is the session's CSRF token (compared in constant time)."""
    if not sent:
        return False
    return hmac.compare_digest(sent.encode(), session.csrf.encode())
