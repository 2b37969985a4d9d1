"""Victim services' mutations: register a victim, change contact preferences, record an impact
statement, record a restitution payment, retry a failed notification, record an acknowledgement
taken by phone."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import strawberry

from auth.classes import FieldClass
from resolvers import idempotency
from resolvers import victims as data
from resolvers import victims_writes as writes
from resolvers.models.partners import Audience
from resolvers.models.victims import (
    Channel,
    RegistrantKind,
    StatementFormat,
)
from schema.context import Info
from schema.fields import classified, mutation
from schema.ids import from_global_id
from schema.mutations import IdempotencyKey, MutationError, Payload, Refs, run_mutation
from schema.victims import (
    ImpactStatement,
    Notification,
    RestitutionOrder,
    RestitutionPayment,
    VictimRegistration,
)

V = FieldClass.VICTIMS


@strawberry.input(description="One way to reach a registrant.")
class NotificationPreferenceInput:
    channel: Channel
    destination: str | None = strawberry.field(
        default=None,
        description="An email address for EMAIL, a phone number for SMS and PHONE; empty for LETTER "
        "(which needs the registrant's full postal address).",
    )


@strawberry.input(description="A registrant not yet on file.")
class NewVictimInput:
    kind: RegistrantKind
    first_name: str = strawberry.field(description="Up to 60 characters.")
    last_name: str = strawberry.field(description="Up to 60 characters.")
    email: str | None = None
    phone: str | None = None
    address_line: str | None = None
    city: str | None = None
    state: str | None = strawberry.field(default=None, description="Two-letter code.")
    postal_code: str | None = None
    language: str = strawberry.field(
        default="en", description="Language of the notices (ISO 639-1): en (default) or es."
    )


@strawberry.input(description="Register a victim (on file or new) to a person's case.")
class RegisterVictimInput:
    person_id: strawberry.ID = strawberry.field(description="The person whose case it is.")
    relationship: str = strawberry.field(description="Up to 40 characters, e.g. victim, spouse, parent.")
    preferences: list[NotificationPreferenceInput] = strawberry.field(
        description="At least one usable way to notify the registrant."
    )
    victim_id: strawberry.ID | None = strawberry.field(default=None, description="A registrant on file…")
    victim: NewVictimInput | None = strawberry.field(default=None, description="…or a new one.")
    sentence_id: strawberry.ID | None = strawberry.field(
        default=None, description="One sentence of the case."
    )
    registered_on: date | None = strawberry.field(
        default=None, description="Default today; not in the future."
    )


@strawberry.input(description="Replace a registration's notification preferences.")
class ChangeContactPreferencesInput:
    registration_id: strawberry.ID
    version: int = strawberry.field(description="The registration's version you read.")
    preferences: list[NotificationPreferenceInput]


@strawberry.input(description="A victim impact statement.")
class RecordImpactStatementInput:
    registration_id: strawberry.ID
    format: StatementFormat
    summary: str = strawberry.field(description="Up to 20,000 characters.")
    hearing_id: strawberry.ID | None = strawberry.field(default=None, description="A hearing of the case.")
    submitted_on: date | None = strawberry.field(
        default=None, description="Default today; not in the future."
    )


@strawberry.input(description="A payment toward a restitution order.")
class RecordRestitutionPaymentInput:
    order_id: strawberry.ID
    amount: Decimal = strawberry.field(description="More than zero, at most the remaining balance.")
    paid_on: date | None = strawberry.field(default=None, description="Default today; not in the future.")
    reference: str | None = strawberry.field(
        default=None,
        description="The receipt's reference, up to 40 characters, recorded once per order: sending the "
        "same receipt again (same amount) answers with the payment on file and replayed true; the same "
        "reference with another amount or paidOn is refused as a CONFLICT.",
    )


@strawberry.input(description="The notification to act on.")
class NotificationInput:
    id: strawberry.ID


@strawberry.input(description="An acknowledgement the registrant gave staff (on the phone).")
class RecordNotificationAcknowledgementInput:
    id: strawberry.ID
    taken_by: str = strawberry.field(description="Who took it, up to 120 characters.")
    note: str | None = strawberry.field(default=None, description="Up to 500 characters.")


@strawberry.type(description="The result of a write to a notification.")
class NotificationPayload(Payload):
    notification: Notification | None = classified(FieldClass.STRUCTURE, "As it is now; null when refused.")


@strawberry.type(description="The result of a write to a victim registration.")
class VictimRegistrationPayload(Payload):
    registration: VictimRegistration | None = classified(
        FieldClass.STRUCTURE, "As it is now; null when refused."
    )


@strawberry.type(description="The result of recording an impact statement.")
class ImpactStatementPayload(Payload):
    impact_statement: ImpactStatement | None = classified(FieldClass.STRUCTURE, "Null when refused.")


@strawberry.type(description="The result of recording a restitution payment.")
class RestitutionPaymentPayload(Payload):
    payment: RestitutionPayment | None = classified(FieldClass.STRUCTURE, "Null when refused.")
    order: RestitutionOrder | None = classified(FieldClass.STRUCTURE, "The order after the payment.")


def _preferences(prefs: list[NotificationPreferenceInput]) -> tuple[writes.NewPreference, ...]:
    return tuple(writes.NewPreference(channel=p.channel.value, destination=p.destination) for p in prefs)


async def _registration_payload(
    info: Info, refs: Refs | None, errors: list[MutationError], replayed: bool
) -> VictimRegistrationPayload:
    registration = None
    if refs is not None:
        row = await info.context.loaders.victim_registrations_by_id.load(refs["registration"])
        registration = None if row is None else VictimRegistration.from_row(row)
    return VictimRegistrationPayload(registration=registration, errors=errors, replayed=replayed)


async def _notification_payload(
    info: Info, refs: Refs | None, errors: list[MutationError], replayed: bool
) -> NotificationPayload:
    notification = None
    if refs is not None:
        row = await data.notification_by_id(info.context.db, info.context.principal, refs["notification"])
        notification = None if row is None else Notification.from_row(row)
    return NotificationPayload(notification=notification, errors=errors, replayed=replayed)


@strawberry.type
class Mutation:
    @mutation(
        V,
        "Register a victim, family member or guardian to a person's case.",
        audiences=(Audience.VICTIM_SERVICES,),
    )
    async def register_victim(
        self, info: Info, input: RegisterVictimInput, idempotency_key: IdempotencyKey = None
    ) -> VictimRegistrationPayload:
        ctx = info.context

        async def write() -> Refs:
            victim = None
            if input.victim is not None:
                n = input.victim
                victim = writes.NewVictim(
                    kind=n.kind.value,
                    first_name=n.first_name,
                    last_name=n.last_name,
                    email=n.email,
                    phone=n.phone,
                    address_line=n.address_line,
                    city=n.city,
                    state=n.state,
                    postal_code=n.postal_code,
                    language=n.language,
                )
            new = writes.NewRegistration(
                person_id=from_global_id("Person", input.person_id, "personId"),
                sentence_id=(
                    from_global_id("Sentence", input.sentence_id, "sentenceId") if input.sentence_id else None
                ),
                victim_id=from_global_id("Victim", input.victim_id, "victimId") if input.victim_id else None,
                victim=victim,
                relationship=input.relationship,
                registered_on=input.registered_on,
                preferences=_preferences(input.preferences),
            )
            return {"registration": await writes.register_victim(ctx.db, ctx.principal, new, ctx.now.date())}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _registration_payload(info, outcome.refs, outcome.errors, outcome.replayed)

    @mutation(
        V, "Replace how a registrant is notified about one case.", audiences=(Audience.VICTIM_SERVICES,)
    )
    async def change_contact_preferences(
        self, info: Info, input: ChangeContactPreferencesInput, idempotency_key: IdempotencyKey = None
    ) -> VictimRegistrationPayload:
        ctx = info.context

        async def write() -> Refs:
            pk = from_global_id("VictimRegistration", input.registration_id, "registrationId")
            done = await writes.change_contact_preferences(
                ctx.db, ctx.principal, pk, input.version, _preferences(input.preferences)
            )
            return {"registration": done}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _registration_payload(info, outcome.refs, outcome.errors, outcome.replayed)

    @mutation(V, "Record a victim impact statement.", audiences=(Audience.VICTIM_SERVICES,))
    async def record_impact_statement(
        self, info: Info, input: RecordImpactStatementInput, idempotency_key: IdempotencyKey = None
    ) -> ImpactStatementPayload:
        ctx = info.context

        async def write() -> Refs:
            new = writes.NewImpactStatement(
                registration_id=from_global_id("VictimRegistration", input.registration_id, "registrationId"),
                hearing_id=(
                    from_global_id("ParoleHearing", input.hearing_id, "hearingId")
                    if input.hearing_id
                    else None
                ),
                submitted_on=input.submitted_on,
                format=input.format.value,
                summary=input.summary,
            )
            return {
                "statement": await writes.record_impact_statement(ctx.db, ctx.principal, new, ctx.now.date())
            }

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        statement = None
        if outcome.refs is not None:
            row = await ctx.loaders.impact_statements_by_id.load(outcome.refs["statement"])
            statement = None if row is None else ImpactStatement.from_row(row)
        return ImpactStatementPayload(
            impact_statement=statement, errors=outcome.errors, replayed=outcome.replayed
        )

    @mutation(
        V,
        "Record a payment toward a restitution order; the order is paid when nothing remains.",
        audiences=(Audience.VICTIM_SERVICES,),
    )
    async def record_restitution_payment(
        self, info: Info, input: RecordRestitutionPaymentInput, idempotency_key: IdempotencyKey = None
    ) -> RestitutionPaymentPayload:
        ctx = info.context

        async def write() -> Refs:
            recorded = await writes.record_restitution_payment(
                ctx.db,
                ctx.principal,
                from_global_id("RestitutionOrder", input.order_id, "orderId"),
                input.amount,
                input.paid_on,
                input.reference,
                ctx.now.date(),
            )
            refs = {"order": recorded.order_id, "payment": recorded.payment_id}
            if recorded.replayed:
                raise idempotency.Replay(refs)
            return refs

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        payment = order = None
        if outcome.refs is not None:
            prow = await ctx.loaders.restitution_payments_by_id.load(outcome.refs["payment"])
            orow = await ctx.loaders.restitution_orders_by_id.load(outcome.refs["order"])
            payment = None if prow is None else RestitutionPayment.from_row(prow)
            order = None if orow is None else RestitutionOrder.from_row(orow)
        return RestitutionPaymentPayload(
            payment=payment, order=order, errors=outcome.errors, replayed=outcome.replayed
        )

    @mutation(
        V,
        "Send a failed notification again: pending at once, with a full round of attempts.",
        audiences=(Audience.VICTIM_SERVICES,),
    )
    async def retry_notification(
        self, info: Info, input: NotificationInput, idempotency_key: IdempotencyKey = None
    ) -> NotificationPayload:
        ctx = info.context

        async def write() -> Refs:
            pk = from_global_id("Notification", input.id, "id")
            return {"notification": await writes.retry_notification(ctx.db, ctx.principal, pk, ctx.now)}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _notification_payload(info, outcome.refs, outcome.errors, outcome.replayed)

    @mutation(
        V,
        "Record the registrant's acknowledgement of a notification, taken by phone: it is acknowledged "
        "and not repeated. One already acknowledged stays as it was.",
        audiences=(Audience.VICTIM_SERVICES,),
    )
    async def record_notification_acknowledgement(
        self,
        info: Info,
        input: RecordNotificationAcknowledgementInput,
        idempotency_key: IdempotencyKey = None,
    ) -> NotificationPayload:
        ctx = info.context

        async def write() -> Refs:
            pk = from_global_id("Notification", input.id, "id")
            done = await writes.record_acknowledgement(
                ctx.db, ctx.principal, pk, input.taken_by, input.note, ctx.now
            )
            return {"notification": done}

        outcome = await run_mutation(info, strawberry.asdict(input), idempotency_key, write)
        return await _notification_payload(info, outcome.refs, outcome.errors, outcome.replayed)
