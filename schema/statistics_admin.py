"""Statistics administrators read every week: inquiries by category and month with the median
response time, and spending against each federal award. Figures carry the aggregate class of what they count."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import strawberry

from auth.classes import FieldClass
from resolvers import statistics_admin as data
from resolvers.models.grants import AwardStatus
from resolvers.models.inquiries import InquiryCategory
from schema.context import Info
from schema.fields import classified, resolves
from schema.ids import to_global_id

INQ = FieldClass.AGGREGATES_INQUIRIES
GRANTS = FieldClass.AGGREGATES_GRANTS


@strawberry.type(description="Inquiries received in one month about one category.")
class InquiryMonthStatistic:
    month: str = classified(INQ, "The month received, YYYY-MM (UTC).")
    category: InquiryCategory = classified(INQ, "What they were about.")
    received: int = classified(INQ, "How many were received.")
    closed: int = classified(INQ, "How many of those are closed now.")
    responded: int = classified(INQ, "How many of those have had a response.")
    median_response_days: float | None = classified(
        INQ, "Median days from receipt to the first response, over those responded to; null when none."
    )


@strawberry.type(description="One federal award's amount against what has been spent and subawarded.")
class AwardSpendingStatistic:
    award_pk: strawberry.Private[int]
    award_number: str = classified(GRANTS, "The agency's award number.")
    title: str = classified(GRANTS, "Title of the award.")
    amount: Decimal = classified(GRANTS, "Amount awarded.")
    spent: Decimal = classified(GRANTS, "Disbursed so far.")
    remaining: Decimal = classified(GRANTS, "Amount less spent.")
    subawarded: Decimal = classified(GRANTS, "Committed to subrecipients.")
    percent_spent: float | None = classified(
        GRANTS, "Spent as a percentage of the amount; null for a zero award."
    )

    @resolves(GRANTS, "Global id of the award.")
    def award_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("FederalAward", self.award_pk))


@strawberry.type
class Query:
    @resolves(INQ, "Inquiries by month and category, with the median time to a first response.")
    async def inquiry_statistics(
        self,
        info: Info,
        from_: Annotated[date, strawberry.argument(name="from", description="First day (UTC).")],
        to: Annotated[date, strawberry.argument(description="Last day, within 60 months of from.")],
        category: InquiryCategory | None = None,
    ) -> list[InquiryMonthStatistic]:
        rows = await data.inquiries_by_month(
            info.context.db, info.context.principal, from_, to, category.value if category else None
        )
        return [
            InquiryMonthStatistic(
                month=r.month,
                category=InquiryCategory(r.category),
                received=r.received,
                closed=r.closed,
                responded=r.responded,
                median_response_days=r.median_response_days,
            )
            for r in rows
        ]

    @resolves(GRANTS, "Spending against each federal award, by award number.")
    async def award_spending(
        self, info: Info, status: AwardStatus | None = None
    ) -> list[AwardSpendingStatistic]:
        rows = await data.award_spending(
            info.context.db, info.context.principal, status.value if status else None
        )
        return [
            AwardSpendingStatistic(
                award_pk=r.award_id,
                award_number=r.award_number,
                title=r.title,
                amount=r.amount,
                spent=r.spent,
                remaining=r.amount - r.spent,
                subawarded=r.subawarded,
                percent_spent=None if not r.amount else round(float(r.spent / r.amount * 100), 2),
            )
            for r in rows
        ]
