"""Data access for reentry: referrals to partners, release-of-information consents, services delivered."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, select

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers import validation as v
from resolvers.batching import many_per_key, one_per_key, rows_by_id, rows_by_key
from resolvers.keys import key_in
from resolvers.models.partners import Partner
from resolvers.models.reentry import Consent, ConsentGrant, Referral, ServiceDelivered
from resolvers.pagination import Page, paginate
from resolvers.rows import ConsentGrantRow, ConsentRow, ServiceDeliveredRow
from resolvers.session import RequestDb


def _referrals() -> Any:
    """Referral columns and the partner's name, which every referral shows."""
    return select(*Referral.__table__.c, Partner.name.label("partner_name")).join(
        Partner, Partner.id == Referral.partner_id
    )


@dataclass(frozen=True, slots=True)
class ReferralFilter:
    status: str | None = None
    service_type: str | None = None
    partner_id: int | None = None
    person_id: int | None = None


class ReferralView(NamedTuple):
    """A referral (the columns of ``referrals``, in table order) and its partner's name (``_referrals``)."""

    person_id: int
    partner_id: int
    service_type: str
    referred_on: date
    status: str
    notes: str | None
    closed_on: date | None
    closure_reason: str | None
    id: int
    created_at: datetime
    version: int
    partner_name: str


async def list_referrals(
    db: RequestDb, principal: Principal, f: ReferralFilter, first: int | None, after: str | None
) -> Page[ReferralView]:
    conditions = [row_scope(principal, Referral), *referral_conditions(f)]
    c = Referral.__table__.c
    order = [c[name] for name in REFERRAL_ORDER]
    return await paginate(
        db, _referrals().where(*conditions), order, row=ReferralView, first=first, after=after
    )


def referral_conditions(f: ReferralFilter) -> list[ColumnElement[bool]]:
    """The filter's conditions (the row scope is the caller's to add)."""
    conditions: list[ColumnElement[bool]] = []
    if f.status is not None:
        conditions.append(Referral.status == f.status)
    if f.service_type is not None:
        conditions.append(Referral.service_type == f.service_type)
    if f.partner_id is not None:
        conditions.append(Referral.partner_id == f.partner_id)
    if f.person_id is not None:
        conditions.append(Referral.person_id == f.person_id)
    return conditions


@dataclass(frozen=True, slots=True)
class ConsentFilter:
    person_id: int | None = None
    partner_id: int | None = None
    #: Only consents in force on this day (not revoked, signed by it, not expired).
    active_on: date | None = None


@dataclass(frozen=True, slots=True)
class ServiceFilter:
    referral_id: int | None = None
    person_id: int | None = None
    delivered_from: date | None = None
    delivered_to: date | None = None


#: Each list's keyset order (the last column unique), shared with the compiled reads.
REFERRAL_ORDER = ("referred_on", "id")
CONSENT_ORDER = ("signed_on", "id")
SERVICE_ORDER = ("delivered_on", "id")


def consent_conditions(f: ConsentFilter) -> list[ColumnElement[bool]]:
    """The filter's conditions (the row scope is the caller's to add), here and in compiled reads."""
    conditions: list[ColumnElement[bool]] = []
    if f.person_id is not None:
        conditions.append(Consent.person_id == f.person_id)
    if f.partner_id is not None:
        conditions.append(Consent.partner_id == f.partner_id)
    if f.active_on is not None:
        conditions += [
            Consent.revoked_on.is_(None),
            Consent.signed_on <= f.active_on,
            Consent.expires_on >= f.active_on,
        ]
    return conditions


async def list_consents(
    db: RequestDb, principal: Principal, f: ConsentFilter, first: int | None, after: str | None
) -> Page[ConsentRow]:
    c = Consent.__table__.c
    stmt = select(*c).where(row_scope(principal, Consent), *consent_conditions(f))
    return await paginate(
        db, stmt, [c[name] for name in CONSENT_ORDER], row=ConsentRow, first=first, after=after
    )


def service_conditions(f: ServiceFilter) -> list[ColumnElement[bool]]:
    """The filter's conditions (the row scope is the caller's to add); a range that ends before it
    starts is refused (``InvalidInput`` on ``deliveredTo``)."""
    conditions: list[ColumnElement[bool]] = []
    if f.referral_id is not None:
        conditions.append(ServiceDelivered.referral_id == f.referral_id)
    if f.person_id is not None:
        conditions.append(ServiceDelivered.person_id == f.person_id)
    if f.delivered_from is not None:
        conditions.append(ServiceDelivered.delivered_on >= f.delivered_from)
    if f.delivered_to is not None:
        v.not_before("deliveredTo", f.delivered_to, "deliveredFrom", f.delivered_from)
        conditions.append(ServiceDelivered.delivered_on <= f.delivered_to)
    return conditions


async def list_services(
    db: RequestDb, principal: Principal, f: ServiceFilter, first: int | None, after: str | None
) -> Page[ServiceDeliveredRow]:
    c = ServiceDelivered.__table__.c
    stmt = select(*c).where(row_scope(principal, ServiceDelivered), *service_conditions(f))
    return await paginate(
        db, stmt, [c[name] for name in SERVICE_ORDER], row=ServiceDeliveredRow, first=first, after=after
    )


async def referrals_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[ReferralView | None]:
    stmt = _referrals().where(row_scope(principal, Referral), key_in(db, Referral.id, ids))
    return one_per_key(await db.rows_as(stmt, ReferralView), "id", ids)


async def referrals_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[ReferralView]]:
    stmt = (
        _referrals()
        .where(row_scope(principal, Referral), key_in(db, Referral.person_id, ids))
        .order_by(Referral.referred_on, Referral.id)
    )
    return many_per_key(await db.rows_as(stmt, ReferralView), "person_id", ids)


async def consents_by_id(db: RequestDb, principal: Principal, ids: Sequence[int]) -> list[ConsentRow | None]:
    return await rows_by_id(db, principal, Consent, ConsentRow, ids)


async def consents_by_person_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[ConsentRow]]:
    return await rows_by_key(db, principal, Consent, ConsentRow, "person_id", ids, ("signed_on", "id"))


async def consent_categories_by_consent_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[str]]:
    c = ConsentGrant.__table__.c
    stmt = (
        select(*c)
        .where(row_scope(principal, ConsentGrant), key_in(db, c.consent_id, ids))
        .order_by(c.category)
    )
    return [
        [row.category for row in rows]
        for rows in many_per_key(await db.rows_as(stmt, ConsentGrantRow), "consent_id", ids)
    ]


async def services_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[ServiceDeliveredRow | None]:
    return await rows_by_id(db, principal, ServiceDelivered, ServiceDeliveredRow, ids)


async def services_by_referral_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[ServiceDeliveredRow]]:
    return await rows_by_key(
        db, principal, ServiceDelivered, ServiceDeliveredRow, "referral_id", ids, ("delivered_on", "id")
    )
