"""Row scopes: for each table, the SQL condition on the rows an audience may reach.

Every list, look-up by id, relation, filter and statistic adds ``row_scope(principal, Model)``
to its statement; no resolver writes its own partner filter. A table without an entry here is
out of reach for everyone but ``admin`` (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import ColumnElement, and_, bindparam, exists, false, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute

from auth.classes import FieldClass
from auth.embargo import VictimEmbargo
from auth.policy import grant
from auth.principal import Principal
from resolvers.models.base import Base
from resolvers.models.custody import (
    Charge,
    ConductReport,
    CustodyEvent,
    CustodyEventKind,
    CustodyPeriod,
    HealthNeed,
    ParoleHearing,
    Sentence,
    SupervisionPeriod,
)
from resolvers.models.fiscal_notes import FiscalNote, FiscalNoteStatus
from resolvers.models.grants import AwardReport, Disbursement, FederalAward, Subaward
from resolvers.models.inquiries import Inquiry, InquiryResponse
from resolvers.models.partners import Audience, Partner
from resolvers.models.people import Facility, Person, PersonAlias, PersonIdentity, PersonStatus
from resolvers.models.programs import Enrollment, Program, ProgramOffering, ReparativeActivity
from resolvers.models.reentry import Consent, ConsentCategory, ConsentGrant, Referral, ServiceDelivered
from resolvers.models.research import AgreementStatus, ResearchAgreement, ResearchExtract
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
        return and_(Person.status != PersonStatus.DISCHARGED, _not_under_victim_embargo(principal.embargo))
    if principal.audience is Audience.REENTRY and principal.partner_id is not None:
        return and_(
            exists(
                select(Referral.id).where(
                    Referral.person_id == Person.id, Referral.partner_id == principal.partner_id
                )
            ),
            _not_under_victim_embargo(principal.embargo),
        )
    return false()


# --- Victims first ----------------------------------------------------------------------------------
# A release-type event (release, escape, transfer, death) stays out of partners' sight for
# HUB_VICTIM_EMBARGO_MINUTES after it is recorded, so that victims hear of it first. It applies to
# every such event of every person, whether or not anyone is registered to their case: an embargo
# only for people with victims would itself say who has victims (a partner polling a person after a
# release would see it vanish), so its presence must say nothing. Nor does it lift early when the
# notifications have gone out, for the same reason. The person's row is what is withheld, so
# everything reached through it (status, facility, custody events and periods, hearings) is
# withheld with it; the partner sees the person as out of reach, as for anyone else. How long is the
# app's setting, carried by the request's principal (auth/embargo.py).


#: Custody events victims hear of before partners do.
EMBARGOED_KINDS = (
    CustodyEventKind.RELEASE,
    CustodyEventKind.ESCAPE,
    CustodyEventKind.TRANSFER,
    CustodyEventKind.DEATH,
)


def _not_under_victim_embargo(embargo: VictimEmbargo) -> ColumnElement[bool]:
    # Uncorrelated: the few people with a release-type event recorded within the embargo, computed
    # once per statement (ix_custody_events_created_at keeps it a short range scan). The time is
    # when the hub recorded the event, not when it occurred: a late entry of an old release is news
    # to the victims too.
    # The cutoff is computed when the statement runs, not when it is built: a compiled plan
    # (schema/compiled) keeps its statement for many requests (of one app, so of one embargo).
    cutoff = bindparam(
        "embargo_cutoff", callable_=embargo.cutoff, type_=CustodyEvent.created_at.type, unique=True
    )
    return Person.id.not_in(
        select(CustodyEvent.person_id).where(
            CustodyEvent.created_at > cutoff, CustodyEvent.kind.in_(EMBARGOED_KINDS)
        )
    )


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


def _awards(principal: Principal) -> ColumnElement[bool]:
    # Legislative offices read every award's identity and totals (the matrix's "totals"; the field
    # policy leaves them only the GRANT_TOTALS fields); the totals count rows through
    # ``aggregate_scope``, never by reading them.
    if principal.audience in (Audience.BUDGET_GRANTS, Audience.ADMIN, Audience.LEGISLATIVE):
        return true()
    return false()


def _grants(principal: Principal) -> ColumnElement[bool]:
    # What hangs off an award (subawards and their recipients, disbursements and their payees,
    # reports) is the grants unit's detail: no row of it is read by anyone else.
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


def agreement_in_force(principal: Principal, today: date) -> ColumnElement[bool]:
    """Research agreements whose records ``principal`` may read today, through the research root.

    People are not in a researcher's row scope at all: the research root reaches the agreement's
    cohort (de-identified) only through an agreement that is approved, within its dates and still
    holds its pseudonym key. Revocation and expiry therefore close access with the next request.
    """
    if principal.audience not in (Audience.RESEARCHER, Audience.RESEARCH_UNIT):
        return false()
    return and_(
        _research_agreements(principal),
        ResearchAgreement.status == AgreementStatus.APPROVED,
        ResearchAgreement.starts_on <= today,
        ResearchAgreement.ends_on >= today,
        ResearchAgreement.pseudonym_key.is_not(None),
    )


def _research_extracts(principal: Principal) -> ColumnElement[bool]:
    return ResearchExtract.agreement_id.in_(
        select(ResearchAgreement.id).where(_research_agreements(principal))
    )


# --- People, custody, programs and reentry -------------------------------------------------------
# Rows that hang off a person are reachable exactly when the person is, narrowed by what the
# audience may read of that class at all; "C" cells of the matrix (a reentry partner reading under
# consent) are a per-person condition, so they are row scopes too, naming the category the matrix
# names (``_under_consent``).


#: A model's column, as its mapped attribute.
Column = InstrumentedAttribute[int]


def _of_people(principal: Principal, person_id: Column) -> ColumnElement[bool]:
    return person_id.in_(select(Person.id).where(_people(principal)))


def _consented(principal: Principal, person_id: Column, category: ConsentCategory) -> ColumnElement[bool]:
    """An active consent of the person lets the calling reentry partner read ``category``."""
    today = func.current_date()
    return exists(
        select(Consent.id)
        .join(ConsentGrant, ConsentGrant.consent_id == Consent.id)
        .where(
            Consent.person_id == person_id,
            Consent.partner_id == principal.partner_id,
            ConsentGrant.category == category,
            Consent.revoked_on.is_(None),
            Consent.signed_on <= today,
            Consent.expires_on >= today,
        )
    )


def _under_consent(principal: Principal, person_id: Column, cls: FieldClass) -> ColumnElement[bool]:
    """The matrix's condition for ``principal`` reading ``cls`` of the person: under an active consent
    for the class's category where the grant is "C" (the category is stated once, in ``MATRIX``),
    always where the class is readable without one, never where it is not."""
    granted = grant(principal.audience, cls)
    if granted.consent is not None:
        if principal.partner_id is None:
            return false()
        return _consented(principal, person_id, granted.consent)
    return true() if granted.readable else false()


def _person_class(person_id: Column, cls: FieldClass) -> Scope:
    """Rows that are one class of a person's record and nothing else: wherever the person is visible,
    under the matrix's cell for that class (a "C" cell: under a consent for its category)."""

    def scope(principal: Principal) -> ColumnElement[bool]:
        if not grant(principal.audience, cls).readable:
            return false()
        if principal.audience in _DEPARTMENT_PEOPLE:
            # Every person is visible: the person condition would be a no-op semi-join.
            return _under_consent(principal, person_id, cls)
        return and_(_of_people(principal, person_id), _under_consent(principal, person_id, cls))

    return scope


