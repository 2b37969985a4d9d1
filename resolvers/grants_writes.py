"""The grants unit's writes: record an award, a subaward, a disbursement, a submitted report.

Money rules hold at write time: subawards stay within the award's amount and period, and
disbursements never go beyond what remains of the award (or of the subaward they pay).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, update

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers import validation as v
from resolvers.errors import Conflict, InvalidInput, NotFound
from resolvers.grants import AwardView, awards_statement
from resolvers.models.grants import AwardReport, AwardStatus, Disbursement, FederalAward, Subaward
from resolvers.session import RequestDb
from resolvers.versioned import update_versioned

#: Assistance Listing numbers (formerly CFDA): two digits, a dot, three digits, e.g. 16.812.
_LISTING = re.compile(r"^\d{2}\.\d{3}$")


@dataclass(frozen=True, slots=True)
class NewAward:
    award_number: str
    agency: str
    assistance_listing: str
    title: str
    period_start: date
    period_end: date
    amount: Decimal


async def record_award(db: RequestDb, principal: Principal, new: NewAward) -> int:
    number = v.text("awardNumber", new.award_number, max_length=32)
    agency = v.text("agency", new.agency, max_length=120)
    listing = v.text("assistanceListing", new.assistance_listing, max_length=10)
    if not _LISTING.match(listing):
        raise InvalidInput("assistanceListing", "must look like 16.812 (two digits, a dot, three digits)")
    title = v.text("title", new.title, max_length=200)
    if new.period_end <= new.period_start:
        raise InvalidInput("periodEnd", f"must be after periodStart ({new.period_start.isoformat()})")
    if new.amount < 0:
        raise InvalidInput("amount", f"must not be negative (got {new.amount})")
    amount = v.non_negative_amount("amount", new.amount)
    taken = await db.scalar(
        select(func.count()).select_from(FederalAward).where(FederalAward.award_number == number)
    )
    if taken:
        raise Conflict("awardNumber", f"{number} is already recorded")
    award = FederalAward(
        award_number=number,
        agency=agency,
        assistance_listing=listing,
        title=title,
        period_start=new.period_start,
        period_end=new.period_end,
        amount=amount,
        status=AwardStatus.ACTIVE,
    )
    db.add(award)
    await db.flush()
    return award.id


async def _active_award(db: RequestDb, principal: Principal, award_id: int, *, lock: bool) -> AwardView:
    stmt = awards_statement(principal).where(FederalAward.id == award_id)
    if lock:
        # FOR UPDATE (PostgreSQL) keeps two concurrent drawdowns from both fitting one balance.
        stmt = stmt.with_for_update(of=FederalAward)
    rows = await db.rows_as(stmt, AwardView)
    if not rows:
        raise NotFound("FederalAward", "awardId")
    if rows[0].status != AwardStatus.ACTIVE:
        raise Conflict("awardId", "is closed; nothing more can be recorded against it")
    return rows[0]


@dataclass(frozen=True, slots=True)
class NewSubaward:
    award_id: int
    recipient: str
    amount: Decimal
    period_start: date
    period_end: date


async def record_subaward(db: RequestDb, principal: Principal, new: NewSubaward) -> int:
    recipient = v.text("recipient", new.recipient, max_length=160)
    amount = v.positive_amount("amount", new.amount)
    v.not_before("periodEnd", new.period_end, "periodStart", new.period_start)
    award = await _active_award(db, principal, new.award_id, lock=True)
    if new.period_start < award.period_start:
        raise InvalidInput("periodStart", f"must be within the award's period (from {award.period_start})")
    if new.period_end > award.period_end:
        raise InvalidInput("periodEnd", f"must be within the award's period (until {award.period_end})")
    available = Decimal(award.amount) - Decimal(award.subawarded_amount)
    if amount > available:
        raise InvalidInput(
            "amount", f"must not exceed what remains of the award to subaward ({available:.2f})"
        )
    subaward = Subaward(
        award_id=award.id,
        recipient=recipient,
        amount=amount,
        period_start=new.period_start,
        period_end=new.period_end,
    )
    db.add(subaward)
    await db.flush()
    return subaward.id


@dataclass(frozen=True, slots=True)
class NewDisbursement:
    award_id: int
    subaward_id: int | None
    kind: str
    paid_on: date
    amount: Decimal
    payee: str
    purpose: str


async def record_disbursement(db: RequestDb, principal: Principal, new: NewDisbursement, today: date) -> int:
    amount = v.positive_amount("amount", new.amount)
    paid_on = v.not_future("paidOn", new.paid_on, today)
    payee = v.text("payee", new.payee, max_length=160)
    purpose = v.text("purpose", new.purpose, max_length=200)
    award = await _active_award(db, principal, new.award_id, lock=True)
    v.not_before("paidOn", paid_on, "the award's periodStart", award.period_start)
    remaining = Decimal(award.amount) - Decimal(award.spent_amount)
    if amount > remaining:
        raise InvalidInput("amount", f"must not exceed the award's remaining balance ({remaining:.2f})")
    if new.subaward_id is not None:
        sub = await db.rows(
            select(
                Subaward.amount,
                select(func.coalesce(func.sum(Disbursement.amount), 0))
                .where(Disbursement.subaward_id == Subaward.id)
                .scalar_subquery()
                .label("paid"),
            ).where(
                row_scope(principal, Subaward), Subaward.id == new.subaward_id, Subaward.award_id == award.id
            )
        )
        if not sub:
            raise NotFound("Subaward of that award", "subawardId")
        left = Decimal(sub[0].amount) - Decimal(sub[0].paid)
        if amount > left:
            raise InvalidInput("amount", f"must not exceed the subaward's remaining balance ({left:.2f})")
    disbursement = Disbursement(
        award_id=award.id,
        subaward_id=new.subaward_id,
        kind=new.kind,
        paid_on=paid_on,
        amount=amount,
        payee=payee,
        purpose=purpose,
    )
    db.add(disbursement)
    await db.flush()
    # The award's version moves with its balance, so a reader can tell its totals changed.
    await db.execute(
        update(FederalAward).where(FederalAward.id == award.id).values(version=award.version + 1)
    )
    return disbursement.id


async def submit_report(
    db: RequestDb, principal: Principal, report_id: int, version: int, submitted_on: date | None, today: date
) -> int:
    day = v.not_future("submittedOn", submitted_on or today, today)
    rows = await db.rows(
        select(*AwardReport.__table__.columns)
        .where(row_scope(principal, AwardReport), AwardReport.id == report_id)
        .with_for_update()
    )
    if not rows:
        raise NotFound("AwardReport", "id")
    report = rows[0]
    v.check_version("report", report.version, version)
    if report.submitted_on is not None:
        raise Conflict("id", f"was already submitted on {report.submitted_on.isoformat()}")
    v.not_before("submittedOn", day, "the report's periodStart", report.period_start)
    await update_versioned(db, AwardReport, report.id, version, {"submitted_on": day}, entity="report")
    return int(report.id)
