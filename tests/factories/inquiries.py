"""Small factories for constituent services' inquiries and responses."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.inquiries import Inquiry, InquiryResponse

_seq = itertools.count(1)


async def make_inquiry(session: AsyncSession, **overrides: Any) -> Inquiry:
    n = next(_seq)
    received = overrides.pop("received_at", datetime(2026, 10, 5, 14, 0, tzinfo=UTC))
    values: dict[str, Any] = {
        "reference": f"TINQ-{n:06d}",
        "source": "family",
        "category": "medical",
        "channel": "phone",
        "status": "received",
        "requester_name": "A. Mother",
        "summary": f"Inquiry {n}",
        "details": "Details of the inquiry.",
        "received_at": received,
        "due_on": (received + timedelta(days=14)).date(),
    }
    values.update(overrides)
    inquiry = Inquiry(**values)
    session.add(inquiry)
    await session.flush()
    return inquiry


async def make_response(
    session: AsyncSession, inquiry: Inquiry, *, after: timedelta = timedelta(days=2), **overrides: Any
) -> InquiryResponse:
    values: dict[str, Any] = {
        "inquiry_id": inquiry.id,
        "responded_at": inquiry.received_at + after,
        "responder": "C. Services",
        "channel": "email",
        "body": "We have looked into it.",
    }
    values.update(overrides)
    response = InquiryResponse(**values)
    session.add(response)
    await session.flush()
    return response


def days_ago(today: date, n: int) -> date:
    return today - timedelta(days=n)
