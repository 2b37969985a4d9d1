"""Reentry writes: refer a person, close a referral, record a service delivered, record and revoke a
consent. Each runs through ``run_mutation``: typed errors as data, nothing written on refusal."""

from __future__ import annotations

from datetime import date

import strawberry

from auth.classes import FieldClass
from resolvers import reentry_writes
from resolvers.models.partners import Audience
from resolvers.models.reentry import ConsentCategory, ServiceType
from schema.context import Info
from schema.fields import classified, mutation
from schema.ids import from_global_id
from schema.mutations import IdempotencyKey, Outcome, Payload, run_mutation
from schema.reentry import Consent, Referral, ServiceDelivered


@strawberry.input(description="Refer a person to a reentry partner.")
class ReferPersonInput:
    person_id: strawberry.ID
    partner_id: strawberry.ID
    service_type: ServiceType
    referred_on: date = strawberry.field(description="Not in the future.")
    notes: str | None = strawberry.field(default=None, description="Up to 2,000 characters.")


@strawberry.input(description="Close an open referral.")
class CloseReferralInput:
    referral_id: strawberry.ID
    version: int = strawberry.field(description="The referral's version you read.")
    closed_on: date = strawberry.field(description="Not in the future; not before the referral.")
    reason: str = strawberry.field(description="Up to 200 characters.")


@strawberry.input(description="A service delivered on an open referral.")
class RecordServiceInput:
    referral_id: strawberry.ID
    delivered_on: date = strawberry.field(description="Not in the future; not before the referral.")
    description: str = strawberry.field(description="Up to 500 characters.")
    service_type: ServiceType | None = strawberry.field(default=None, description="Default: the referral's.")
    outcome: str | None = strawberry.field(default=None, description="Up to 200 characters.")


@strawberry.input(description="A signed release-of-information consent.")
class RecordConsentInput:
    person_id: strawberry.ID
    partner_id: strawberry.ID
    categories: list[ConsentCategory] = strawberry.field(description="At least one, none repeated.")
    purpose: str = strawberry.field(description="Up to 200 characters.")
    signed_on: date = strawberry.field(description="Not in the future.")
    expires_on: date = strawberry.field(description="After signedOn, not in the past, within three years.")


@strawberry.input(description="Revoke a consent in force.")
class RevokeConsentInput:
    consent_id: strawberry.ID
    version: int = strawberry.field(description="The consent's version you read.")
    revoked_on: date = strawberry.field(description="Not in the future; not before signedOn.")
    reason: str | None = strawberry.field(default=None, description="Up to 200 characters.")


@strawberry.type(description="The result of a write to a referral.")
class ReferralPayload(Payload):
    referral: Referral | None = classified(
        FieldClass.STRUCTURE, "The referral as it is now; null when refused."
    )


@strawberry.type(description="The result of recording a service delivered.")
class ServicePayload(Payload):
    service: ServiceDelivered | None = classified(
        FieldClass.STRUCTURE, "The service recorded; null when refused."
    )


@strawberry.type(description="The result of a write to a consent.")
class ConsentPayload(Payload):
    consent: Consent | None = classified(FieldClass.STRUCTURE, "The consent as it is now; null when refused.")


async def _referral_payload(info: Info, outcome: Outcome) -> ReferralPayload:
    row = (
        None
        if outcome.refs is None
        else await info.context.loaders.referrals_by_id.load(outcome.refs["referral"])
    )
    return ReferralPayload(
        referral=None if row is None else Referral.from_row(row),
        errors=outcome.errors,
        replayed=outcome.replayed,
    )


async def _consent_payload(info: Info, outcome: Outcome) -> ConsentPayload:
    row = (
        None
        if outcome.refs is None
        else await info.context.loaders.consents_by_id.load(outcome.refs["consent"])
    )
    return ConsentPayload(
        consent=None if row is None else Consent.from_row(row),
        errors=outcome.errors,
        replayed=outcome.replayed,
    )


