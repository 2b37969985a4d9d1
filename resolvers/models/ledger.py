"""The disclosure ledger: append-only, hash-chained events of who was shown what about whom."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, false, text
from sqlalchemy.orm import Mapped, mapped_column

from resolvers.models.base import Base, one_of

AUDIT_OUTCOMES = ("served", "denied", "invalid", "error")

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
LedgerId = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        one_of("outcome", AUDIT_OUTCOMES),
        Index("ix_audit_events_partner_at", "partner_id", "occurred_at"),
        Index("ix_audit_events_client_at", "client_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(LedgerId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    client_id: Mapped[str | None] = mapped_column(String(64))
    staff_subject: Mapped[str | None] = mapped_column(String(200))
    audience: Mapped[str | None] = mapped_column(String(24))
    operation_name: Mapped[str | None] = mapped_column(String(200))
    document_hash: Mapped[str | None] = mapped_column(String(64))
    variables: Mapped[dict[str, Any] | None]
    outcome: Mapped[str] = mapped_column(String(16))
    authority: Mapped[dict[str, Any] | None]
    detail: Mapped[dict[str, Any] | None]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The caller's own ``X-Request-Id`` (validated), kept beside the id the hub minted.
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    #: The caller's address as seen behind the trusted proxies (``HUB_TRUSTED_PROXIES``).
    source_address: Mapped[str | None] = mapped_column(String(64))


class AuditDisclosure(Base):
    """One subject record shown in one event, for "who saw X" look-ups."""

    __tablename__ = "audit_disclosures"
    __table_args__ = (
        one_of("subject_kind", ("person", "victim")),
        Index("ix_audit_disclosures_subject", "subject_kind", "subject_id"),
        # What every reader but victim services may match: sealed rows are not even in this index,
        # so a person filter costs the same whether or not victim services looked the person up.
        Index(
            "ix_audit_disclosures_open_subject",
            "subject_kind",
            "subject_id",
            "event_id",
            postgresql_where=text("sealed = false"),
            sqlite_where=text("sealed = 0"),
        ),
    )

    id: Mapped[int] = mapped_column(LedgerId, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("audit_events.id"), index=True)
    subject_kind: Mapped[str] = mapped_column(String(8))
    subject_id: Mapped[int] = mapped_column(Integer)
    field_classes: Mapped[list[str]]
    #: A disclosure made to victim services: only victim services' ledger reads ever match it
    #: (``resolvers/ledger.py``). Derived from the event's audience, which the hash covers.
    sealed: Mapped[bool] = mapped_column(default=False, server_default=false())


class LedgerCheckpointRecord(Base):
    """A signed checkpoint of the ledger's head (auth/ledger_checkpoints.py), kept in the store as
    well as written outside it: the console shows the latest and checks it against the chain. Not part
    of the ledger (no append-only triggers); a copy outside the database is still the evidence that
    does not trust the database."""

    __tablename__ = "ledger_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: Events in the chain up to and including ``head_id``; 0 and None for an empty ledger.
    events: Mapped[int] = mapped_column(BigInteger)
    head_id: Mapped[int] = mapped_column(BigInteger)
    #: The hash of event ``head_id`` when it was signed.
    head: Mapped[str | None] = mapped_column(String(64))
    #: The signing key's id and the compact JWS (``typ`` ``hub-ledger-checkpoint+jwt``).
    kid: Mapped[str] = mapped_column(String(64))
    jws: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(index=True)
