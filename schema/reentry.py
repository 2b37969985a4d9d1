"""Reentry: referrals to community partners, release-of-information consents, services delivered."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import strawberry

from auth.classes import FieldClass
from resolvers import reentry as data
from resolvers.models.programs import ConsentCategory, ReferralStatus, ServiceType
from schema.context import Info
from schema.fields import classified, mutation, resolves
from schema.ids import from_global_id, to_global_id
from schema.mutations import IdempotencyKey, MutationError, Outcome, run_mutation
from schema.pagination import Connection, connection
from schema.people import After, PageSize, Person

strawberry.enum(ServiceType, description="What a reentry partner provides.")
strawberry.enum(ReferralStatus, description="Open, accepted or closed.")
strawberry.enum(
    ConsentCategory,
    description="A category of records a consent releases; substance use needs its own (42 CFR Part 2).",
)


async def _person(info: Info, pk: int) -> Person | None:
    row = await info.context.loaders.people_by_id.load(pk)
    return None if row is None else Person.from_row(row)


@strawberry.type(description="A service a reentry partner delivered on a referral.")
class ServiceDelivered:
    pk: strawberry.Private[int]
    referral_pk: strawberry.Private[int]
    service_type: ServiceType = classified(FieldClass.REFERRALS, "Kind of service.")
    delivered_on: date = classified(FieldClass.REFERRALS, "Date delivered.")
    description: str = classified(FieldClass.REFERRALS, "What was done.")
    outcome: str | None = classified(FieldClass.REFERRALS, "The result, e.g. placed in housing.")
    recorded_at: datetime | None = classified(FieldClass.REFERRALS, "When it was recorded.")

    @resolves(FieldClass.REFERRALS, "Opaque global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("ServiceDelivered", self.pk))

    @resolves(FieldClass.REFERRALS, "The referral it was delivered on.")
    async def referral(self, info: Info) -> Referral | None:
        row = await info.context.loaders.referrals_by_id.load(self.referral_pk)
        return None if row is None else Referral.from_row(row)

    @classmethod
    def from_row(cls, row: Any) -> ServiceDelivered:
        return cls(
            pk=row.id,
            referral_pk=row.referral_id,
            service_type=ServiceType(row.service_type),
            delivered_on=row.delivered_on,
            description=row.description,
            outcome=row.outcome,
            recorded_at=row.recorded_at,
        )


@strawberry.type(description="A referral of a person to a reentry partner for a service.")
class Referral:
    pk: strawberry.Private[int]
    person_pk: strawberry.Private[int]
    partner_pk: strawberry.Private[int]
    partner_name: str = classified(FieldClass.REFERRALS, "The partner referred to.")
    service_type: ServiceType = classified(FieldClass.REFERRALS, "The service asked for.")
    referred_on: date = classified(FieldClass.REFERRALS, "Date of referral.")
    status: ReferralStatus = classified(FieldClass.REFERRALS, "Open, accepted or closed.")
    notes: str | None = classified(FieldClass.REFERRALS, "Notes for the partner.")
    closed_on: date | None = classified(FieldClass.REFERRALS, "Date closed.")
    closure_reason: str | None = classified(FieldClass.REFERRALS, "Why it was closed.")
    version: int = classified(FieldClass.REFERRALS, "Send this back with an update; a stale one is refused.")

    @resolves(FieldClass.REFERRALS, "Opaque global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Referral", self.pk))

    @resolves(FieldClass.REFERRALS, "Global id of the partner referred to.")
    def partner_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Partner", self.partner_pk))

    @resolves(FieldClass.PUBLIC_PERSON, "The person referred.")
    async def person(self, info: Info) -> Person | None:
        return await _person(info, self.person_pk)

    @resolves(FieldClass.REFERRALS, "Services delivered on this referral, earliest first.")
    async def services(self, info: Info) -> list[ServiceDelivered]:
        rows = await info.context.loaders.services_by_referral_id.load(self.pk)
        return [ServiceDelivered.from_row(r) for r in rows]

    @classmethod
    def from_row(cls, row: Any) -> Referral:
        return cls(
            pk=row.id,
            person_pk=row.person_id,
            partner_pk=row.partner_id,
            partner_name=row.partner_name,
            service_type=ServiceType(row.service_type),
            referred_on=row.referred_on,
            status=ReferralStatus(row.status),
            notes=row.notes,
            closed_on=row.closed_on,
            closure_reason=row.closure_reason,
            version=row.version,
        )


@strawberry.type(
    description="A release-of-information consent: a person lets a partner read some categories."
)
class Consent:
    pk: strawberry.Private[int]
    person_pk: strawberry.Private[int]
    partner_pk: strawberry.Private[int]
    purpose: str = classified(FieldClass.REFERRALS, "What the records are released for.")
    signed_on: date = classified(FieldClass.REFERRALS, "Date signed.")
    expires_on: date = classified(FieldClass.REFERRALS, "Last day it is in force.")
    revoked_on: date | None = classified(FieldClass.REFERRALS, "Date revoked, if it was.")
    revocation_reason: str | None = classified(FieldClass.REFERRALS, "Why it was revoked.")
    version: int = classified(FieldClass.REFERRALS, "Send this back with an update; a stale one is refused.")

    @resolves(FieldClass.REFERRALS, "Opaque global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Consent", self.pk))

    @resolves(FieldClass.REFERRALS, "Global id of the partner it releases records to.")
    def partner_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Partner", self.partner_pk))

    @resolves(FieldClass.REFERRALS, "The categories released.")
    async def categories(self, info: Info) -> list[ConsentCategory]:
        values = await info.context.loaders.consent_categories_by_consent_id.load(self.pk)
        return [ConsentCategory(c) for c in values]

    @resolves(FieldClass.REFERRALS, "Whether the consent is in force today.")
    def active(self, info: Info) -> bool:
        today = info.context.now.date()
        return self.revoked_on is None and self.signed_on <= today <= self.expires_on

    @resolves(FieldClass.PUBLIC_PERSON, "The person who signed.")
    async def person(self, info: Info) -> Person | None:
        return await _person(info, self.person_pk)

    @classmethod
    def from_row(cls, row: Any) -> Consent:
        return cls(
            pk=row.id,
            person_pk=row.person_id,
            partner_pk=row.partner_id,
            purpose=row.purpose,
            signed_on=row.signed_on,
            expires_on=row.expires_on,
            revoked_on=row.revoked_on,
            revocation_reason=row.revocation_reason,
            version=row.version,
        )


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
class ReferralPayload:
    referral: Referral | None = strawberry.field(description="The referral as it is now; null when refused.")
    errors: list[MutationError] = strawberry.field(description="Why the write was refused; empty on success.")
    replayed: bool = strawberry.field(
        description="True when this answers a retry with a used idempotency key."
    )


@strawberry.type(description="The result of recording a service delivered.")
class ServicePayload:
    service: ServiceDelivered | None = strawberry.field(
        description="The service recorded; null when refused."
    )
    errors: list[MutationError] = strawberry.field(description="Why the write was refused; empty on success.")
    replayed: bool = strawberry.field(
        description="True when this answers a retry with a used idempotency key."
    )


@strawberry.type(description="The result of a write to a consent.")
class ConsentPayload:
    consent: Consent | None = strawberry.field(description="The consent as it is now; null when refused.")
    errors: list[MutationError] = strawberry.field(description="Why the write was refused; empty on success.")
    replayed: bool = strawberry.field(
        description="True when this answers a retry with a used idempotency key."
    )


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


def _id(type_name: str, value: strawberry.ID | None, field: str) -> int | None:
    return None if value is None else from_global_id(type_name, value, field)


@strawberry.type
class Query:
    @resolves(FieldClass.REFERRALS, "Referrals you may see, earliest first.")
    async def referrals(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        status: ReferralStatus | None = None,
        service_type: ServiceType | None = None,
        partner_id: strawberry.ID | None = None,
        person_id: strawberry.ID | None = None,
    ) -> Connection[Referral]:
        f = data.ReferralFilter(
            status=status.value if status else None,
            service_type=service_type.value if service_type else None,
            partner_id=_id("Partner", partner_id, "partnerId"),
            person_id=_id("Person", person_id, "personId"),
        )
        page = await data.list_referrals(info.context.db, info.context.principal, f, first, after)
        return connection(page, Referral.from_row)

    @resolves(FieldClass.REFERRALS, "One referral by global id; null when there is none you may see.")
    async def referral(self, info: Info, id: strawberry.ID) -> Referral | None:
        row = await info.context.loaders.referrals_by_id.load(from_global_id("Referral", id))
        return None if row is None else Referral.from_row(row)

    @resolves(FieldClass.REFERRALS, "Consents you may see, earliest signed first.")
    async def consents(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        person_id: strawberry.ID | None = None,
        partner_id: strawberry.ID | None = None,
        active: Annotated[bool, strawberry.argument(description="Only consents in force today.")] = False,
    ) -> Connection[Consent]:
        page = await data.list_consents(
            info.context.db,
            info.context.principal,
            _id("Person", person_id, "personId"),
            _id("Partner", partner_id, "partnerId"),
            info.context.now.date() if active else None,
            first,
            after,
        )
        return connection(page, Consent.from_row)

    @resolves(FieldClass.REFERRALS, "Services delivered that you may see, earliest first.")
    async def services_delivered(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        referral_id: strawberry.ID | None = None,
        person_id: strawberry.ID | None = None,
        delivered_from: date | None = None,
        delivered_to: date | None = None,
    ) -> Connection[ServiceDelivered]:
        page = await data.list_services(
            info.context.db,
            info.context.principal,
            _id("Referral", referral_id, "referralId"),
            _id("Person", person_id, "personId"),
            delivered_from,
            delivered_to,
            first,
            after,
        )
        return connection(page, ServiceDelivered.from_row)


@strawberry.type
class Mutation:
    @mutation(FieldClass.REFERRALS, "Refer a person to a reentry partner.")
    async def refer_person(
        self, info: Info, input: ReferPersonInput, idempotency_key: IdempotencyKey = None
    ) -> ReferralPayload:
        ctx = info.context

        async def write() -> dict[str, int]:
            new = data.NewReferral(
                person_id=from_global_id("Person", input.person_id, "personId"),
                partner_id=from_global_id("Partner", input.partner_id, "partnerId"),
                service_type=input.service_type.value,
                referred_on=input.referred_on,
                notes=input.notes,
            )
            return {"referral": await data.refer_person(ctx.db, ctx.principal, new, ctx.now)}

        outcome = await run_mutation(info, "referPerson", strawberry.asdict(input), idempotency_key, write)
        return await _referral_payload(info, outcome)

    @mutation(FieldClass.REFERRALS, "Close a referral.")
    async def close_referral(
        self, info: Info, input: CloseReferralInput, idempotency_key: IdempotencyKey = None
    ) -> ReferralPayload:
        ctx = info.context

        async def write() -> dict[str, int]:
            pk = from_global_id("Referral", input.referral_id, "referralId")
            await data.close_referral(
                ctx.db, ctx.principal, pk, input.version, input.closed_on, input.reason, ctx.now
            )
            return {"referral": pk}

        outcome = await run_mutation(info, "closeReferral", strawberry.asdict(input), idempotency_key, write)
        return await _referral_payload(info, outcome)

    @mutation(FieldClass.REFERRALS, "Record a service delivered on an open referral.")
    async def record_service_delivered(
        self, info: Info, input: RecordServiceInput, idempotency_key: IdempotencyKey = None
    ) -> ServicePayload:
        ctx = info.context

        async def write() -> dict[str, int]:
            new = data.NewService(
                referral_id=from_global_id("Referral", input.referral_id, "referralId"),
                service_type=input.service_type.value if input.service_type else None,
                delivered_on=input.delivered_on,
                description=input.description,
                outcome=input.outcome,
            )
            return {"service": await data.record_service(ctx.db, ctx.principal, new, ctx.now)}

        outcome = await run_mutation(
            info, "recordServiceDelivered", strawberry.asdict(input), idempotency_key, write
        )
        row = None if outcome.refs is None else await ctx.loaders.services_by_id.load(outcome.refs["service"])
        return ServicePayload(
            service=None if row is None else ServiceDelivered.from_row(row),
            errors=outcome.errors,
            replayed=outcome.replayed,
        )

    @mutation(FieldClass.REFERRALS, "Record a signed release-of-information consent.")
    async def record_consent(
        self, info: Info, input: RecordConsentInput, idempotency_key: IdempotencyKey = None
    ) -> ConsentPayload:
        ctx = info.context

        async def write() -> dict[str, int]:
            new = data.NewConsent(
                person_id=from_global_id("Person", input.person_id, "personId"),
                partner_id=from_global_id("Partner", input.partner_id, "partnerId"),
                categories=[c.value for c in input.categories],
                purpose=input.purpose,
                signed_on=input.signed_on,
                expires_on=input.expires_on,
            )
            return {"consent": await data.record_consent(ctx.db, ctx.principal, new, ctx.now)}

        outcome = await run_mutation(info, "recordConsent", strawberry.asdict(input), idempotency_key, write)
        return await _consent_payload(info, outcome)

    @mutation(FieldClass.REFERRALS, "Revoke a consent; the partner loses access from that day.")
    async def revoke_consent(
        self, info: Info, input: RevokeConsentInput, idempotency_key: IdempotencyKey = None
    ) -> ConsentPayload:
        ctx = info.context

        async def write() -> dict[str, int]:
            pk = from_global_id("Consent", input.consent_id, "consentId")
            await data.revoke_consent(
                ctx.db, ctx.principal, pk, input.version, input.revoked_on, input.reason, ctx.now
            )
            return {"consent": pk}

        outcome = await run_mutation(info, "revokeConsent", strawberry.asdict(input), idempotency_key, write)
        return await _consent_payload(info, outcome)
