"""Partners, their clients and the request-control state shared between processes (signing keys:
``resolvers/models/signing_keys.py``).

Everything two hub processes must agree on (revoked tokens, authentication throttles, rate-limit
windows, idempotency keys) lives here, in the store, never in process memory.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column

from resolvers.models.base import Base, IdMixin, TimestampMixin, VersionMixin, non_negative, one_of


class Audience(enum.StrEnum):
    LEGISLATIVE = "legislative"
    REENTRY = "reentry"
    RESEARCHER = "researcher"
    CONSTITUENT_SERVICES = "constituent_services"
    VICTIM_SERVICES = "victim_services"
    PROGRAMS = "programs"
    BUDGET_GRANTS = "budget_grants"
    RESEARCH_UNIT = "research_unit"
    ADMIN = "admin"


PARTNER_AUDIENCES = (Audience.LEGISLATIVE, Audience.REENTRY, Audience.RESEARCHER)


class ClientStatus(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"
    # "locked" (lockout after failed authentications) is gone since 0006_tokens: anyone who knew a
    # client id could lock it. Failures are throttled per source address instead (AuthThrottle).


class Partner(IdMixin, TimestampMixin, Base):
    """An organisation with an agreement: a legislative office, a reentry partner, a research team,
    or a department unit's front-end."""

    __tablename__ = "partners"
    __table_args__ = (one_of("audience", Audience),)

    name: Mapped[str] = mapped_column(String(160), unique=True)
    audience: Mapped[str] = mapped_column(String(24), index=True)
    contact_email: Mapped[str | None] = mapped_column(String(254))
    # Legislative offices: the district they represent; reentry partners: the counties they serve.
    district: Mapped[str | None] = mapped_column(String(60))
    service_types: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)


class Client(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "clients"
    __table_args__ = (
        one_of("status", ClientStatus),
        non_negative("failed_attempts"),
    )

    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    secret_hash: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=ClientStatus.ACTIVE)
    scopes: Mapped[str] = mapped_column(String(400), default="")
    public_jwk: Mapped[str | None] = mapped_column(Text)
    # Retired with the lockout (0006_tokens): always 0 and NULL. Kept because dropping a column of a
    # table other tables reference means rebuilding it on SQLite.
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_at: Mapped[datetime | None]
    persisted_only: Mapped[bool] = mapped_column(default=False)
    requests_per_minute: Mapped[int | None] = mapped_column(Integer)
    cost_per_minute: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime | None]


class AuthThrottle(Base):
    """Failed client authentications counted per source address, per (client id, source address) and
    for the whole hub, and how long each must wait (``auth.throttle``). Shared by every process."""

    __tablename__ = "auth_throttles"
    __table_args__ = (non_negative("failures"), non_negative("reported"))

    #: ``a <address>``, ``c <address> <client id>`` or ``*`` (every failure of the hub).
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    #: Failures already counted in a ledger event (failed attempts are ledgered in aggregate).
    reported: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime]
    last_failure_at: Mapped[datetime] = mapped_column(index=True)
    blocked_until: Mapped[datetime | None]


class ServerSecret(TimestampMixin, Base):
    """Secrets the hub generates for itself, such as the pepper of client-secret hashes when
    ``HUB_SECRET_PEPPER`` is not set."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)


class ConsoleSessionRecord(Base):
    """A console session (hub/console/sessions.py), shared by every worker and node. Keyed by the
    SHA-256 of the session id, which only the browser's cookie holds; the access token is sealed
    (AES-GCM) under a key derived from that id, so a copy of this table opens no session."""

    __tablename__ = "console_sessions"

    #: SHA-256 of the session id, in hex.
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    csrf: Mapped[str] = mapped_column(String(64))
    #: The signed-in person's unit and name: None while anonymous.
    audience: Mapped[str | None] = mapped_column(String(40))
    who: Mapped[str | None] = mapped_column(String(200))
    #: ``nonce || AES-GCM(token)``; None while anonymous.
    token_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    token_expires_at: Mapped[datetime | None]
    demo: Mapped[bool] = mapped_column(default=False)
    #: Messages for the next page shown (after a redirect, perhaps from another worker).
    flash: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    #: When the session ends unless seen again: the idle timeout, or the token's expiry if sooner.
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ConsoleOidcPendingRecord(Base):
    """A console sign-in under way at an identity provider (hub/console/oidc.py), shared by every
    worker and node: the provider's redirect may reach any of them. Keyed by the SHA-256 of the
    sign-in's ``state`` (only the provider's redirect carries it); the PKCE verifier, the nonce and the
    page to go on to are sealed (AES-GCM) under a key derived from the id in the browser's sign-in
    cookie. Taken once: the callback deletes the row it uses, so a replayed redirect finds none."""

    __tablename__ = "console_oidc_pending"

    #: SHA-256 of the sign-in's ``state``, in hex.
    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The identity provider (one of ``HUB_CONSOLE_OIDC``'s issuers).
    issuer: Mapped[str] = mapped_column(String(500))
    #: ``nonce || AES-GCM({verifier, nonce, next})``.
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
    #: When the sign-in may no longer be finished; expired rows are deleted as new ones are written.
    expires_at: Mapped[datetime] = mapped_column(index=True)


class RevokedToken(Base):
    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class PersistedOperation(IdMixin, TimestampMixin, Base):
    __tablename__ = "persisted_operations"
    __table_args__ = (
        UniqueConstraint("client_pk", "sha256"),
        Index("ix_persisted_operations_apq_used", "apq", "last_used_at"),
    )

    client_pk: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    document: Mapped[str] = mapped_column(Text)
    #: Registered by the client itself through APQ (counted against its quota, dropped when unused),
    #: not from a manifest by the department (kept until the department removes it).
    apq: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: When a request last ran it (kept to the day: a process writes it at most once a day per entry).
    last_used_at: Mapped[datetime] = mapped_column(server_default=text("CURRENT_TIMESTAMP"))


class RateWindow(Base):
    """Requests and query cost a client spent in one minute, shared by every hub process."""

    __tablename__ = "rate_windows"
    __table_args__ = (non_negative("requests"), non_negative("cost"))

    client_pk: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyRecord(IdMixin, TimestampMixin, Base):
    """The first result of a mutation sent with a client idempotency key."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("principal", "key"),)

    principal: Mapped[str] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(String(128))
    mutation: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[str] = mapped_column(Text)
