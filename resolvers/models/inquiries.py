"""Constituent services: inquiries from families, legislative offices and the public."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from resolvers.models.base import Base, IdMixin, TimestampMixin, VersionMixin, non_negative, one_of


class InquirySource(enum.StrEnum):
    FAMILY = "family"
    LEGISLATIVE = "legislative"
    PUBLIC = "public"


class InquiryCategory(enum.StrEnum):
    MEDICAL = "medical"
    CONDUCT = "conduct"
    TRANSFER = "transfer"
    RELEASE = "release"
    VISITING = "visiting"
    PROPERTY = "property"
    CLASSIFICATION = "classification"
    PROGRAMS = "programs"
    OTHER = "other"


class InquiryChannel(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    LETTER = "letter"
    WEB = "web"
    IN_PERSON = "in_person"
    API = "api"


class InquiryStatus(enum.StrEnum):
    RECEIVED = "received"
    ASSIGNED = "assigned"
    RESPONDED = "responded"
    CLOSED = "closed"


class Inquiry(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "inquiries"
    __table_args__ = (
        one_of("source", InquirySource),
        one_of("category", InquiryCategory),
        one_of("channel", InquiryChannel),
        one_of("status", InquiryStatus),
        non_negative("reopened_count"),
        Index("ix_inquiries_status_due", "status", "due_on"),
        Index("ix_inquiries_partner_received", "partner_id", "received_at"),
    )

    reference: Mapped[str] = mapped_column(String(20), unique=True)
    source: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(16), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    # The legislative office that filed it (its own inquiries are all it sees).
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    requester_name: Mapped[str] = mapped_column(String(120))
    requester_email: Mapped[str | None] = mapped_column(String(254))
    requester_phone: Mapped[str | None] = mapped_column(String(20))
    subject_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    summary: Mapped[str] = mapped_column(String(200))
    details: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(index=True)
    due_on: Mapped[date]
    assigned_to: Mapped[str | None] = mapped_column(String(120))
    closed_at: Mapped[datetime | None]
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)


class InquiryResponse(IdMixin, TimestampMixin, Base):
    __tablename__ = "inquiry_responses"
    __table_args__ = (one_of("channel", InquiryChannel),)

    inquiry_id: Mapped[int] = mapped_column(ForeignKey("inquiries.id"), index=True)
    responded_at: Mapped[datetime]
    responder: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
