"""Small factories for research agreements and extracts."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.partners import Audience, Partner
from resolvers.models.research import ResearchAgreement, ResearchExtract
from tests.factories import partners

_seq = itertools.count(1)


async def make_research_partner(session: AsyncSession, **overrides: Any) -> Partner:
    overrides.setdefault("name", f"University Team {next(_seq)}")
    return await partners.make_partner(session, Audience.RESEARCHER, **overrides)


async def make_agreement(session: AsyncSession, partner: Partner, **overrides: Any) -> ResearchAgreement:
    n = next(_seq)
    values: dict[str, Any] = {
        "reference": f"RA-2026-{n:04d}",
        "partner_id": partner.id,
        "title": "Reparative programs and return to custody",
        "investigator": "Dr. R. Searcher",
        "institution": "State University",
        "irb_number": f"IRB-{n}",
        "irb_expires_on": date(2027, 6, 30),
        "purpose": "Evaluate ICVC completion against three-year return.",
        "requested_fields": ["sex", "icvc_completed", "returned_3y"],
        "requested_cohort": {"admitted_from": "2018-01-01", "admitted_to": "2020-12-31"},
        "status": "approved",
        "granted_fields": ["sex", "icvc_completed", "returned_3y"],
        "granted_cohort": {"admitted_from": "2018-01-01", "admitted_to": "2020-12-31"},
        "starts_on": date(2026, 1, 1),
        "ends_on": date(2027, 6, 30),
        "small_cell_threshold": 11,
        "pseudonym_key": b"\x00secret-key-never-shown",
    }
    values.update(overrides)
    agreement = ResearchAgreement(**values)
    session.add(agreement)
    await session.flush()
    return agreement


async def make_extract(
    session: AsyncSession, agreement: ResearchAgreement, **overrides: Any
) -> ResearchExtract:
    values: dict[str, Any] = {
        "agreement_id": agreement.id,
        "fields": ["sex", "returned_3y"],
        "row_count": 1200,
        "requested_by": "Dr. R. Searcher",
    }
    values.update(overrides)
    extract = ResearchExtract(**values)
    session.add(extract)
    await session.flush()
    return extract
