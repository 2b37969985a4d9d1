"""Reentry: referrals to community partners, release-of-information consents, services delivered."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from sqlalchemy import ColumnElement, FromClause, and_, select

from auth.classes import FieldClass
from resolvers import reentry as data
from resolvers.models import reentry as models
from resolvers.models.partners import Partner
from resolvers.models.reentry import ConsentCategory, ReferralStatus, ServiceType
from schema.compiled.sources import Computed, GlobalId, Many, One, table
from schema.context import Info
from schema.fields import classified, resolves
from schema.ids import from_global_id, to_global_id
from schema.pagination import Connection, connection
from schema.people import After, PageSize, Person
from schema.rows import FromRow

if TYPE_CHECKING:
    from schema.compiled.compiler import Level

strawberry.enum(ServiceType, description="What a reentry partner provides.")
strawberry.enum(ReferralStatus, description="Open, accepted or closed.")
strawberry.enum(
    ConsentCategory,
    description="A category of records a consent releases; substance use needs its own (42 CFR Part 2).",
)


async def _person(info: Info, pk: int) -> Person | None:
    row = await info.context.loaders.people_by_id.load(pk)
    return None if row is None else Person.from_row(row)


@table(models.ServiceDelivered)
@strawberry.type(description="A service a reentry partner delivered on a referral.")
class ServiceDelivered(FromRow):
    pk: strawberry.Private[int]
    referral_pk: strawberry.Private[int]
    service_type: ServiceType = classified(FieldClass.REFERRALS, "Kind of service.")
    delivered_on: date = classified(FieldClass.REFERRALS, "Date delivered.")
    description: str = classified(FieldClass.REFERRALS, "What was done.")
    outcome: str | None = classified(FieldClass.REFERRALS, "The result, e.g. placed in housing.")
    recorded_at: datetime | None = classified(FieldClass.REFERRALS, "When it was recorded.")

    @resolves(FieldClass.REFERRALS, "Opaque global id.", source=GlobalId("ServiceDelivered"))
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("ServiceDelivered", self.pk))

    @resolves(
        FieldClass.REFERRALS, "The referral it was delivered on.", source=One("Referral", "referral_id")
    )
    async def referral(self, info: Info) -> Referral | None:
        row = await info.context.loaders.referrals_by_id.load(self.referral_pk)
        return None if row is None else Referral.from_row(row)


def _partner_name(level: Level, referral: FromClause) -> ColumnElement[Any]:
    # The referral lists show every referral's partner by name (``resolvers/reentry._referrals``).
    return (
        select(Partner.name).where(Partner.id == referral.c.partner_id).correlate(referral).scalar_subquery()
    )


def _active(level: Level, consent: FromClause) -> ColumnElement[Any]:
    c = consent.c
    return and_(c.revoked_on.is_(None), c.signed_on <= level.today, c.expires_on >= level.today)


@table(models.Referral)
@strawberry.type(description="A referral of a person to a reentry partner for a service.")
class Referral(FromRow):
    pk: strawberry.Private[int]
    person_pk: strawberry.Private[int]
    partner_pk: strawberry.Private[int]
    partner_name: str = classified(
        FieldClass.REFERRALS, "The partner referred to.", source=Computed(_partner_name)
    )
    service_type: ServiceType = classified(FieldClass.REFERRALS, "The service asked for.")
    referred_on: date = classified(FieldClass.REFERRALS, "Date of referral.")
    status: ReferralStatus = classified(FieldClass.REFERRALS, "Open, accepted or closed.")
    notes: str | None = classified(FieldClass.REFERRALS, "Notes for the partner.")
    closed_on: date | None = classified(FieldClass.REFERRALS, "Date closed.")
    closure_reason: str | None = classified(FieldClass.REFERRALS, "Why it was closed.")
    version: int = classified(FieldClass.REFERRALS, "Send this back with an update; a stale one is refused.")

    @resolves(FieldClass.REFERRALS, "Opaque global id.", source=GlobalId("Referral"))
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Referral", self.pk))

    @resolves(
        FieldClass.REFERRALS,
        "Global id of the partner referred to.",
        source=GlobalId("Partner", "partner_id"),
    )
    def partner_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Partner", self.partner_pk))

    @resolves(FieldClass.PUBLIC_PERSON, "The person referred.", source=One("Person", "person_id"))
    async def person(self, info: Info) -> Person | None:
        return await _person(info, self.person_pk)

    @resolves(
        FieldClass.REFERRALS,
        "Services delivered on this referral, earliest first.",
        source=Many("ServiceDelivered", "referral_id", ("delivered_on", "id")),
    )
    async def services(self, info: Info) -> list[ServiceDelivered]:
        rows = await info.context.loaders.services_by_referral_id.load(self.pk)
        return [ServiceDelivered.from_row(r) for r in rows]


@table(models.Consent)
@strawberry.type(
    description="A release-of-information consent: a person lets a partner read some categories."
)
class Consent(FromRow):
    pk: strawberry.Private[int]
    person_pk: strawberry.Private[int]
    partner_pk: strawberry.Private[int]
    purpose: str = classified(FieldClass.REFERRALS, "What the records are released for.")
    signed_on: date = classified(FieldClass.REFERRALS, "Date signed.")
    expires_on: date = classified(FieldClass.REFERRALS, "Last day it is in force.")
    revoked_on: date | None = classified(FieldClass.REFERRALS, "Date revoked, if it was.")
    revocation_reason: str | None = classified(FieldClass.REFERRALS, "Why it was revoked.")
    version: int = classified(FieldClass.REFERRALS, "Send this back with an update; a stale one is refused.")

    @resolves(FieldClass.REFERRALS, "Opaque global id.", source=GlobalId("Consent"))
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Consent", self.pk))

    @resolves(
        FieldClass.REFERRALS,
        "Global id of the partner it releases records to.",
        source=GlobalId("Partner", "partner_id"),
    )
    def partner_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Partner", self.partner_pk))

    @resolves(
        FieldClass.REFERRALS,
        "The categories released.",
        source=Many(models.ConsentGrant, "consent_id", ("category",), scalar="category"),
    )
    async def categories(self, info: Info) -> list[ConsentCategory]:
        values = await info.context.loaders.consent_categories_by_consent_id.load(self.pk)
        return [ConsentCategory(c) for c in values]

    @resolves(FieldClass.REFERRALS, "Whether the consent is in force today.", source=Computed(_active))
    def active(self, info: Info) -> bool:
        today = info.context.now.date()
        return self.revoked_on is None and self.signed_on <= today <= self.expires_on

    @resolves(FieldClass.PUBLIC_PERSON, "The person who signed.", source=One("Person", "person_id"))
    async def person(self, info: Info) -> Person | None:
        return await _person(info, self.person_pk)


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
        f = data.ConsentFilter(
            person_id=_id("Person", person_id, "personId"),
            partner_id=_id("Partner", partner_id, "partnerId"),
            active_on=info.context.now.date() if active else None,
        )
        page = await data.list_consents(info.context.db, info.context.principal, f, first, after)
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
        f = data.ServiceFilter(
            referral_id=_id("Referral", referral_id, "referralId"),
            person_id=_id("Person", person_id, "personId"),
            delivered_from=delivered_from,
            delivered_to=delivered_to,
        )
        page = await data.list_services(info.context.db, info.context.principal, f, first, after)
        return connection(page, ServiceDelivered.from_row)
