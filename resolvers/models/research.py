"""Research agreements ("Research Agreement and Data Request") and released extracts."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from resolvers.models.base import Base, IdMixin, TimestampMixin, VersionMixin, non_negative, one_of, ordered


class AgreementStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"


class AgreementTier(enum.StrEnum):
    """What an agreement releases: statistics only, or k-anonymous records (and statistics over them)."""

    AGGREGATE = "aggregate"
    RECORD = "record"


class ResearchAgreement(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "research_agreements"
    __table_args__ = (
        one_of("status", AgreementStatus),
        one_of("tier", AgreementTier),
        ordered("starts_on", "ends_on"),
        non_negative("small_cell_threshold"),
    )

    reference: Mapped[str] = mapped_column(String(20), unique=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    investigator: Mapped[str] = mapped_column(String(120))
    institution: Mapped[str] = mapped_column(String(160))
    irb_number: Mapped[str] = mapped_column(String(40))
    irb_expires_on: Mapped[date]
    purpose: Mapped[str] = mapped_column(Text)
    requested_fields: Mapped[list[str]]
    requested_cohort: Mapped[dict[str, Any]]
    granted_fields: Mapped[list[str] | None]
    granted_cohort: Mapped[dict[str, Any] | None]
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    # The aggregate tier's suppression threshold, and the record tier's k (both "small" below it).
    small_cell_threshold: Mapped[int] = mapped_column(Integer, default=11)
    tier: Mapped[str] = mapped_column(
        String(16), default=AgreementTier.RECORD, server_default=text("'record'")
    )
    status: Mapped[str] = mapped_column(String(16), index=True)
    # Key of this agreement's pseudonyms; destroyed (set to NULL) when the agreement ends.
    pseudonym_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decision_note: Mapped[str | None] = mapped_column(String(500))


class ResearchExtract(IdMixin, TimestampMixin, Base):
    __tablename__ = "research_extracts"
    __table_args__ = (non_negative("row_count"),)

    agreement_id: Mapped[int] = mapped_column(ForeignKey("research_agreements.id"), index=True)
    fields: Mapped[list[str]]
    row_count: Mapped[int] = mapped_column(Integer)
    requested_by: Mapped[str] = mapped_column(String(120))
    # What the release generalized and suppressed (k, quasi-identifiers, levels, counts).
    release: Mapped[dict[str, Any] | None]
