"""Row scopes: for each table, the SQL condition on the rows an audience may reach.

Every list, look-up by id, relation, filter and statistic adds ``row_scope(principal, Model)``
to its statement; no resolver writes its own partner filter. A table without an entry here is
out of reach for everyone but ``admin`` (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true

from auth.principal import Principal
from resolvers.models.base import Base
from resolvers.models.grants import (
    AwardReport,
    Disbursement,
    FederalAward,
    FiscalNote,
    FiscalNoteStatus,
    Subaward,
)
from resolvers.models.inquiries import Inquiry, InquiryResponse
from resolvers.models.partners import Audience
from resolvers.models.people import Facility, Person, PersonStatus
from resolvers.models.programs import Referral
from resolvers.models.research import ResearchAgreement, ResearchExtract
from resolvers.models.victims import (
    DeliveryAttempt,
    HearingParticipation,
    ImpactStatement,
    Notification,
    NotificationPreference,
    ProtectionCondition,
    RestitutionOrder,
    RestitutionPayment,
    Victim,
    VictimRegistration,
)

Scope = Callable[[Principal], ColumnElement[bool]]

#: Audiences that read the department's people records without a row restriction.
_DEPARTMENT_PEOPLE = frozenset(
    {
        Audience.CONSTITUENT_SERVICES,
        Audience.VICTIM_SERVICES,
        Audience.PROGRAMS,
        Audience.RESEARCH_UNIT,
        Audience.ADMIN,
    }
)


def _people(principal: Principal) -> ColumnElement[bool]:
    if principal.audience in _DEPARTMENT_PEOPLE:
        return true()
    if principal.audience is Audience.LEGISLATIVE:
        # The public tier: people not yet discharged.
        return Person.status != PersonStatus.DISCHARGED
    if principal.audience is Audience.REENTRY and principal.partner_id is not None:
        return exists(
            select(Referral.id).where(
                Referral.person_id == Person.id, Referral.partner_id == principal.partner_id
            )
        )
    return false()


def _reference(principal: Principal) -> ColumnElement[bool]:
    return true()


def _inquiries(principal: Principal) -> ColumnElement[bool]:
    if principal.audience in (Audience.CONSTITUENT_SERVICES, Audience.ADMIN):
        return true()
    if principal.audience is Audience.LEGISLATIVE and principal.partner_id is not None:
        return Inquiry.partner_id == principal.partner_id
    return false()


def _inquiry_responses(principal: Principal) -> ColumnElement[bool]:
    # A response is visible exactly when its inquiry is.
    return InquiryResponse.inquiry_id.in_(select(Inquiry.id).where(_inquiries(principal)))


def _victims(principal: Principal) -> ColumnElement[bool]:
    # Victims' identity, contacts and even whether a registration exists: victim services only,
    # not even admin (the matrix says N).
    return true() if principal.audience is Audience.VICTIM_SERVICES else false()


def _grants(principal: Principal) -> ColumnElement[bool]:
    # Legislative offices will read award totals through the field policy (a later issue).
    return true() if principal.audience in (Audience.BUDGET_GRANTS, Audience.ADMIN) else false()


def _fiscal_notes(principal: Principal) -> ColumnElement[bool]:
    if principal.audience in (Audience.BUDGET_GRANTS, Audience.ADMIN):
        return true()
    if principal.audience is Audience.LEGISLATIVE:
        submitted = FiscalNote.status == FiscalNoteStatus.SUBMITTED
        if principal.partner_id is None:
            return submitted
        return or_(submitted, FiscalNote.requested_by_partner_id == principal.partner_id)
    return false()


def _research_agreements(principal: Principal) -> ColumnElement[bool]:
    if principal.audience in (Audience.RESEARCH_UNIT, Audience.ADMIN):
        return true()
    if principal.audience is Audience.RESEARCHER and principal.partner_id is not None:
        return ResearchAgreement.partner_id == principal.partner_id
    return false()


def _research_extracts(principal: Principal) -> ColumnElement[bool]:
    return ResearchExtract.agreement_id.in_(
        select(ResearchAgreement.id).where(_research_agreements(principal))
    )


SCOPES: dict[type[Base], Scope] = {
    Person: _people,
    Facility: _reference,
    Inquiry: _inquiries,
    InquiryResponse: _inquiry_responses,
    Victim: _victims,
    VictimRegistration: _victims,
    NotificationPreference: _victims,
    Notification: _victims,
    DeliveryAttempt: _victims,
    ImpactStatement: _victims,
    HearingParticipation: _victims,
    ProtectionCondition: _victims,
    RestitutionOrder: _victims,
    RestitutionPayment: _victims,
    FederalAward: _grants,
    Subaward: _grants,
    Disbursement: _grants,
    AwardReport: _grants,
    FiscalNote: _fiscal_notes,
    ResearchAgreement: _research_agreements,
    ResearchExtract: _research_extracts,
}


def row_scope(principal: Principal, model: type[Base]) -> ColumnElement[bool]:
    scope = SCOPES.get(model)
    if scope is None:
        return true() if principal.audience is Audience.ADMIN else false()
    return scope(principal)


def scoped(principal: Principal, model: type[Base], *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """``conditions`` and the row scope of ``model`` together."""
    return and_(row_scope(principal, model), *conditions)


__all__ = ["SCOPES", "Scope", "row_scope", "scoped"]
