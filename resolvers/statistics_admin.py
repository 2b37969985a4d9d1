"""Administrators' statistics: inquiries by category and month with the median response time, and
award spending against award amounts. Computed in SQL (GROUP BY, window functions), row scope applied.

The store-specific pieces (month of a timestamp, days between two timestamps) are compiled per
dialect below; the median is one window-function statement that both stores run unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, Select, String, case, func, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from auth.principal import Principal
from auth.scopes import aggregate_scope, row_scope
from resolvers.errors import InvalidInput
from resolvers.models.grants import Disbursement, FederalAward, Subaward
from resolvers.models.inquiries import Inquiry, InquiryResponse, InquiryStatus
from resolvers.session import RequestDb

#: Longest window one call may summarise, so a statistic never scans the whole history by accident.
MAX_MONTHS = 60


class year_month(FunctionElement[str]):
    """'YYYY-MM' of a UTC timestamp."""

    type = String()
    inherit_cache = True
    name = "year_month"


@compiles(year_month)
def _year_month_pg(element: year_month, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC', 'YYYY-MM')"


@compiles(year_month, "sqlite")
def _year_month_sqlite(element: year_month, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC timestamps as ISO text: the month is its first seven characters.
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 7)"


class days_between(FunctionElement[float]):
    """Fractional days from the first timestamp to the second."""

    type = Float()
    inherit_cache = True
    name = "days_between"


@compiles(days_between)
def _days_between_pg(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end}) - ({start})) / 86400.0)"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    start, end = (compiler.process(c, **kw) for c in element.clauses)
    return f"(julianday({end}) - julianday({start}))"


def grouped_median(values: Select[*tuple[Any, ...]], groups: list[str], value: str = "value") -> Select[Any]:
    """The median of ``value`` per group of ``values``, one statement on SQLite and PostgreSQL.

    Rows are ranked within their group; the median is the middle row, or the mean of the two
    middle rows: ranks (n + 1) // 2 and (n + 2) // 2 (the same rank when n is odd).
    """
    sub = values.subquery()
    partition = [sub.c[g] for g in groups]
    ranked = select(
        *partition,
        sub.c[value].label("value"),
        func.row_number().over(partition_by=partition, order_by=sub.c[value]).label("rank"),
        func.count().over(partition_by=partition).label("n"),
    ).subquery()
    middle = (ranked.c.rank == (ranked.c.n + 1) // 2) | (ranked.c.rank == (ranked.c.n + 2) // 2)
    keys = [ranked.c[g] for g in groups]
    return select(*keys, func.avg(ranked.c.value).label("median")).where(middle).group_by(*keys)


@dataclass(frozen=True, slots=True)
class InquiryMonth:
    month: str
    category: str
    received: int
    closed: int
    responded: int
    median_response_days: float | None


def _window(start: date, end: date) -> tuple[datetime, datetime]:
    if end < start:
        raise InvalidInput("to", "must not be before from")
    if (end.year - start.year) * 12 + end.month - start.month >= MAX_MONTHS:
        raise InvalidInput("to", f"must be within {MAX_MONTHS} months of from")
    return datetime.combine(start, time(), UTC), datetime.combine(end + timedelta(days=1), time(), UTC)


async def inquiries_by_month(
    db: RequestDb, principal: Principal, start: date, end: date, category: str | None
) -> list[InquiryMonth]:
    """Inquiries received from ``start`` to ``end`` (inclusive) by month and category."""
    low, high = _window(start, end)
    first = (
        select(InquiryResponse.inquiry_id, func.min(InquiryResponse.responded_at).label("first_at"))
        .where(row_scope(principal, InquiryResponse))
        .group_by(InquiryResponse.inquiry_id)
        .subquery()
    )
    conditions = [row_scope(principal, Inquiry), Inquiry.received_at >= low, Inquiry.received_at < high]
    if category:
        conditions.append(Inquiry.category == category)
    month = year_month(Inquiry.received_at).label("month")
    counts = (
        select(
            month,
            Inquiry.category,
            func.count().label("received"),
            func.sum(case((Inquiry.status == InquiryStatus.CLOSED, 1), else_=0)).label("closed"),
            func.count(first.c.first_at).label("responded"),
        )
        .outerjoin(first, first.c.inquiry_id == Inquiry.id)
        .where(*conditions)
        .group_by(month, Inquiry.category)
        .order_by(month, Inquiry.category)
    )
    durations = (
        select(
            year_month(Inquiry.received_at).label("month"),
            Inquiry.category.label("category"),
            days_between(Inquiry.received_at, first.c.first_at).label("value"),
        )
        .join(first, first.c.inquiry_id == Inquiry.id)
        .where(*conditions)
    )
    medians = {
        (r.month, r.category): float(r.median)
        for r in await db.rows(grouped_median(durations, ["month", "category"]))
    }
    return [
        InquiryMonth(
            month=r.month,
            category=r.category,
            received=r.received,
            closed=int(r.closed or 0),
            responded=r.responded,
            median_response_days=(
                round(medians[(r.month, r.category)], 2) if (r.month, r.category) in medians else None
            ),
        )
        for r in await db.rows(counts)
    ]


@dataclass(frozen=True, slots=True)
class AwardSpending:
    award_id: int
    award_number: str
    title: str
    amount: Decimal
    spent: Decimal
    subawarded: Decimal


async def award_spending(db: RequestDb, principal: Principal, status: str | None) -> list[AwardSpending]:
    """Each award's amount against what is disbursed and subawarded, by award number (totals: a
    legislative office counts rows it cannot read one by one)."""
    spent = (
        select(Disbursement.award_id, func.sum(Disbursement.amount).label("total"))
        .where(aggregate_scope(principal, Disbursement))
        .group_by(Disbursement.award_id)
        .subquery()
    )
    subawarded = (
        select(Subaward.award_id, func.sum(Subaward.amount).label("total"))
        .where(aggregate_scope(principal, Subaward))
        .group_by(Subaward.award_id)
        .subquery()
    )
    stmt = (
        select(
            FederalAward.id,
            FederalAward.award_number,
            FederalAward.title,
            FederalAward.amount,
            func.coalesce(spent.c.total, 0).label("spent"),
            func.coalesce(subawarded.c.total, 0).label("subawarded"),
        )
        .outerjoin(spent, spent.c.award_id == FederalAward.id)
        .outerjoin(subawarded, subawarded.c.award_id == FederalAward.id)
        .where(aggregate_scope(principal, FederalAward))
    )
    if status:
        stmt = stmt.where(FederalAward.status == status)
    cents = Decimal("0.01")
    return [
        AwardSpending(
            award_id=r.id,
            award_number=r.award_number,
            title=r.title,
            amount=Decimal(r.amount).quantize(cents),
            spent=Decimal(r.spent).quantize(cents),
            subawarded=Decimal(r.subawarded).quantize(cents),
        )
        for r in await db.rows(stmt.order_by(FederalAward.award_number))
    ]
