"""Programs, offerings and enrollments; reentry referrals, consents and services delivered."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from resolvers.models.base import (
    Base,
    IdMixin,
    TimestampMixin,
    VersionMixin,
    non_negative,
    one_of,
    ordered,
    positive,
)

Hours = Numeric(8, 2, asdecimal=True)


class ProgramCategory(enum.StrEnum):
    RESTORATIVE_JUSTICE = "restorative_justice"
    EDUCATION = "education"
    VOCATIONAL = "vocational"
    SUBSTANCE_USE = "substance_use"
    MENTAL_HEALTH = "mental_health"
    PARENTING = "parenting"
    GENDER_RESPONSIVE = "gender_responsive"
    LIFE_SKILLS = "life_skills"


class OfferingStatus(enum.StrEnum):
    PLANNED = "planned"
    OPEN = "open"
    CLOSED = "closed"


class EnrollmentStatus(enum.StrEnum):
    ENROLLED = "enrolled"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"


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


class Program(IdMixin, Base):
    __tablename__ = "programs"
    __table_args__ = (one_of("category", ProgramCategory),)

    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(24), index=True)
    description: Mapped[str] = mapped_column(Text)
    reparative: Mapped[bool] = mapped_column(default=False)
    gender_responsive: Mapped[bool] = mapped_column(default=False)


class ProgramOffering(IdMixin, Base):
    __tablename__ = "program_offerings"
    __table_args__ = (
        one_of("status", OfferingStatus),
        ordered("starts_on", "ends_on"),
        non_negative("capacity"),
        Index("ix_program_offerings_program_facility", "program_id", "facility_id"),
    )

    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    capacity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))


class Enrollment(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "enrollments"
    __table_args__ = (
        one_of("status", EnrollmentStatus),
        ordered("enrolled_on", "ended_on"),
        non_negative("reparative_hours"),
        Index("ix_enrollments_person_program", "person_id", "program_id"),
        Index("ix_enrollments_program_status", "program_id", "status"),
        # One open enrollment per person and program, whoever writes concurrently (migration 0003).
        Index(
            "uq_enrollments_one_enrolled",
            "person_id",
            "program_id",
            unique=True,
            postgresql_where=text("status = 'enrolled'"),
            sqlite_where=text("status = 'enrolled'"),
        ),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id"))
    offering_id: Mapped[int | None] = mapped_column(ForeignKey("program_offerings.id"), index=True)
    enrolled_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(16))
    ended_on: Mapped[date | None]
    reparative_hours: Mapped[Decimal] = mapped_column(Hours, default=Decimal("0"))


class ReparativeActivity(IdMixin, TimestampMixin, Base):
    """Hours of reparative work (community service, restitution work) logged against an enrollment."""

    __tablename__ = "reparative_activities"
    __table_args__ = (positive("hours"),)

    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id"), index=True)
    performed_on: Mapped[date]
    hours: Mapped[Decimal] = mapped_column(Hours)
    description: Mapped[str] = mapped_column(String(200))


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


class ServiceDelivery(IdMixin, TimestampMixin, Base):
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
