"""Reentry: referrals to community partners, release-of-information consents, services delivered."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from resolvers.models.base import (
    Base,
    IdMixin,
    TimestampMixin,
    VersionMixin,
    one_of,
    ordered,
)


class ServiceType(enum.StrEnum):
    HOUSING = "housing"
    EMPLOYMENT = "employment"
    TREATMENT = "treatment"
    MENTORING = "mentoring"
    TRANSPORTATION = "transportation"
    BENEFITS = "benefits"


class ReferralStatus(enum.StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    CLOSED = "closed"


class ConsentCategory(enum.StrEnum):
    """What a release-of-information consent lets a reentry partner read."""

    IDENTITY = "identity"
    RELEASE = "release"
    PROGRAMS = "programs"
    HEALTH = "health"
    # 42 CFR Part 2: substance-use records need a consent of their own.
    SUBSTANCE_USE = "substance_use"


class Referral(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "referrals"
    __table_args__ = (
        one_of("service_type", ServiceType),
        one_of("status", ReferralStatus),
        ordered("referred_on", "closed_on"),
        Index("ix_referrals_partner_status", "partner_id", "status"),
        # One referral that is not closed per person, partner and service (migration 0003).
        Index(
            "uq_referrals_one_open",
            "person_id",
            "partner_id",
            "service_type",
            unique=True,
            postgresql_where=text("status <> 'closed'"),
            sqlite_where=text("status <> 'closed'"),
        ),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"))
    service_type: Mapped[str] = mapped_column(String(16))
    referred_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(16))
    notes: Mapped[str | None] = mapped_column(Text)
    closed_on: Mapped[date | None]
    closure_reason: Mapped[str | None] = mapped_column(String(200))


class Consent(IdMixin, TimestampMixin, VersionMixin, Base):
    """A release-of-information consent: this person lets this partner read these categories."""

    __tablename__ = "consents"
    __table_args__ = (
        ordered("signed_on", "expires_on"),
        ordered("signed_on", "revoked_on"),
        Index("ix_consents_person_partner", "person_id", "partner_id"),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(200))
    signed_on: Mapped[date]
    expires_on: Mapped[date]
    revoked_on: Mapped[date | None]
    revocation_reason: Mapped[str | None] = mapped_column(String(200))


class ConsentGrant(Base):
    """One data category that a consent covers (one row each, so scopes stay SQL)."""

    __tablename__ = "consent_grants"
    __table_args__ = (one_of("category", ConsentCategory),)

    consent_id: Mapped[int] = mapped_column(ForeignKey("consents.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[str] = mapped_column(String(16), primary_key=True)


class ServiceDelivered(IdMixin, TimestampMixin, Base):
    __tablename__ = "service_deliveries"
    __table_args__ = (
        one_of("service_type", ServiceType),
        UniqueConstraint("referral_id", "delivered_on", "service_type", "description"),
    )

    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    service_type: Mapped[str] = mapped_column(String(16))
    delivered_on: Mapped[date]
    description: Mapped[str] = mapped_column(String(500))
    outcome: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[datetime | None]
