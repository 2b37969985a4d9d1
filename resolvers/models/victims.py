"""Victims and their registrations, notifications, impact statements and restitution.

Only the victim services audience ever reads these tables; no other audience's schema has a
path to them.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, text
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


class RegistrantKind(enum.StrEnum):
    VICTIM = "victim"
    FAMILY = "family"
    GUARDIAN = "guardian"


class Language(enum.StrEnum):
    """The languages a registrant can be notified in (ISO 639-1); each has a template file in
    ``hub/delivery/templates/``."""

    EN = "en"
    ES = "es"


class RegistrationStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"
    LETTER = "letter"
    PHONE = "phone"


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    ACKNOWLEDGED = "acknowledged"
    FAILED = "failed"
    CANCELLED = "cancelled"


class AttemptOutcome(enum.StrEnum):
    DELIVERED = "delivered"
    TEMPORARY_FAILURE = "temporary_failure"
    PERMANENT_FAILURE = "permanent_failure"


class StatementFormat(enum.StrEnum):
    WRITTEN = "written"
    AUDIO = "audio"
    VIDEO = "video"
    IN_PERSON = "in_person"


class RestitutionStatus(enum.StrEnum):
    OPEN = "open"
    PAID = "paid"
    SUSPENDED = "suspended"


class Victim(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "victims"
    __table_args__ = (
        one_of("kind", RegistrantKind),
        one_of("language", Language),
        Index("ix_victims_last_first", "last_name", "first_name"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    first_name: Mapped[str] = mapped_column(String(60))
    last_name: Mapped[str] = mapped_column(String(60))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    address_line: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(80))
    state: Mapped[str | None] = mapped_column(String(2))
    postal_code: Mapped[str | None] = mapped_column(String(10))
    #: The language notices are written in (migration 0009).
    language: Mapped[str] = mapped_column(String(2), default=Language.EN, server_default=Language.EN.value)


class VictimRegistration(IdMixin, TimestampMixin, VersionMixin, Base):
    """A registrant's link to a person's case: the basis of every notification."""

    __tablename__ = "victim_registrations"
    __table_args__ = (
        one_of("status", RegistrationStatus),
        ordered("registered_on", "ended_on"),
        Index("ix_victim_registrations_person_status", "person_id", "status"),
        # A registrant is actively registered to a person's case once (migration 0003).
        Index(
            "uq_victim_registrations_one_active",
            "victim_id",
            "person_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
    )

    victim_id: Mapped[int] = mapped_column(ForeignKey("victims.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    sentence_id: Mapped[int | None] = mapped_column(ForeignKey("sentences.id"))
    relationship: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    registered_on: Mapped[date]
    ended_on: Mapped[date | None]


class NotificationPreference(IdMixin, Base):
    __tablename__ = "notification_preferences"
    __table_args__ = (one_of("channel", Channel),)

    registration_id: Mapped[int] = mapped_column(
        ForeignKey("victim_registrations.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(8))
    destination: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(default=True)


class Notification(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        one_of("channel", Channel),
        one_of("status", NotificationStatus),
        non_negative("attempts"),
        Index("ix_notifications_status_next", "status", "next_attempt_at"),
    )

    registration_id: Mapped[int] = mapped_column(ForeignKey("victim_registrations.id"), index=True)
    custody_event_id: Mapped[int] = mapped_column(ForeignKey("custody_events.id"), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    destination: Mapped[str | None] = mapped_column(String(254))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    #: Set by the worker just before the message leaves; cleared when the outcome is recorded.
    send_started_at: Mapped[datetime | None]
    requires_ack: Mapped[bool] = mapped_column(default=False)
    ack_code_hash: Mapped[str | None] = mapped_column(String(128))
    acknowledged_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))


class DeliveryAttempt(IdMixin, Base):
    __tablename__ = "delivery_attempts"
    __table_args__ = (one_of("outcome", AttemptOutcome),)

    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    attempted_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(String(500))


class WorkerHeartbeat(Base):
    """A notification worker's heartbeat (hub/worker.py): written at start and after every pass (at
    least every ``HUB_WORKER_HEARTBEAT_S``), marked stopped on a clean shutdown. A worker whose
    last beat is older than three of its intervals, and that did not say it stopped, is stale."""

    __tablename__ = "worker_heartbeats"

    #: The worker's own random id, made when it starts.
    worker_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    beat_at: Mapped[datetime] = mapped_column(index=True)
    #: The worker's heartbeat interval in seconds (stale after three without a beat).
    interval_s: Mapped[float] = mapped_column(Float)
    #: Passes run since the start, and what the last pass that found work did.
    passes: Mapped[int] = mapped_column(Integer, default=0)
    last_work_at: Mapped[datetime | None]
    last_work: Mapped[str | None] = mapped_column(String(300))
    #: When it stopped cleanly (SIGINT/SIGTERM); None while it runs (or if it died).
    stopped_at: Mapped[datetime | None]


class ImpactStatement(IdMixin, TimestampMixin, Base):
    __tablename__ = "impact_statements"
    __table_args__ = (one_of("format", StatementFormat),)

    registration_id: Mapped[int] = mapped_column(ForeignKey("victim_registrations.id"), index=True)
    hearing_id: Mapped[int | None] = mapped_column(ForeignKey("parole_hearings.id"), index=True)
    submitted_on: Mapped[date]
    format: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)


class HearingParticipation(IdMixin, Base):
    __tablename__ = "hearing_participations"
    __table_args__ = (one_of("mode", ["in_person", "video", "phone", "written"]),)

    registration_id: Mapped[int] = mapped_column(ForeignKey("victim_registrations.id"), index=True)
    hearing_id: Mapped[int] = mapped_column(ForeignKey("parole_hearings.id"), index=True)
    mode: Mapped[str] = mapped_column(String(16))


class ProtectionCondition(IdMixin, Base):
    __tablename__ = "protection_conditions"
    __table_args__ = (ordered("starts_on", "ends_on"),)

    registration_id: Mapped[int] = mapped_column(ForeignKey("victim_registrations.id"), index=True)
    condition: Mapped[str] = mapped_column(String(300))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]


class RestitutionOrder(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "restitution_orders"
    __table_args__ = (one_of("status", RestitutionStatus), non_negative("amount"))

    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    sentence_id: Mapped[int | None] = mapped_column(ForeignKey("sentences.id"))
    payee_victim_id: Mapped[int | None] = mapped_column(ForeignKey("victims.id"), index=True)
    ordered_on: Mapped[date]
    amount: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(16))


class RestitutionPayment(IdMixin, TimestampMixin, Base):
    __tablename__ = "restitution_payments"
    __table_args__ = (
        positive("amount"),
        # A receipt is recorded once per order: the natural key of a payment (migration 0003).
        Index("uq_restitution_payments_order_reference", "order_id", "reference", unique=True),
    )

    order_id: Mapped[int] = mapped_column(ForeignKey("restitution_orders.id"), index=True)
    paid_on: Mapped[date]
    amount: Mapped[Decimal]
    reference: Mapped[str | None] = mapped_column(String(40))
