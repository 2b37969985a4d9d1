"""Custody and supervision of a person: sentences and their charges, custody and supervision
periods, parole hearings, custody events, conduct reports and health needs."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from resolvers.models.base import (
    Base,
    IdMixin,
    TimestampMixin,
    VersionMixin,
    non_negative,
    one_of,
    ordered,
)


class AdmissionType(enum.StrEnum):
    NEW_COMMITMENT = "new_commitment"
    PROBATION_REVOCATION = "probation_revocation"
    PAROLE_RETURN = "parole_return"
    SHOCK_INCARCERATION = "shock_incarceration"
    TREATMENT_COMMITMENT = "treatment_commitment"


class ReleaseType(enum.StrEnum):
    PAROLE = "parole"
    CONDITIONAL_RELEASE = "conditional_release"
    PROBATION = "probation"
    SENTENCE_COMPLETED = "sentence_completed"
    COURT_ORDER = "court_order"
    DEATH = "death"


class SupervisionKind(enum.StrEnum):
    PROBATION = "probation"
    PAROLE = "parole"
    CONDITIONAL_RELEASE = "conditional_release"


class SupervisionEnd(enum.StrEnum):
    DISCHARGED = "discharged"
    REVOKED = "revoked"
    ABSCONDED = "absconded"
    TRANSFERRED = "transferred"
    DEATH = "death"


class SentenceType(enum.StrEnum):
    PRISON = "prison"
    PROBATION = "probation"
    SHOCK = "shock"
    TREATMENT = "treatment"


class SentenceStatus(enum.StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"
    VACATED = "vacated"


class OffenseClass(enum.StrEnum):
    FELONY_A = "felony_a"
    FELONY_B = "felony_b"
    FELONY_C = "felony_c"
    FELONY_D = "felony_d"
    FELONY_E = "felony_e"
    MISDEMEANOR_A = "misdemeanor_a"
    MISDEMEANOR_B = "misdemeanor_b"


class OffenseCategory(enum.StrEnum):
    VIOLENT = "violent"
    SEX = "sex"
    DRUG = "drug"
    PROPERTY = "property"
    DWI = "dwi"
    OTHER = "other"


class HearingType(enum.StrEnum):
    INITIAL = "initial"
    RECONSIDERATION = "reconsideration"
    REVOCATION = "revocation"


class HearingStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"


class HearingDecision(enum.StrEnum):
    GRANTED = "granted"
    DENIED = "denied"
    CONTINUED = "continued"


class CustodyEventKind(enum.StrEnum):
    ADMISSION = "admission"
    TRANSFER = "transfer"
    RELEASE = "release"
    ESCAPE = "escape"
    RETURN = "return"
    DEATH = "death"
    HEARING_SCHEDULED = "hearing_scheduled"
    HEARING_DECIDED = "hearing_decided"


class ConductOutcome(enum.StrEnum):
    DISMISSED = "dismissed"
    SANCTIONED = "sanctioned"
    PENDING = "pending"


class CustodyPeriod(IdMixin, VersionMixin, Base):
    __tablename__ = "custody_periods"
    __table_args__ = (
        one_of("admission_type", AdmissionType),
        one_of("release_type", ReleaseType),
        ordered("admitted_on", "released_on"),
        Index("ix_custody_periods_person_admitted", "person_id", "admitted_on"),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    admission_type: Mapped[str] = mapped_column(String(32))
    admitted_on: Mapped[date] = mapped_column(index=True)
    released_on: Mapped[date | None] = mapped_column(index=True)
    release_type: Mapped[str | None] = mapped_column(String(32))
    projected_release_on: Mapped[date | None] = mapped_column(index=True)
    housing_unit: Mapped[str | None] = mapped_column(String(16))
    custody_level: Mapped[int | None] = mapped_column(Integer)
    release_plan: Mapped[str | None] = mapped_column(Text)
    release_county: Mapped[str | None] = mapped_column(String(60))
    supervision_office_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))


class SupervisionPeriod(IdMixin, VersionMixin, Base):
    __tablename__ = "supervision_periods"
    __table_args__ = (
        one_of("kind", SupervisionKind),
        one_of("end_reason", SupervisionEnd),
        ordered("started_on", "ended_on"),
        Index("ix_supervision_periods_person_started", "person_id", "started_on"),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    office_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    started_on: Mapped[date]
    ended_on: Mapped[date | None]
    end_reason: Mapped[str | None] = mapped_column(String(16))


class Sentence(IdMixin, Base):
    __tablename__ = "sentences"
    __table_args__ = (
        one_of("sentence_type", SentenceType),
        one_of("status", SentenceStatus),
        non_negative("term_months"),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    cause_number: Mapped[str] = mapped_column(String(24), index=True)
    county: Mapped[str] = mapped_column(String(60))
    sentenced_on: Mapped[date]
    sentence_type: Mapped[str] = mapped_column(String(16))
    term_months: Mapped[int | None] = mapped_column(Integer)  # None: life
    status: Mapped[str] = mapped_column(String(16))


class Charge(IdMixin, Base):
    __tablename__ = "charges"
    __table_args__ = (one_of("offense_class", OffenseClass), one_of("category", OffenseCategory))

    sentence_id: Mapped[int] = mapped_column(ForeignKey("sentences.id", ondelete="CASCADE"), index=True)
    statute: Mapped[str] = mapped_column(String(24))
    offense: Mapped[str] = mapped_column(String(120))
    offense_class: Mapped[str] = mapped_column(String(16), index=True)
    category: Mapped[str] = mapped_column(String(16))


class ParoleHearing(IdMixin, VersionMixin, Base):
    __tablename__ = "parole_hearings"
    __table_args__ = (
        one_of("hearing_type", HearingType),
        one_of("status", HearingStatus),
        one_of("decision", HearingDecision),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    hearing_type: Mapped[str] = mapped_column(String(20))
    scheduled_for: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16))
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_on: Mapped[date | None]


class CustodyEvent(IdMixin, TimestampMixin, Base):
    __tablename__ = "custody_events"
    __table_args__ = (
        one_of("kind", CustodyEventKind),
        Index("ix_custody_events_person_occurred", "person_id", "occurred_at"),
        # The victims-first embargo looks up the events recorded in its last minutes (migration 0003).
        Index("ix_custody_events_created_at", "created_at"),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(24), index=True)
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    to_facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"))
    hearing_id: Mapped[int | None] = mapped_column(ForeignKey("parole_hearings.id"))
    notes: Mapped[str | None] = mapped_column(Text)


class ConductReport(IdMixin, Base):
    __tablename__ = "conduct_reports"
    __table_args__ = (one_of("outcome", ConductOutcome),)

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    occurred_on: Mapped[date]
    violation: Mapped[str] = mapped_column(String(120))
    outcome: Mapped[str] = mapped_column(String(16))


class HealthNeed(IdMixin, Base):
    """Mental health and substance-use needs; substance use is consented for separately."""

    __tablename__ = "health_needs"
    __table_args__ = (one_of("kind", ["mental_health", "substance_use", "medical"]), non_negative("level"))

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)  # 0 (none) to 5 (acute)
    assessed_on: Mapped[date]
