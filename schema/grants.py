"""Federal awards and what hangs off them: subawards, disbursements (drawdowns and payments), reports.

An award's identity, amount and spending are GRANT_TOTALS (legislative offices will read those);
payees, subawards and reports are GRANTS (the grants unit's detail).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import strawberry

from auth.classes import FieldClass
from resolvers import grants as data
from resolvers.grants import AwardView
from resolvers.models.grants import AwardStatus, DisbursementKind, ReportKind
from schema.context import Info
from schema.fields import classified, resolves
from schema.ids import from_global_id, to_global_id
from schema.pagination import Connection, connection
from schema.people import After, PageSize
from schema.rows import FromRow

T = FieldClass.GRANT_TOTALS
G = FieldClass.GRANTS

strawberry.enum(AwardStatus, description="Whether an award is open for spending.")
strawberry.enum(DisbursementKind, description="A drawdown from the federal agency or a payment made.")
strawberry.enum(ReportKind, description="Financial or progress report.")


def _money(value: Any) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


@strawberry.type(description="A federal award to the department.")
class FederalAward:
    pk: strawberry.Private[int]
    award_number: str = classified(T, "The agency's award number.")
    agency: str = classified(T, "Awarding federal agency.")
    assistance_listing: str = classified(T, "Assistance Listing (CFDA) number, e.g. 16.812.")
    title: str = classified(T, "Title of the award.")
    period_start: date = classified(T, "First day of the period of performance.")
    period_end: date = classified(T, "Last day of the period of performance.")
    amount: Decimal = classified(T, "Amount awarded.")
    spent_amount: Decimal = classified(T, "Disbursed so far.")
    remaining_amount: Decimal = classified(T, "Amount awarded less disbursed.")
    subawarded_amount: Decimal = classified(G, "Committed to subrecipients.")
    status: AwardStatus = classified(T, "Active or closed.")
    version: int = classified(G, "Changes with every write to the award or its balance.")

    @resolves(T, "Opaque global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("FederalAward", self.pk))

    @resolves(G, "Subawards to subrecipients.")
    async def subawards(self, info: Info) -> list[Subaward]:
        rows = await info.context.loaders.subawards_by_award_id.load(self.pk)
        return [Subaward.from_row(r) for r in rows]

    @resolves(G, "Drawdowns and payments, oldest first.")
    async def disbursements(self, info: Info) -> list[Disbursement]:
        rows = await info.context.loaders.disbursements_by_award_id.load(self.pk)
        return [Disbursement.from_row(r) for r in rows]

    @resolves(G, "Financial and progress reports, by due date.")
    async def reports(self, info: Info) -> list[AwardReport]:
        rows = await info.context.loaders.award_reports_by_award_id.load(self.pk)
        return [AwardReport.from_row(r) for r in rows]

    @classmethod
    def from_row(cls, row: AwardView) -> FederalAward:
        amount, spent = _money(row.amount), _money(row.spent_amount)
        return cls(
            pk=row.id,
            award_number=row.award_number,
            agency=row.agency,
            assistance_listing=row.assistance_listing,
            title=row.title,
            period_start=row.period_start,
            period_end=row.period_end,
            amount=amount,
            spent_amount=spent,
            remaining_amount=amount - spent,
            subawarded_amount=_money(row.subawarded_amount),
            status=AwardStatus(row.status),
            version=row.version,
        )


async def _award(info: Info, pk: int) -> FederalAward | None:
    row = await info.context.loaders.federal_awards_by_id.load(pk)
    return None if row is None else FederalAward.from_row(row)


@strawberry.type(description="Part of an award passed to a subrecipient.")
class Subaward(FromRow):
    pk: strawberry.Private[int]
    award_pk: strawberry.Private[int]
    recipient: str = classified(G, "The subrecipient.")
    amount: Decimal = classified(G, "Amount subawarded.")
    period_start: date = classified(G, "Start of the subaward.")
    period_end: date = classified(G, "End of the subaward.")

    @resolves(G, "Opaque global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Subaward", self.pk))

    @resolves(G, "The award it is part of.")
    async def award(self, info: Info) -> FederalAward | None:
        return await _award(info, self.award_pk)


@strawberry.type(description="Money drawn down or paid out under an award.")
class Disbursement(FromRow):
    pk: strawberry.Private[int]
    award_pk: strawberry.Private[int]
    subaward_pk: strawberry.Private[int | None]
    kind: DisbursementKind = classified(G, "Drawdown or payment.")
    paid_on: date = classified(G, "When the money moved.")
    amount: Decimal = classified(G, "Amount.")
    payee: str = classified(G, "Who was paid.")
    purpose: str = classified(G, "What for.")

    @resolves(G, "Opaque global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Disbursement", self.pk))

    @resolves(G, "The award it is charged to.")
    async def award(self, info: Info) -> FederalAward | None:
        return await _award(info, self.award_pk)

    @resolves(G, "The subaward it pays, if any.")
    async def subaward(self, info: Info) -> Subaward | None:
        if self.subaward_pk is None:
            return None
        row = await info.context.loaders.subawards_by_id.load(self.subaward_pk)
        return None if row is None else Subaward.from_row(row)


@strawberry.type(description="A financial or progress report owed to the awarding agency.")
class AwardReport(FromRow):
    pk: strawberry.Private[int]
    award_pk: strawberry.Private[int]
    kind: ReportKind = classified(G, "Financial or progress.")
    period_start: date = classified(G, "Start of the period reported on.")
    period_end: date = classified(G, "End of the period reported on.")
    due_on: date = classified(G, "When it is due.")
    submitted_on: date | None = classified(G, "When it was submitted; empty until then.")
    version: int = classified(G, "Send this back when submitting; a stale version is refused.")

    @resolves(G, "Opaque global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("AwardReport", self.pk))

    @resolves(G, "Not submitted and past its due date.")
    def overdue(self, info: Info) -> bool:
        return self.submitted_on is None and self.due_on < info.context.now.date()

    @resolves(G, "The award it reports on.")
    async def award(self, info: Info) -> FederalAward | None:
        return await _award(info, self.award_pk)


def _pk(kind: str, value: strawberry.ID | None, field: str) -> int | None:
    return None if value is None else from_global_id(kind, value, field)


@strawberry.type
class Query:
    @resolves(T, "Federal awards by award number, with spending against each.")
    async def federal_awards(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        status: AwardStatus | None = None,
        assistance_listing: str | None = None,
        reports_due_from: Annotated[
            date | None, strawberry.argument(description="Awards with an unsubmitted report due from…")
        ] = None,
        reports_due_to: Annotated[date | None, strawberry.argument(description="…until this day.")] = None,
    ) -> Connection[FederalAward]:
        f = data.AwardFilter(
            status=status.value if status else None,
            assistance_listing=assistance_listing,
            reports_due_from=reports_due_from,
            reports_due_to=reports_due_to,
        )
        page = await data.list_awards(info.context.db, info.context.principal, f, first, after)
        return connection(page, FederalAward.from_row)

    @resolves(T, "One award by global id.")
    async def federal_award(self, info: Info, id: strawberry.ID) -> FederalAward | None:
        return await _award(info, from_global_id("FederalAward", id))

    @resolves(G, "Subawards, optionally of one award.")
    async def subawards(
        self, info: Info, first: PageSize = None, after: After = None, award_id: strawberry.ID | None = None
    ) -> Connection[Subaward]:
        page = await data.list_subawards(
            info.context.db, info.context.principal, _pk("FederalAward", award_id, "awardId"), first, after
        )
        return connection(page, Subaward.from_row)

    @resolves(G, "Drawdowns and payments, oldest first.")
    async def disbursements(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        award_id: strawberry.ID | None = None,
        subaward_id: strawberry.ID | None = None,
        kind: DisbursementKind | None = None,
        paid_from: date | None = None,
        paid_to: date | None = None,
    ) -> Connection[Disbursement]:
        f = data.DisbursementFilter(
            award_id=_pk("FederalAward", award_id, "awardId"),
            subaward_id=_pk("Subaward", subaward_id, "subawardId"),
            kind=kind.value if kind else None,
            paid_from=paid_from,
            paid_to=paid_to,
        )
        page = await data.list_disbursements(info.context.db, info.context.principal, f, first, after)
        return connection(page, Disbursement.from_row)

    @resolves(G, "Award reports by due date: due in a window, overdue, submitted or not.")
    async def award_reports(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        award_id: strawberry.ID | None = None,
        kind: ReportKind | None = None,
        due_from: date | None = None,
        due_to: date | None = None,
        overdue: Annotated[
            bool, strawberry.argument(description="Only unsubmitted reports past their due date.")
        ] = False,
        submitted: Annotated[
            bool | None, strawberry.argument(description="true: submitted only; false: not yet submitted.")
        ] = None,
    ) -> Connection[AwardReport]:
        f = data.ReportFilter(
            award_id=_pk("FederalAward", award_id, "awardId"),
            kind=kind.value if kind else None,
            due_from=due_from,
            due_to=due_to,
            overdue_on=info.context.now.date() if overdue else None,
            submitted=submitted,
        )
        page = await data.list_reports(info.context.db, info.context.principal, f, first, after)
        return connection(page, AwardReport.from_row)
