"""Small factories for reentry partners, referrals and consents; every column can be overridden."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.partners import Audience, Partner
from resolvers.models.people import Person
from resolvers.models.reentry import Consent, ConsentGrant, Referral
from tests.factories import partners

_seq = itertools.count(1)


async def make_reentry_partner(session: AsyncSession, **overrides: Any) -> Partner:
    overrides.setdefault("name", f"Test Reentry Partner {next(_seq)}")
    return await partners.make_partner(session, Audience.REENTRY, **overrides)


async def make_referral(
    session: AsyncSession, person: Person, partner: Partner, **overrides: Any
) -> Referral:
    values: dict[str, Any] = {
        "person_id": person.id,
        "partner_id": partner.id,
        "service_type": "housing",
        "referred_on": date(2025, 1, 10),
        "status": "open",
    }
    values.update(overrides)
    referral = Referral(**values)
    session.add(referral)
    await session.flush()
    return referral


async def make_consent(
    session: AsyncSession,
    person: Person,
    partner: Partner,
    categories: tuple[str, ...] = ("identity", "release"),
    **overrides: Any,
) -> Consent:
    values: dict[str, Any] = {
        "person_id": person.id,
        "partner_id": partner.id,
        "purpose": "Housing placement",
        "signed_on": date(2025, 1, 10),
        "expires_on": date(2099, 1, 10),
    }
    values.update(overrides)
    consent = Consent(**values)
    session.add(consent)
    await session.flush()
    for category in categories:
        session.add(ConsentGrant(consent_id=consent.id, category=category))
    await session.flush()
    return consent
