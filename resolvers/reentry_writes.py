"""Reentry's writes: refer a person, close a referral, record and revoke a consent, record a service
delivered. Each checks the caller's row scope and refuses with the typed errors of ``resolvers.errors``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from auth.principal import Principal
from resolvers import validation as v
from resolvers.batching import existing_row
from resolvers.errors import Conflict, InvalidInput
from resolvers.models.partners import Audience, Partner
from resolvers.models.people import Person, PersonStatus
from resolvers.models.reentry import Consent, ConsentGrant, Referral, ReferralStatus, ServiceDelivered
from resolvers.rows import ConsentRow, PartnerRow, PersonRow, ReferralRow
from resolvers.session import RequestDb
from resolvers.versioned import at_version, update_versioned

#: A release-of-information consent runs for at most three years.
MAX_CONSENT_DAYS = 3 * 366


async def _reentry_partner(db: RequestDb, principal: Principal, partner_id: int) -> PartnerRow:
    partner = await existing_row(db, principal, Partner, PartnerRow, partner_id, "Partner", "partnerId")
    if partner.audience != Audience.REENTRY:
        raise InvalidInput("partnerId", "must be a reentry partner")
    if not partner.active:
        raise Conflict("partnerId", "the partner is no longer active")
    return partner


@dataclass(frozen=True, slots=True)
class NewReferral:
    person_id: int
    partner_id: int
    service_type: str
    referred_on: date
    notes: str | None


async def refer_person(db: RequestDb, principal: Principal, new: NewReferral, now: datetime) -> int:
    person = await existing_row(db, principal, Person, PersonRow, new.person_id, "Person", "personId")
    await _reentry_partner(db, principal, new.partner_id)
    v.not_future("referredOn", new.referred_on, now.date())
    notes = v.optional_text("notes", new.notes, max_length=2_000)
    if person.status in (PersonStatus.DISCHARGED, PersonStatus.DECEASED):
        raise Conflict("personId", f"the person is no longer under the department ({person.status})")
    open_already = await db.scalar(
        select(func.count())
        .select_from(Referral)
        .where(
            Referral.person_id == person.id,
            Referral.partner_id == new.partner_id,
            Referral.service_type == new.service_type,
            Referral.status != ReferralStatus.CLOSED,
        )
    )
    if open_already:
        # Also the answer to a concurrent referral that lost the race (uq_referrals_one_open refuses
        # its row; run_mutation runs the write again, which then stops here).
        raise Conflict(
            "partnerId", "the person already has an open referral to this partner for this service"
        )
    referral = Referral(
        person_id=person.id,
        partner_id=new.partner_id,
        service_type=new.service_type,
        referred_on=new.referred_on,
        status=ReferralStatus.OPEN,
        notes=notes,
    )
    db.add(referral)
    await db.flush()
    return referral.id


async def close_referral(
    db: RequestDb,
    principal: Principal,
    referral_id: int,
    version: int,
    closed_on: date,
    reason: str,
    now: datetime,
) -> int:
    referral = await existing_row(db, principal, Referral, ReferralRow, referral_id, "Referral", "referralId")
    if referral.status == ReferralStatus.CLOSED:
        raise Conflict("referralId", "the referral is already closed")
    v.check_version("referral", referral.version, version)
    reason = v.text("reason", reason, max_length=200)
    v.not_future("closedOn", closed_on, now.date())
    v.not_before("closedOn", closed_on, "referredOn", referral.referred_on)
    await update_versioned(
        db,
        Referral,
        referral.id,
        version,
        {"status": ReferralStatus.CLOSED, "closed_on": closed_on, "closure_reason": reason},
        entity="referral",
        field="referralId",
        stale=at_version,
    )
    return int(referral.id)


@dataclass(frozen=True, slots=True)
class NewConsent:
    person_id: int
    partner_id: int
    categories: Sequence[str]
    purpose: str
    signed_on: date
    expires_on: date


async def record_consent(db: RequestDb, principal: Principal, new: NewConsent, now: datetime) -> int:
    await existing_row(db, principal, Person, PersonRow, new.person_id, "Person", "personId")
    await _reentry_partner(db, principal, new.partner_id)
    if not new.categories:
        raise InvalidInput("categories", "must name at least one category")
    if len(set(new.categories)) != len(new.categories):
        raise InvalidInput("categories", "must not repeat a category")
    purpose = v.text("purpose", new.purpose, max_length=200)
    today = now.date()
    v.not_future("signedOn", new.signed_on, today)
    if new.expires_on <= new.signed_on:
        raise InvalidInput("expiresOn", f"must be after signedOn ({new.signed_on.isoformat()})")
    if new.expires_on < today:
        raise InvalidInput("expiresOn", f"must not be in the past (got {new.expires_on.isoformat()})")
    if (new.expires_on - new.signed_on).days > MAX_CONSENT_DAYS:
        raise InvalidInput("expiresOn", "must be at most three years after signedOn")
    consent = Consent(
        person_id=new.person_id,
        partner_id=new.partner_id,
        purpose=purpose,
        signed_on=new.signed_on,
        expires_on=new.expires_on,
    )
    db.add(consent)
    await db.flush()
    for category in new.categories:
        db.add(ConsentGrant(consent_id=consent.id, category=category))
    await db.flush()
    return consent.id


async def revoke_consent(
    db: RequestDb,
    principal: Principal,
    consent_id: int,
    version: int,
    revoked_on: date,
    reason: str | None,
    now: datetime,
) -> int:
    consent = await existing_row(db, principal, Consent, ConsentRow, consent_id, "Consent", "consentId")
    if consent.revoked_on is not None:
        raise Conflict("consentId", f"the consent was already revoked on {consent.revoked_on.isoformat()}")
    v.check_version("consent", consent.version, version)
    reason = v.optional_text("reason", reason, max_length=200)
    v.not_future("revokedOn", revoked_on, now.date())
    v.not_before("revokedOn", revoked_on, "signedOn", consent.signed_on)
    await update_versioned(
        db,
        Consent,
        consent.id,
        version,
        {"revoked_on": revoked_on, "revocation_reason": reason},
        entity="consent",
        field="consentId",
        stale=at_version,
    )
    return int(consent.id)


@dataclass(frozen=True, slots=True)
class NewServiceDelivered:
    referral_id: int
    service_type: str | None
    delivered_on: date
    description: str
    outcome: str | None


async def record_service_delivered(
    db: RequestDb, principal: Principal, new: NewServiceDelivered, now: datetime
) -> int:
    referral = await existing_row(
        db, principal, Referral, ReferralRow, new.referral_id, "Referral", "referralId"
    )
    if referral.status == ReferralStatus.CLOSED:
        raise Conflict("referralId", "services are recorded against open referrals; this one is closed")
    description = v.text("description", new.description, max_length=500)
    outcome = v.optional_text("outcome", new.outcome, max_length=200)
    v.not_future("deliveredOn", new.delivered_on, now.date())
    v.not_before("deliveredOn", new.delivered_on, "the referral", referral.referred_on)
    service_type = new.service_type or referral.service_type
    # The store's unique key of a delivery; checked here for a typed answer (and again by the store
    # for a concurrent twin, whose write run_mutation runs again to reach this answer).
    recorded = await db.scalar(
        select(ServiceDelivered.id).where(
            ServiceDelivered.referral_id == referral.id,
            ServiceDelivered.delivered_on == new.delivered_on,
            ServiceDelivered.service_type == service_type,
            ServiceDelivered.description == description,
        )
    )
    if recorded is not None:
        raise Conflict(
            "description",
            f"this service is already recorded on the referral for {new.delivered_on.isoformat()}",
        )
    service = ServiceDelivered(
        referral_id=referral.id,
        partner_id=referral.partner_id,
        person_id=referral.person_id,
        service_type=service_type,
        delivered_on=new.delivered_on,
        description=description,
        outcome=outcome,
        recorded_at=now,
    )
    db.add(service)
    await db.flush()
    return service.id