@strawberry.type
class Mutation:
    @mutation(
        FieldClass.REFERRALS,
        "Refer a person to a reentry partner.",
        audiences=(Audience.PROGRAMS, Audience.ADMIN),
    )
    async def refer_person(
        self, info: Info, input: ReferPersonInput, idempotency_key: IdempotencyKey = None
    ) -> ReferralPayload:
        ctx = info.context

        async def write() -> dict[str, int]:
            new = reentry_writes.NewReferral(
                person_id=from_global_id("Person", input.person_id, "personId"),
                partner_id=from_global_id("Partner", input.partner_id, "partnerId"),
                service_type=input.service_type.value,
                referred_on=input.referred_on,
                notes=input.notes,
            )
            return {"referral": await reentry_writes.refer_person(ctx.db, ctx.principal, new, ctx.now)}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _referral_payload(info, outcome)

    @mutation(
        FieldClass.REFERRALS,
        "Close a referral.",
        audiences=(Audience.REENTRY, Audience.PROGRAMS, Audience.ADMIN),
    )
    async def close_referral(
        self, info: Info, input: CloseReferralInput, idempotency_key: IdempotencyKey = None
    ) -> ReferralPayload:
        ctx = info.context

        async def write() -> dict[str, int]:
            pk = from_global_id("Referral", input.referral_id, "referralId")
            await reentry_writes.close_referral(
                ctx.db, ctx.principal, pk, input.version, input.closed_on, input.reason, ctx.now
            )
            return {"referral": pk}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _referral_payload(info, outcome)

    @mutation(
        FieldClass.REFERRALS,
        "Record a service delivered on an open referral.",
        audiences=(Audience.REENTRY, Audience.PROGRAMS, Audience.ADMIN),
    )
    async def record_service_delivered(
        self, info: Info, input: RecordServiceInput, idempotency_key: IdempotencyKey = None
    ) -> ServicePayload:
        ctx = info.context

        async def write() -> dict[str, int]:
            new = reentry_writes.NewServiceDelivered(
                referral_id=from_global_id("Referral", input.referral_id, "referralId"),
                service_type=input.service_type.value if input.service_type else None,
                delivered_on=input.delivered_on,
                description=input.description,
                outcome=input.outcome,
            )
            return {
                "service": await reentry_writes.record_service_delivered(ctx.db, ctx.principal, new, ctx.now)
            }

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        row = None if outcome.refs is None else await ctx.loaders.services_by_id.load(outcome.refs["service"])
        return ServicePayload(
            service=None if row is None else ServiceDelivered.from_row(row),
            errors=outcome.errors,
            replayed=outcome.replayed,
        )

    @mutation(
        FieldClass.REFERRALS,
        "Record a signed release-of-information consent.",
        audiences=(Audience.PROGRAMS, Audience.ADMIN),
    )
    async def record_consent(
        self, info: Info, input: RecordConsentInput, idempotency_key: IdempotencyKey = None
    ) -> ConsentPayload:
        ctx = info.context

        async def write() -> dict[str, int]:
            new = reentry_writes.NewConsent(
                person_id=from_global_id("Person", input.person_id, "personId"),
                partner_id=from_global_id("Partner", input.partner_id, "partnerId"),
                categories=[c.value for c in input.categories],
                purpose=input.purpose,
                signed_on=input.signed_on,
                expires_on=input.expires_on,
            )
            return {"consent": await reentry_writes.record_consent(ctx.db, ctx.principal, new, ctx.now)}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _consent_payload(info, outcome)

    @mutation(
        FieldClass.REFERRALS,
        "Revoke a consent; the partner loses access from that day.",
        audiences=(Audience.PROGRAMS, Audience.ADMIN),
    )
    async def revoke_consent(
        self, info: Info, input: RevokeConsentInput, idempotency_key: IdempotencyKey = None
    ) -> ConsentPayload:
        ctx = info.context

        async def write() -> dict[str, int]:
            pk = from_global_id("Consent", input.consent_id, "consentId")
            await reentry_writes.revoke_consent(
                ctx.db, ctx.principal, pk, input.version, input.revoked_on, input.reason, ctx.now
            )
            return {"consent": pk}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _consent_payload(info, outcome)