#: Date of birth, address and phone (``Person.identity``). Not ``Person.age``, which is the public
#: record's and is read through the person's own scope (``resolvers.people.birth_dates_by_person_id``).
_identities = _person_class(PersonIdentity.person_id, FieldClass.IDENTITY)

#: SSN, FBI and state ids, held in the same rows as the identity: a scope of their own, by their own
#: cell of the matrix (admin's alone), so that opening the identity never opens them.
identifiers_scope = _person_class(PersonIdentity.person_id, FieldClass.IDENTIFIERS)


def _person_rows(person_id: Column) -> Scope:
    """Custody records in the public tier or the release class: wherever the person is visible."""

    def scope(principal: Principal) -> ColumnElement[bool]:
        if principal.audience in (Audience.BUDGET_GRANTS, Audience.RESEARCHER):
            return false()
        return _of_people(principal, person_id)

    return scope


def _charges(principal: Principal) -> ColumnElement[bool]:
    return Charge.sentence_id.in_(select(Sentence.id).where(_person_rows(Sentence.person_id)(principal)))


def _aliases(principal: Principal) -> ColumnElement[bool]:
    if principal.audience in (Audience.CONSTITUENT_SERVICES, Audience.VICTIM_SERVICES, Audience.PROGRAMS):
        return true()
    if principal.audience is Audience.ADMIN:
        return true()
    if principal.audience is Audience.REENTRY and principal.partner_id is not None:
        return and_(
            _of_people(principal, PersonAlias.person_id),
            _under_consent(principal, PersonAlias.person_id, FieldClass.IDENTITY),
        )
    return false()


