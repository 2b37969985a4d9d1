"""The budget unit's fiscal notes: the estimated cost of a bill, requested by legislative offices."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from resolvers.models.base import (
    Base,
    IdMixin,
    TimestampMixin,
    VersionMixin,
    one_of,
)


class FiscalNoteStatus(enum.StrEnum):
    REQUESTED = "requested"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"


class FiscalNote(IdMixin, TimestampMixin, VersionMixin, Base):
    __tablename__ = "fiscal_notes"
    __table_args__ = (
        one_of("status", FiscalNoteStatus),
        Index("ix_fiscal_notes_status_due", "status", "due_on"),
    )

    reference: Mapped[str] = mapped_column(String(20), unique=True)
    bill_number: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(String(200))
    requested_by_partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"), index=True)
    requested_on: Mapped[date]
    due_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(16))
    # The estimated cost for the next three fiscal years; negative is a saving.
    cost_year1: Mapped[Decimal | None]
    cost_year2: Mapped[Decimal | None]
    cost_year3: Mapped[Decimal | None]
    summary: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None]
