"""Federal awards and what hangs off them: subawards, disbursements and reports."""

from __future__ import annotations

import enum
from datetime import date
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String
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


class AwardStatus(enum.StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"


class DisbursementKind(enum.StrEnum):
    DRAWDOWN = "drawdown"
    PAYMENT = "payment"


class ReportKind(enum.StrEnum):
    FINANCIAL = "financial"
    PROGRESS = "progress"


class FederalAward(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "federal_awards"
    __table_args__ = (
        one_of("status", AwardStatus),
        non_negative("amount"),
        ordered("period_start", "period_end"),
    )

    award_number: Mapped[str] = mapped_column(String(32), unique=True)
    agency: Mapped[str] = mapped_column(String(120))
    assistance_listing: Mapped[str] = mapped_column(String(10), index=True)  # e.g. 16.812
    title: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[date]
    period_end: Mapped[date]
    amount: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(16))


class Subaward(IdMixin, TimestampMixin, Base):
    __tablename__ = "subawards"
    __table_args__ = (non_negative("amount"), ordered("period_start", "period_end"))

    award_id: Mapped[int] = mapped_column(ForeignKey("federal_awards.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(160))
    amount: Mapped[Decimal]
    period_start: Mapped[date]
    period_end: Mapped[date]


class Disbursement(IdMixin, TimestampMixin, Base):
    __tablename__ = "disbursements"
    __table_args__ = (
        one_of("kind", DisbursementKind),
        positive("amount"),
        Index("ix_disbursements_award_paid", "award_id", "paid_on"),
    )

    award_id: Mapped[int] = mapped_column(ForeignKey("federal_awards.id"))
    subaward_id: Mapped[int | None] = mapped_column(ForeignKey("subawards.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    paid_on: Mapped[date]
    amount: Mapped[Decimal]
    payee: Mapped[str] = mapped_column(String(160))
    purpose: Mapped[str] = mapped_column(String(200))


class AwardReport(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "award_reports"
    __table_args__ = (
        one_of("kind", ReportKind),
        ordered("period_start", "period_end"),
        Index("ix_award_reports_due", "due_on", "submitted_on"),
    )

    award_id: Mapped[int] = mapped_column(ForeignKey("federal_awards.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    period_start: Mapped[date]
    period_end: Mapped[date]
    due_on: Mapped[date]
    submitted_on: Mapped[date | None]
