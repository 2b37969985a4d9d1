"""Victim services: registrants, their registrations to a person's case, notifications, impact
statements, hearing participation, protection conditions and restitution; and the root fields that
list and look them up.

Every field is FieldClass.VICTIMS: only the victim services audience may ever see any of it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from auth.classes import FieldClass
from resolvers import victims as data
from resolvers.models.victims import (
    AttemptOutcome,
    Channel,
    NotificationStatus,
    RegistrantKind,
    RegistrationStatus,
    RestitutionStatus,
    StatementFormat,
)
from resolvers.victims import RestitutionOrderView
from schema.compiled.sources import Column
from schema.context import Info
from schema.fields import classified, resolves
from schema.ids import from_global_id, to_global_id
from schema.pagination import Connection, connection
from schema.people import After, PageSize, Person
from schema.rows import FromRow

V = FieldClass.VICTIMS

strawberry.enum(RegistrantKind, description="Who registered: the victim, family or a guardian.")
strawberry.enum(RegistrationStatus, description="Whether a registration still receives notifications.")
strawberry.enum(Channel, name="NotificationChannel", description="How a registrant is notified.")
strawberry.enum(NotificationStatus, description="Where a notification is in its delivery.")
strawberry.enum(AttemptOutcome, name="DeliveryOutcome", description="What one delivery attempt achieved.")
strawberry.enum(StatementFormat, description="How an impact statement was given.")
strawberry.enum(RestitutionStatus, description="Whether a restitution order is still being paid.")


async def _person(info: Info, pk: int) -> Person | None:
    row = await info.context.loaders.people_by_id.load(pk)
    return None if row is None else Person.from_row(row)


@strawberry.type(description="A registrant: a victim, a family member or a guardian.")
class Victim(FromRow):
    pk: strawberry.Private[int]
    kind: RegistrantKind = classified(V, "Victim, family member or guardian.")
    first_name: str = classified(V, "First name.")
    last_name: str = classified(V, "Last name.")
    email: str | None = classified(V, "Email on file.")
    phone: str | None = classified(V, "Phone on file.")
    address_line: str | None = classified(V, "Street address.")
    city: str | None = classified(V, "City.")
    state: str | None = classified(V, "Two-letter state code.")
    postal_code: str | None = classified(V, "Postal code.")
    language: str = classified(V, "Language notices are written in (ISO 639-1): en or es.")
    version: int = classified(V, "Send this back with an update; a stale version is refused.")

    @resolves(V, "Opaque global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Victim", self.pk))

    @resolves(V, "The registrant's links to people's cases.")
    async def registrations(self, info: Info) -> list[VictimRegistration]:
        rows = await info.context.loaders.victim_registrations_by_victim_id.load(self.pk)
        return [VictimRegistration.from_row(r) for r in rows]

    @resolves(V, "Restitution orders payable to this registrant.")
    async def restitution_orders(self, info: Info) -> list[RestitutionOrder]:
        rows = await info.context.loaders.restitution_orders_by_payee_victim_id.load(self.pk)
        return [RestitutionOrder.from_row(r) for r in rows]


@strawberry.type(description="How a registrant wants to be notified.")
class NotificationPreference(FromRow):
    channel: Channel = classified(V, "Email, SMS, letter or phone.")
    destination: str | None = classified(V, "Address or number; empty for letters (sent to the address).")
    active: bool = classified(V, "Whether notifications use this preference.")


@strawberry.type(description="One try at delivering a notification.")
class DeliveryAttempt(FromRow):
    attempted_at: datetime = classified(V, "When it was tried.")
    outcome: AttemptOutcome = classified(V, "Delivered, or a temporary or permanent failure.")
    detail: str | None = classified(V, "What the channel reported.")


@strawberry.type(description="A notice to a registrant about an event in the person's case.")
class Notification(FromRow):
    pk: strawberry.Private[int]
    registration_pk: strawberry.Private[int]
    event_kind: str = classified(V, "The custody event announced, e.g. hearing_scheduled or release.")
    event_occurred_at: datetime = classified(V, "When the event happened (or is scheduled).")
    channel: Channel = classified(V, "How it is sent.")
    destination: str | None = classified(V, "Where it is sent.")
    status: NotificationStatus = classified(
        V, "Pending, sending, delivered, acknowledged, failed, cancelled."
    )
    attempts: int = classified(V, "Delivery attempts so far.")
    next_attempt_at: datetime | None = classified(V, "When the next attempt is due, if any.")
    requires_acknowledgement: bool = classified(
        V, "Whether the registrant must confirm receipt.", source=Column("requires_ack")
    )
    acknowledged_at: datetime | None = classified(V, "When the registrant confirmed receipt.")
    last_error: str | None = classified(V, "The last delivery failure.")
    created_at: datetime = classified(V, "When the notification was created.")

    @resolves(V, "Opaque global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Notification", self.pk))

    @resolves(V, "The registration it was sent for.")
    async def registration(self, info: Info) -> VictimRegistration | None:
        row = await info.context.loaders.victim_registrations_by_id.load(self.registration_pk)
        return None if row is None else VictimRegistration.from_row(row)

    @resolves(V, "Every delivery attempt, oldest first.")
    async def delivery_attempts(self, info: Info) -> list[DeliveryAttempt]:
        rows = await info.context.loaders.delivery_attempts_by_notification_id.load(self.pk)
        return [DeliveryAttempt.from_row(r) for r in rows]


@strawberry.type(description="A victim impact statement, for a hearing or the case.")
class ImpactStatement(FromRow):
    pk: strawberry.Private[int]
    registration_pk: strawberry.Private[int]
    submitted_on: date = classified(V, "When it was given.")
    format: StatementFormat = classified(V, "Written, audio, video or in person.")
    summary: str = classified(V, "The statement or its summary.")
    hearing_scheduled_for: datetime | None = classified(V, "The hearing it was given for, if any.")

    @resolves(V, "Opaque global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("ImpactStatement", self.pk))

    @resolves(V, "The registration it was given under.")
    async def registration(self, info: Info) -> VictimRegistration | None:
        row = await info.context.loaders.victim_registrations_by_id.load(self.registration_pk)
        return None if row is None else VictimRegistration.from_row(row)


@strawberry.type(description="A registrant's part in a parole hearing.")
class HearingParticipation(FromRow):
    mode: str = classified(V, "in_person, video, phone or written.")
    hearing_scheduled_for: datetime = classified(V, "When the hearing is or was.")
    hearing_type: str = classified(V, "Kind of hearing.")
    hearing_status: str = classified(V, "Scheduled, held, postponed or cancelled.")


@strawberry.type(description="A condition protecting the registrant, e.g. no contact.")
class ProtectionCondition(FromRow):
    condition: str = classified(V, "The condition.")
    starts_on: date = classified(V, "From.")
    ends_on: date | None = classified(V, "Until; empty while it lasts.")


@strawberry.type(description="A registrant's link to a person's case: the basis of every notification.")
class VictimRegistration(FromRow):
    pk: strawberry.Private[int]
    victim_pk: strawberry.Private[int]
    person_pk: strawberry.Private[int]
    relationship: str = classified(V, "The registrant's relationship to the case.")
    status: RegistrationStatus = classified(V, "Active or inactive.")
    registered_on: date = classified(V, "When the registration began.")
    ended_on: date | None = classified(V, "When it ended.")
    version: int = classified(V, "Send this back with an update; a stale version is refused.")

    @resolves(V, "Opaque global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("VictimRegistration", self.pk))

    @resolves(V, "The registrant.")
    async def victim(self, info: Info) -> Victim | None:
        row = await info.context.loaders.victims_by_id.load(self.victim_pk)
        return None if row is None else Victim.from_row(row)

    @resolves(V, "The person whose case this is.")
    async def person(self, info: Info) -> Person | None:
        return await _person(info, self.person_pk)

    @resolves(V, "How the registrant wants to be notified.")
    async def preferences(self, info: Info) -> list[NotificationPreference]:
        rows = await info.context.loaders.notification_preferences_by_registration_id.load(self.pk)
        return [NotificationPreference.from_row(r) for r in rows]

    @resolves(V, "Every notification sent for this registration, oldest first.")
    async def notifications(self, info: Info) -> list[Notification]:
        rows = await info.context.loaders.notifications_by_registration_id.load(self.pk)
        return [Notification.from_row(r) for r in rows]

    @resolves(V, "Impact statements given under this registration.")
    async def impact_statements(self, info: Info) -> list[ImpactStatement]:
        rows = await info.context.loaders.impact_statements_by_registration_id.load(self.pk)
        return [ImpactStatement.from_row(r) for r in rows]

    @resolves(V, "Hearings the registrant takes part in.")
    async def hearing_participations(self, info: Info) -> list[HearingParticipation]:
        rows = await info.context.loaders.hearing_participations_by_registration_id.load(self.pk)
        return [HearingParticipation.from_row(r) for r in rows]

    @resolves(V, "Conditions protecting the registrant.")
    async def protection_conditions(self, info: Info) -> list[ProtectionCondition]:
        rows = await info.context.loaders.protection_conditions_by_registration_id.load(self.pk)
        return [ProtectionCondition.from_row(r) for r in rows]


@strawberry.type(description="A payment toward a restitution order.")
class RestitutionPayment(FromRow):
    pk: strawberry.Private[int]
    paid_on: date = classified(V, "When it was paid.")
    amount: Decimal = classified(V, "Amount paid.")
    reference: str | None = classified(V, "Receipt or transaction reference.")

    @resolves(V, "Opaque global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("RestitutionPayment", self.pk))


@strawberry.type(description="Restitution a court ordered the person to pay.")
class RestitutionOrder:
    pk: strawberry.Private[int]
    person_pk: strawberry.Private[int]
    payee_pk: strawberry.Private[int | None]
    ordered_on: date = classified(V, "When it was ordered.")
    amount: Decimal = classified(V, "Amount ordered.")
    paid_amount: Decimal = classified(V, "Paid so far.")
    balance: Decimal = classified(V, "Still owed.")
    status: RestitutionStatus = classified(V, "Open, paid or suspended.")
    version: int = classified(V, "Changes with every payment.")

    @resolves(V, "Opaque global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("RestitutionOrder", self.pk))

    @resolves(V, "The person who owes it.")
    async def person(self, info: Info) -> Person | None:
        return await _person(info, self.person_pk)

    @resolves(V, "The registrant it is payable to, if registered.")
    async def payee(self, info: Info) -> Victim | None:
        if self.payee_pk is None:
            return None
        row = await info.context.loaders.victims_by_id.load(self.payee_pk)
        return None if row is None else Victim.from_row(row)

    @resolves(V, "Payments, oldest first.")
    async def payments(self, info: Info) -> list[RestitutionPayment]:
        rows = await info.context.loaders.restitution_payments_by_order_id.load(self.pk)
        return [RestitutionPayment.from_row(r) for r in rows]

    @classmethod
    def from_row(cls, row: RestitutionOrderView) -> RestitutionOrder:
        amount, paid = Decimal(row.amount), Decimal(row.paid_amount).quantize(Decimal("0.01"))
        return cls(
            pk=row.id,
            person_pk=row.person_id,
            payee_pk=row.payee_victim_id,
            ordered_on=row.ordered_on,
            amount=amount,
            paid_amount=paid,
            balance=amount - paid,
            status=RestitutionStatus(row.status),
            version=row.version,
        )


def _pk(kind: str, value: strawberry.ID | None, field: str) -> int | None:
    return None if value is None else from_global_id(kind, value, field)


@strawberry.type
class Query:
    @resolves(V, "Registrants, by name or by the person whose case they are registered to.")
    async def victims(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        name: Annotated[str | None, strawberry.argument(description="Part of a first or last name.")] = None,
        person_id: strawberry.ID | None = None,
    ) -> Connection[Victim]:
        f = data.VictimFilter(name=name, person_id=_pk("Person", person_id, "personId"))
        page = await data.list_victims(info.context.db, info.context.principal, f, first, after)
        return connection(page, Victim.from_row)

    @resolves(V, "One registrant by global id.")
    async def victim(self, info: Info, id: strawberry.ID) -> Victim | None:
        row = await info.context.loaders.victims_by_id.load(from_global_id("Victim", id))
        return None if row is None else Victim.from_row(row)

    @resolves(V, "Registrations, e.g. the registered victims of one person's case.")
    async def victim_registrations(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        person_id: strawberry.ID | None = None,
        victim_id: strawberry.ID | None = None,
        status: RegistrationStatus | None = None,
    ) -> Connection[VictimRegistration]:
        f = data.RegistrationFilter(
            person_id=_pk("Person", person_id, "personId"),
            victim_id=_pk("Victim", victim_id, "victimId"),
            status=status.value if status else None,
        )
        page = await data.list_registrations(info.context.db, info.context.principal, f, first, after)
        return connection(page, VictimRegistration.from_row)

    @resolves(V, "Notifications: history, pending, failed or acknowledged, oldest first.")
    async def notifications(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        status: Annotated[
            list[NotificationStatus] | None, strawberry.argument(description="Any of these statuses.")
        ] = None,
        unacknowledged: Annotated[
            bool, strawberry.argument(description="Only those awaiting the registrant's acknowledgement.")
        ] = False,
        person_id: strawberry.ID | None = None,
        registration_id: strawberry.ID | None = None,
    ) -> Connection[Notification]:
        f = data.NotificationFilter(
            statuses=tuple(s.value for s in status or ()),
            unacknowledged=unacknowledged,
            person_id=_pk("Person", person_id, "personId"),
            registration_id=_pk("VictimRegistration", registration_id, "registrationId"),
        )
        page = await data.list_notifications(info.context.db, info.context.principal, f, first, after)
        return connection(page, Notification.from_row)

    @resolves(V, "Impact statements, oldest first, for a person's case or a hearing.")
    async def impact_statements(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        person_id: strawberry.ID | None = None,
        hearing_id: strawberry.ID | None = None,
    ) -> Connection[ImpactStatement]:
        page = await data.list_impact_statements(
            info.context.db,
            info.context.principal,
            _pk("Person", person_id, "personId"),
            _pk("ParoleHearing", hearing_id, "hearingId"),
            first,
            after,
        )
        return connection(page, ImpactStatement.from_row)

    @resolves(V, "Restitution orders, oldest first, with what is paid and what is owed.")
    async def restitution_orders(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        person_id: strawberry.ID | None = None,
        status: RestitutionStatus | None = None,
    ) -> Connection[RestitutionOrder]:
        page = await data.list_restitution_orders(
            info.context.db,
            info.context.principal,
            _pk("Person", person_id, "personId"),
            status.value if status else None,
            first,
            after,
        )
        return connection(page, RestitutionOrder.from_row)
