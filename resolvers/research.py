"""Data access for research agreements ("Research Agreement and Data Request") and their extracts.

The agreement's pseudonym key never leaves this module: every statement names its columns and
``pseudonym_key`` is not among them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, select

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers.batching import many_per_key, one_per_key
from resolvers.keys import key_in
from resolvers.models.partners import Partner
from resolvers.models.research import ResearchAgreement, ResearchExtract
from resolvers.pagination import Page, paginate
from resolvers.rows import ResearchExtractRow
from resolvers.session import RequestDb

#: Every column a reader may get; the pseudonym key is deliberately absent.
READABLE = tuple(c for c in ResearchAgreement.__table__.columns if c.key != "pseudonym_key")


class AgreementView(NamedTuple):
    """A research agreement's readable columns (``READABLE``: all but the pseudonym key, in table
    order) and its partner's name (``agreements_statement``)."""

    reference: str
    partner_id: int
    title: str
    investigator: str
    institution: str
    irb_number: str
    irb_expires_on: date
    purpose: str
    requested_fields: list[str]
    requested_cohort: dict[str, Any]
    granted_fields: list[str] | None
    granted_cohort: dict[str, Any] | None
    starts_on: date | None
    ends_on: date | None
    small_cell_threshold: int
    tier: str
    status: str
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str | None
    id: int
    created_at: datetime
    version: int
    partner_name: str


def agreements_statement(principal: Principal) -> Select[Any]:
    """Agreements the caller may see: their readable columns (never the pseudonym key) and partner."""
    return (
        select(*READABLE, Partner.name.label("partner_name"))
        .join(Partner, Partner.id == ResearchAgreement.partner_id)
        .where(row_scope(principal, ResearchAgreement))
    )


async def list_research_agreements(
    db: RequestDb, principal: Principal, status: str | None, first: int | None, after: str | None
) -> Page[AgreementView]:
    stmt = agreements_statement(principal)
    if status:
        stmt = stmt.where(ResearchAgreement.status == status)
    return await paginate(
        db, stmt, [ResearchAgreement.__table__.c.id], row=AgreementView, first=first, after=after
    )


async def research_agreements_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[AgreementView | None]:
    stmt = agreements_statement(principal).where(key_in(db, ResearchAgreement.id, ids))
    return one_per_key(await db.rows_as(stmt, AgreementView), "id", ids)


async def research_extracts_by_agreement_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[ResearchExtractRow]]:
    stmt = (
        select(*ResearchExtract.__table__.columns)
        .where(row_scope(principal, ResearchExtract), key_in(db, ResearchExtract.agreement_id, ids))
        .order_by(ResearchExtract.created_at, ResearchExtract.id)
    )
    return many_per_key(await db.rows_as(stmt, ResearchExtractRow), "agreement_id", ids)
