"""Data access for federal awards: awards with what is spent, subawards, disbursements and reports.

Spent, subawarded and remaining amounts are computed in the statement that reads the award
(correlated sums), so a page of awards with their totals is one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, exists, func, select

from auth.classes import FieldClass
from auth.policy import grant
from auth.principal import Principal
from auth.scopes import aggregate_scope, row_scope
from resolvers import validation as v
from resolvers.batching import one_per_key, rows_by_id, rows_by_key
from resolvers.errors import InvalidInput
from resolvers.keys import key_in
from resolvers.models.grants import AwardReport, Disbursement, FederalAward, Subaward
from resolvers.pagination import Page, paginate
from resolvers.rows import AwardReportRow, DisbursementRow, SubawardRow
from resolvers.session import RequestDb


def disbursed_on_award(principal: Principal) -> Any:
    # A total counts rows the caller may not read one by one (a legislative office's award totals).
    return (
        select(func.coalesce(func.sum(Disbursement.amount), 0))
        .where(aggregate_scope(principal, Disbursement), Disbursement.award_id == FederalAward.id)
        .scalar_subquery()
    )


def subawarded_on_award(principal: Principal) -> Any:
    return (
        select(func.coalesce(func.sum(Subaward.amount), 0))
        .where(aggregate_scope(principal, Subaward), Subaward.award_id == FederalAward.id)
        .scalar_subquery()
    )


class AwardView(NamedTuple):
    """An award (the columns of ``federal_awards``, in table order) with its sums (``awards_statement``)."""

    award_number: str
    agency: str
    assistance_listing: str
    title: str
    period_start: date
    period_end: date
    amount: Decimal
    status: str
    id: int
    created_at: datetime
    version: int
    spent_amount: Decimal
    subawarded_amount: Decimal


def awards_statement(principal: Principal) -> Select[Any]:
    """Awards the caller may see, each with ``spent_amount`` and ``subawarded_amount``."""
    return select(
        *FederalAward.__table__.columns,
        disbursed_on_award(principal).label("spent_amount"),
        subawarded_on_award(principal).label("subawarded_amount"),
    ).where(row_scope(principal, FederalAward))


@dataclass(frozen=True, slots=True)
class AwardFilter:
    status: str | None = None
    assistance_listing: str | None = None
    reports_due_from: date | None = None
    reports_due_to: date | None = None


async def list_awards(
    db: RequestDb, principal: Principal, f: AwardFilter, first: int | None, after: str | None
) -> Page[AwardView]:
    conditions: list[ColumnElement[bool]] = []
    if f.status:
        conditions.append(FederalAward.status == f.status)
    if f.assistance_listing:
        conditions.append(FederalAward.assistance_listing == f.assistance_listing.strip())
    if f.reports_due_from or f.reports_due_to:
        if not grant(principal.audience, FieldClass.GRANTS).readable:
            # Refused rather than answered empty: award reports are not in this audience's agreement.
            field = "reportsDueFrom" if f.reports_due_from else "reportsDueTo"
            raise InvalidInput(
                field, "is not available to your audience: award reports are the grants unit's"
            )
        v.not_before("reportsDueTo", f.reports_due_to, "reportsDueFrom", f.reports_due_from)
        due = [
            AwardReport.award_id == FederalAward.id,
            AwardReport.submitted_on.is_(None),
            row_scope(principal, AwardReport),
        ]
        if f.reports_due_from:
            due.append(AwardReport.due_on >= f.reports_due_from)
        if f.reports_due_to:
            due.append(AwardReport.due_on <= f.reports_due_to)
        conditions.append(exists(select(AwardReport.id).where(*due)))
    stmt = awards_statement(principal).where(*conditions)
    c = FederalAward.__table__.c
    return await paginate(db, stmt, [c.award_number, c.id], row=AwardView, first=first, after=after)


async def list_subawards(
    db: RequestDb, principal: Principal, award_id: int | None, first: int | None, after: str | None
) -> Page[SubawardRow]:
    conditions = [row_scope(principal, Subaward)]
    if award_id is not None:
        conditions.append(Subaward.award_id == award_id)
    stmt = select(*Subaward.__table__.columns).where(*conditions)
    return await paginate(db, stmt, [Subaward.__table__.c.id], row=SubawardRow, first=first, after=after)


@dataclass(frozen=True, slots=True)
class DisbursementFilter:
    award_id: int | None = None
    subaward_id: int | None = None
    kind: str | None = None
    paid_from: date | None = None
    paid_to: date | None = None


async def list_disbursements(
    db: RequestDb, principal: Principal, f: DisbursementFilter, first: int | None, after: str | None
) -> Page[DisbursementRow]:
    v.not_before("paidTo", f.paid_to, "paidFrom", f.paid_from)
    conditions = [row_scope(principal, Disbursement)]
    if f.award_id is not None:
        conditions.append(Disbursement.award_id == f.award_id)
    if f.subaward_id is not None:
        conditions.append(Disbursement.subaward_id == f.subaward_id)
    if f.kind:
        conditions.append(Disbursement.kind == f.kind)
    if f.paid_from:
        conditions.append(Disbursement.paid_on >= f.paid_from)
    if f.paid_to:
        conditions.append(Disbursement.paid_on <= f.paid_to)
    stmt = select(*Disbursement.__table__.columns).where(*conditions)
    c = Disbursement.__table__.c
    return await paginate(db, stmt, [c.paid_on, c.id], row=DisbursementRow, first=first, after=after)


@dataclass(frozen=True, slots=True)
class ReportFilter:
    award_id: int | None = None
    kind: str | None = None
    due_from: date | None = None
    due_to: date | None = None
    overdue_on: date | None = None
    submitted: bool | None = None


async def list_reports(
    db: RequestDb, principal: Principal, f: ReportFilter, first: int | None, after: str | None
) -> Page[AwardReportRow]:
    v.not_before("dueTo", f.due_to, "dueFrom", f.due_from)
    conditions = [row_scope(principal, AwardReport)]
    if f.award_id is not None:
        conditions.append(AwardReport.award_id == f.award_id)
    if f.kind:
        conditions.append(AwardReport.kind == f.kind)
    if f.due_from:
        conditions.append(AwardReport.due_on >= f.due_from)
    if f.due_to:
        conditions.append(AwardReport.due_on <= f.due_to)
    if f.overdue_on:
        conditions += [AwardReport.due_on < f.overdue_on, AwardReport.submitted_on.is_(None)]
    if f.submitted is not None:
        submitted = AwardReport.submitted_on.is_not(None)
        conditions.append(submitted if f.submitted else AwardReport.submitted_on.is_(None))
    stmt = select(*AwardReport.__table__.columns).where(*conditions)
    c = AwardReport.__table__.c
    return await paginate(db, stmt, [c.due_on, c.id], row=AwardReportRow, first=first, after=after)


# --- batch functions ------------------------------------------------------------------------------------


async def federal_awards_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[AwardView | None]:
    stmt = awards_statement(principal).where(key_in(db, FederalAward.id, ids))
    return one_per_key(await db.rows_as(stmt, AwardView), "id", ids)


async def subawards_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[SubawardRow | None]:
    return await rows_by_id(db, principal, Subaward, SubawardRow, ids)


async def subawards_by_award_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[SubawardRow]]:
    return await rows_by_key(db, principal, Subaward, SubawardRow, "award_id", ids)


async def disbursements_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[DisbursementRow | None]:
    return await rows_by_id(db, principal, Disbursement, DisbursementRow, ids)


async def disbursements_by_award_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[DisbursementRow]]:
    return await rows_by_key(db, principal, Disbursement, DisbursementRow, "award_id", ids, ("paid_on", "id"))


async def award_reports_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[AwardReportRow | None]:
    return await rows_by_id(db, principal, AwardReport, AwardReportRow, ids)


async def award_reports_by_award_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[AwardReportRow]]:
    return await rows_by_key(db, principal, AwardReport, AwardReportRow, "award_id", ids, ("due_on", "id"))