def _conduct(principal: Principal) -> ColumnElement[bool]:
    staff = (Audience.CONSTITUENT_SERVICES, Audience.PROGRAMS, Audience.RESEARCH_UNIT, Audience.ADMIN)
    return true() if principal.audience in staff else false()


def _health_needs(principal: Principal) -> ColumnElement[bool]:
    if principal.audience in (Audience.PROGRAMS, Audience.ADMIN):
        return true()
    if principal.audience is Audience.REENTRY and principal.partner_id is not None:
        # 42 CFR Part 2: substance-use needs are read only under a consent naming them.
        return and_(
            _of_people(principal, HealthNeed.person_id),
            or_(
                and_(
                    HealthNeed.kind == ConsentCategory.SUBSTANCE_USE,
                    _under_consent(principal, HealthNeed.person_id, FieldClass.SUBSTANCE_USE),
                ),
                and_(
                    HealthNeed.kind != ConsentCategory.SUBSTANCE_USE,
                    _under_consent(principal, HealthNeed.person_id, FieldClass.HEALTH),
                ),
            ),
        )
    return false()


def _participation(person_id: Column) -> Scope:
    """Programs and treatment participation: confidential by statute."""

    def scope(principal: Principal) -> ColumnElement[bool]:
        if principal.audience in (Audience.PROGRAMS, Audience.RESEARCH_UNIT, Audience.ADMIN):
            return true()
        if principal.audience is Audience.REENTRY and principal.partner_id is not None:
            return and_(
                _of_people(principal, person_id),
                _under_consent(principal, person_id, FieldClass.PROGRAMS),
            )
        return false()

    return scope


def _reparative_activities(principal: Principal) -> ColumnElement[bool]:
    return ReparativeActivity.enrollment_id.in_(
        select(Enrollment.id).where(_participation(Enrollment.person_id)(principal))
    )


def _partner_owned(partner_id: Column) -> Scope:
    """Referrals, consents and services: reentry staff see all, a reentry partner its own."""

    def scope(principal: Principal) -> ColumnElement[bool]:
        if principal.audience in (Audience.PROGRAMS, Audience.ADMIN):
            return true()
        if principal.audience is Audience.REENTRY and principal.partner_id is not None:
            return partner_id == principal.partner_id
        return false()

    return scope


def _consent_grants(principal: Principal) -> ColumnElement[bool]:
    return ConsentGrant.consent_id.in_(
        select(Consent.id).where(_partner_owned(Consent.partner_id)(principal))
    )


def _partners(principal: Principal) -> ColumnElement[bool]:
    # Who the department's partners are is not confidential to its own units; a partner knows itself.
    if not principal.is_partner:
        return true()
    if principal.partner_id is not None:
        return Partner.id == principal.partner_id
    return false()


def aggregate_scope(principal: Principal, model: type[Base]) -> ColumnElement[bool]:
    """Rows a statistic may count: legislative offices count every class but victims (the matrix's
    aggregates rule); everyone else counts the rows they could read."""
    if principal.audience is Audience.LEGISLATIVE and SCOPES.get(model) is not _victims:
        return true()
    return row_scope(principal, model)


SCOPES: dict[type[Base], Scope] = {
    Person: _people,
    Facility: _reference,
    Inquiry: _inquiries,
    PersonAlias: _aliases,
    PersonIdentity: _identities,
    Sentence: _person_rows(Sentence.person_id),
    Charge: _charges,
    CustodyPeriod: _person_rows(CustodyPeriod.person_id),
    SupervisionPeriod: _person_rows(SupervisionPeriod.person_id),
    ParoleHearing: _person_rows(ParoleHearing.person_id),
    CustodyEvent: _person_rows(CustodyEvent.person_id),
    ConductReport: _conduct,
    HealthNeed: _health_needs,
    Program: _reference,
    ProgramOffering: _reference,
    Enrollment: _participation(Enrollment.person_id),
    ReparativeActivity: _reparative_activities,
    Referral: _partner_owned(Referral.partner_id),
    Consent: _partner_owned(Consent.partner_id),
    ConsentGrant: _consent_grants,
    ServiceDelivered: _partner_owned(ServiceDelivered.partner_id),
    Partner: _partners,
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
    FederalAward: _awards,
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


__all__ = [
    "SCOPES",
    "Scope",
    "aggregate_scope",
    "agreement_in_force",
    "identifiers_scope",
    "row_scope",
    "scoped",
]
