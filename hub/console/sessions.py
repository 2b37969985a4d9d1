"""Console sessions: an opaque id in a signed, HttpOnly, SameSite=Strict cookie; everything else here.

The browser holds only ``<session id>.<HMAC of it>``. The signed-in person's access token, their unit
and the session's CSRF token stay in this process's memory, so page scripts can never read the token
and a stolen cookie dies with the session (idle timeout, the token's own expiry, sign-out).

Every visitor gets a session (anonymous until sign-in) so that the sign-in form carries a CSRF token
too; signing in replaces the session id (no fixation) and signing out forgets it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from resolvers.models.partners import Audience

#: The cookie's name; ``__Host-`` (Secure, Path=/, no Domain) when the console is served over https.
COOKIE = "hub_console"
SECURE_COOKIE = "__Host-hub_console"
#: A sign-in under way at an identity provider (SameSite=Lax: it must survive the provider's redirect).
OIDC_COOKIE = "hub_console_oidc"
SECURE_OIDC_COOKIE = "__Host-hub_console_oidc"


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

    @property
    def signed_in(self) -> bool:
        return self.token is not None


class SessionStore:
    """Sessions of this process, by id; at most ``max_sessions`` (expired ones go first, then the
    longest idle anonymous ones, then the longest idle)."""

    def __init__(
        self,
        timeout_s: float,
        *,
        max_sessions: int = 10_000,
        clock: Callable[[], float] = time.time,
        key: bytes | None = None,
    ) -> None:
        self.timeout_s = timeout_s
        self.max_sessions = max_sessions
        self._clock = clock
        self._key = key or secrets.token_bytes(32)
        self._sessions: dict[str, ConsoleSession] = {}

    # --- the cookie value -------------------------------------------------------------------------

    def _mac(self, session_id: str) -> str:
        digest = hmac.new(self._key, session_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def cookie_value(self, session: ConsoleSession) -> str:
        return self.sign(session.id)

    def sign(self, value: str) -> str:
        """``value`` with its HMAC, for a cookie (``value`` must not contain a dot)."""
        return f"{value}.{self._mac(value)}"

    def unsign(self, signed: str | None) -> str | None:
        """The value of a cookie made by ``sign``, or None when it is not one."""
        return self._unsigned(signed)

    def _unsigned(self, value: str | None) -> str | None:
        if not value or value.count(".") != 1:
            return None
        session_id, mac = value.split(".")
        return session_id if hmac.compare_digest(mac, self._mac(session_id)) else None

    # --- sessions ---------------------------------------------------------------------------------

    def _alive(self, session: ConsoleSession, now: float) -> bool:
        if now - session.last_seen >= self.timeout_s:
            return False
        return not (session.signed_in and now >= session.token_expires_at)

    def get(self, cookie: str | None) -> ConsoleSession | None:
        """The live session the cookie names (its idle time starts again), or None."""
        session_id = self._unsigned(cookie)
        session = self._sessions.get(session_id) if session_id else None
        if session is None:
            return None
        now = self._clock()
        if not self._alive(session, now):
            del self._sessions[session.id]
            return None
        session.last_seen = now
        return session

    def new(self) -> ConsoleSession:
        now = self._clock()
        if len(self._sessions) >= self.max_sessions:
            self._sweep(now)
        if len(self._sessions) >= self.max_sessions:
            # Anonymous sessions go first: a flood of visits must not sign staff out.
            oldest = min(self._sessions.values(), key=lambda s: (s.signed_in, s.last_seen))
            del self._sessions[oldest.id]
        session = ConsoleSession(id=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32), last_seen=now)
        self._sessions[session.id] = session
        return session

    def sign_in(
        self,
        previous: ConsoleSession,
        *,
        audience: Audience,
        who: str,
        token: str,
        expires_in: float,
        demo: bool,
    ) -> ConsoleSession:
        """A new session (new id, new CSRF token) for the signed-in person; the previous one ends."""
        self.end(previous)
        session = self.new()
        session.audience = audience
        session.who = who
        session.token = token
        session.token_expires_at = self._clock() + expires_in
        session.demo = demo
        return session

    def end(self, session: ConsoleSession) -> None:
        self._sessions.pop(session.id, None)

    def _sweep(self, now: float) -> None:
        for stale in [s for s in self._sessions.values() if not self._alive(s, now)]:
            del self._sessions[stale.id]

    def __len__(self) -> int:
        return len(self._sessions)


def csrf_matches(session: ConsoleSession, sent: str | None) -> bool:
    """Whether ``sent`` is the session's CSRF token (compared in constant time)."""
    if not sent:
        return False
    return hmac.compare_digest(sent.encode(), session.csrf.encode())
