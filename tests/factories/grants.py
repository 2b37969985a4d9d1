"""Small factories for federal awards, their subawards, disbursements and reports, fiscal notes and
the legislative offices that request them."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.fiscal_notes import FiscalNote
from resolvers.models.grants import AwardReport, Disbursement, FederalAward, Subaward
from resolvers.models.partners import Audience, Partner
from tests.factories import partners

_seq = itertools.count(1)


async def _add(session: AsyncSession, row: Any) -> Any:
    session.add(row)
    await session.flush()
    return row


async def make_partner(session: AsyncSession, **overrides: Any) -> Partner:
    """A legislative office (the partner that requests fiscal notes)."""
    overrides.setdefault("name", f"Office of Representative {next(_seq)}")
    return await partners.make_partner(session, Audience.LEGISLATIVE, **overrides)


async def make_award(session: AsyncSession, **overrides: Any) -> FederalAward:
    n = next(_seq)
    values: dict[str, Any] = {
        "award_number": f"15PBJA-26-GG-{n:05d}",
        "agency": "Bureau of Justice Assistance",
        "assistance_listing": "16.812",
        "title": f"Second Chance Act reentry {n}",
        "period_start": date(2025, 10, 1),
        "period_end": date(2028, 9, 30),
        "amount": Decimal("750000.00"),
        "status": "active",
    }
    values.update(overrides)
    award: FederalAward = await _add(session, FederalAward(**values))
    return award


async def make_subaward(session: AsyncSession, award: FederalAward, **overrides: Any) -> Subaward:
    values: dict[str, Any] = {
        "award_id": award.id,
        "recipient": "Housing First Cole County",
        "amount": Decimal("100000.00"),
        "period_start": award.period_start,
        "period_end": award.period_end,
    }
    values.update(overrides)
    subaward: Subaward = await _add(session, Subaward(**values))
    return subaward


async def make_disbursement(session: AsyncSession, award: FederalAward, **overrides: Any) -> Disbursement:
    values: dict[str, Any] = {
        "award_id": award.id,
        "kind": "drawdown",
        "paid_on": date(2026, 1, 15),
        "amount": Decimal("50000.00"),
        "payee": "State Treasury",
        "purpose": "Quarterly drawdown",
    }
    values.update(overrides)
    disbursement: Disbursement = await _add(session, Disbursement(**values))
    return disbursement


async def make_report(session: AsyncSession, award: FederalAward, **overrides: Any) -> AwardReport:
    values: dict[str, Any] = {
        "award_id": award.id,
        "kind": "financial",
        "period_start": date(2026, 7, 1),
        "period_end": date(2026, 9, 30),
        "due_on": date(2026, 10, 30),
        "submitted_on": None,
    }
    values.update(overrides)
    report: AwardReport = await _add(session, AwardReport(**values))
    return report


async def make_fiscal_note(session: AsyncSession, **overrides: Any) -> FiscalNote:
    n = next(_seq)
    values: dict[str, Any] = {
        "reference": f"TFN-{n:06d}",
        "bill_number": f"HB {n}",
        "title": f"Bill {n}",
        "requested_on": date(2026, 11, 1),
        "due_on": date(2026, 12, 1),
        "status": "requested",
    }
    values.update(overrides)
    note: FiscalNote = await _add(session, FiscalNote(**values))
    return note
