"""The research agreement workflow: a researcher submits a request; the research unit approves it
(with the fields, cohort, dates, tier and small-cell threshold or k it grants) or rejects it, and may revoke an
approved one; an approved agreement expires after its last day.

submitted -> approved -> revoked | expired; submitted -> rejected. Every transition bumps the row's
version, stamps who decided and when, and appends an event to the audit ledger. The pseudonym key is
drawn at approval and destroyed (set to NULL) by revocation and expiry.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import record_event
from auth.principal import Principal
from resolvers import validation as v
from resolvers.errors import Conflict, InvalidInput, NotFound
from resolvers.models.people import Facility
from resolvers.models.research import AgreementStatus, AgreementTier, ResearchAgreement
from resolvers.research import AgreementView, agreements_statement
from resolvers.research_pseudonyms import new_key
from resolvers.research_terms import Cohort, parse_fields
from resolvers.session import RequestDb
from resolvers.suppression import DEFAULT_THRESHOLD
from resolvers.versioned import update_versioned

MAX_THRESHOLD = 1000
#: The smallest k a record-tier release may have: k = 1 would release every record as it is.
MIN_K = 2


@dataclass(frozen=True, slots=True)
class Request:
    title: str
    investigator: str
    institution: str
    irb_number: str
    irb_expires_on: date
    purpose: str
    fields: Sequence[str]
    cohort: Cohort


@dataclass(frozen=True, slots=True)
class Approval:
    agreement_id: int
    version: int
    fields: Sequence[str]
    cohort: Cohort
    starts_on: date
    ends_on: date
    small_cell_threshold: int | None
    note: str | None
    tier: AgreementTier = AgreementTier.AGGREGATE


def _decider(principal: Principal) -> str:
    return principal.subject or principal.client_id or principal.audience.value


async def _record(db: RequestDb, principal: Principal, kind: str, row: Any, **detail: Any) -> None:
    await db.uncounted(
        lambda: record_event(
            db.session,
            kind=f"research_agreement.{kind}",
            partner_id=principal.partner_id,
            client_id=principal.client_id,
            staff_subject=principal.subject,
            audience=principal.audience.value,
            detail={"agreement": int(row.id), "reference": row.reference, **detail},
        ),
    )


async def _check_facilities(db: RequestDb, field: str, codes: Sequence[str]) -> None:
    if not codes:
        return
    known = set(await db.scalars(select(Facility.code).where(Facility.code.in_(codes))))
    unknown = sorted(set(codes) - known)
    if unknown:
        raise InvalidInput(field, f"names unknown facility codes: {', '.join(unknown)}")


async def submit_request(db: RequestDb, principal: Principal, request: Request, now: datetime) -> int:
    if principal.partner_id is None:
        raise InvalidInput("partner", "only a research partner's client can submit a research request")
    today = now.date()
    if request.irb_expires_on <= today:
        raise InvalidInput(
            "irbExpiresOn", f"has passed ({request.irb_expires_on.isoformat()}); renew the IRB approval first"
        )
    fields = parse_fields("fields", request.fields)
    await _check_facilities(db, "cohort.facilities", request.cohort.facilities)
    agreement = ResearchAgreement(
        reference=f"pending-{uuid.uuid4().hex[:12]}",
        partner_id=principal.partner_id,
        title=v.text("title", request.title, max_length=200),
        investigator=v.text("investigator", request.investigator, max_length=120),
        institution=v.text("institution", request.institution, max_length=160),
        irb_number=v.text("irbNumber", request.irb_number, max_length=40),
        irb_expires_on=request.irb_expires_on,
        purpose=v.text("purpose", request.purpose, max_length=10_000),
        requested_fields=fields,
        requested_cohort=request.cohort.to_json(),
        small_cell_threshold=DEFAULT_THRESHOLD,
        status=AgreementStatus.SUBMITTED,
    )
    db.add(agreement)
    await db.flush()
    agreement.reference = f"RA-{now.year}-{agreement.id:04d}"
    await db.flush()
    await _record(db, principal, "submitted", agreement, fields=fields)
    return agreement.id


async def _locked(db: RequestDb, principal: Principal, agreement_id: int, version: int) -> AgreementView:
    # The readable columns (never the pseudonym key), in the caller's row scope, locked.
    rows = await db.rows_as(
        agreements_statement(principal)
        .where(ResearchAgreement.id == agreement_id)
        .with_for_update(of=ResearchAgreement),
        AgreementView,
    )
    if not rows:
        raise NotFound("ResearchAgreement", "id")
    v.check_version("research agreement", rows[0].version, version)
    return rows[0]


def _transition(row: AgreementView, action: str, allowed_from: AgreementStatus) -> None:
    if row.status != allowed_from:
        raise Conflict(
            "id", f"cannot {action} an agreement that is {row.status}; only a {allowed_from} one can be"
        )


async def _apply(db: RequestDb, row: AgreementView, **values: Any) -> None:
    await update_versioned(db, ResearchAgreement, row.id, row.version, values, entity="agreement")


async def approve(db: RequestDb, principal: Principal, approval: Approval, now: datetime) -> int:
    row = await _locked(db, principal, approval.agreement_id, approval.version)
    _transition(row, "approve", AgreementStatus.SUBMITTED)
    today = now.date()
    if row.irb_expires_on < today:
        raise Conflict(
            "irbExpiresOn",
            f"the IRB approval expired on {row.irb_expires_on.isoformat()}; it must be renewed first",
        )
    fields = parse_fields("grantedFields", approval.fields)
    beyond = sorted(set(fields) - set(row.requested_fields))
    if beyond:
        raise InvalidInput("grantedFields", f"grants fields that were not requested: {', '.join(beyond)}")
    await _check_facilities(db, "grantedCohort.facilities", approval.cohort.facilities)
    v.not_before("endsOn", approval.ends_on, "startsOn", approval.starts_on)
    v.not_before("endsOn", approval.ends_on, "today", today)
    if approval.ends_on > row.irb_expires_on:
        raise InvalidInput(
            "endsOn", f"must not be after the IRB approval expires ({row.irb_expires_on.isoformat()})"
        )
    threshold = DEFAULT_THRESHOLD if approval.small_cell_threshold is None else approval.small_cell_threshold
    if not 1 <= threshold <= MAX_THRESHOLD:
        raise InvalidInput("smallCellThreshold", f"must be between 1 and {MAX_THRESHOLD} (got {threshold})")
    if approval.tier is AgreementTier.RECORD and threshold < MIN_K:
        raise InvalidInput(
            "smallCellThreshold", f"is the record tier's k and must be at least {MIN_K} (got {threshold})"
        )
    await _apply(
        db,
        row,
        status=AgreementStatus.APPROVED,
        granted_fields=fields,
        granted_cohort=approval.cohort.to_json(),
        starts_on=approval.starts_on,
        ends_on=approval.ends_on,
        small_cell_threshold=threshold,
        tier=approval.tier,
        pseudonym_key=new_key(),
        decided_at=now,
        decided_by=_decider(principal),
        decision_note=v.optional_text("note", approval.note, max_length=500),
    )
    await _record(
        db,
        principal,
        "approved",
        row,
        fields=fields,
        cohort=approval.cohort.to_json(),
        starts_on=approval.starts_on.isoformat(),
        ends_on=approval.ends_on.isoformat(),
        threshold=threshold,
        tier=approval.tier.value,
    )
    return int(row.id)


async def reject(
    db: RequestDb, principal: Principal, agreement_id: int, version: int, note: str, now: datetime
) -> int:
    row = await _locked(db, principal, agreement_id, version)
    _transition(row, "reject", AgreementStatus.SUBMITTED)
    reasons = v.text("note", note, max_length=500)
    await _apply(
        db,
        row,
        status=AgreementStatus.REJECTED,
        decided_at=now,
        decided_by=_decider(principal),
        decision_note=reasons,
    )
    await _record(db, principal, "rejected", row, note=reasons)
    return int(row.id)


async def revoke(
    db: RequestDb, principal: Principal, agreement_id: int, version: int, note: str, now: datetime
) -> int:
    """Close an approved agreement now: access ends with the next request and its key is destroyed."""
    row = await _locked(db, principal, agreement_id, version)
    _transition(row, "revoke", AgreementStatus.APPROVED)
    reasons = v.text("note", note, max_length=500)
    await _apply(
        db,
        row,
        status=AgreementStatus.REVOKED,
        pseudonym_key=None,
        decided_at=now,
        decided_by=_decider(principal),
        decision_note=reasons,
    )
    await _record(db, principal, "revoked", row, note=reasons)
    return int(row.id)


async def expire_agreements(session: AsyncSession, today: date) -> list[int]:
    """Mark approved agreements past their last day expired and destroy their keys (`hub research
    expire`, daily). Access does not wait for this: an agreement past its end date is closed anyway."""
    ids = list(
        await session.scalars(
            select(ResearchAgreement.id).where(
                ResearchAgreement.status == AgreementStatus.APPROVED, ResearchAgreement.ends_on < today
            )
        )
    )
    if not ids:
        return []
    await session.execute(
        update(ResearchAgreement)
        .where(ResearchAgreement.id.in_(ids))
        .values(status=AgreementStatus.EXPIRED, pseudonym_key=None, version=ResearchAgreement.version + 1)
    )
    for agreement_id in ids:
        await record_event(session, kind="research_agreement.expired", detail={"agreement": agreement_id})
    return ids
