"""Programs, offerings, enrollments and reparative hours."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, Numeric, String, Text, text
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
