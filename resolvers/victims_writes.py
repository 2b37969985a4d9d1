"""Victim services' writes: register a victim to a case, contact preferences, impact statements,
restitution payments, and staff's part in delivering notifications (retry a failed one, record an
acknowledgement taken by phone). Each refusal names the field and the rule; the caller's savepoint undoes the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import delete, select, update

from auth.audit import record_event
from auth.principal import Principal
from auth.scopes import row_scope
from resolvers import validation as v
from resolvers.batching import row_by_id
from resolvers.errors import Conflict, InvalidInput, NotFound
from resolvers.models.custody import ParoleHearing, Sentence
from resolvers.models.people import Person
from resolvers.models.victims import (
    Channel,
    ImpactStatement,
    Language,
    Notification,
    NotificationPreference,
    NotificationStatus,
    RegistrationStatus,
    RestitutionOrder,
    RestitutionPayment,
    RestitutionStatus,
    Victim,
    VictimRegistration,
)
from resolvers.rows import VictimRegistrationRow
from resolvers.session import RequestDb
from resolvers.versioned import update_versioned
from resolvers.victims import restitution_orders_statement

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")
_PHONE = re.compile(r"^\+?[0-9 ().-]+$")


def check_email(field: str, value: str) -> str:
    if not _EMAIL.match(value):
        raise InvalidInput(field, "must look like an email address (name@example.org)")
    return value


def check_phone(field: str, value: str) -> str:
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE.match(value) or not 10 <= digits <= 15:
        raise InvalidInput(field, "must look like a phone number (10 to 15 digits)")
    return value


@dataclass(frozen=True, slots=True)
class NewPreference:
    channel: str
    destination: str | None


@dataclass(frozen=True, slots=True)
class NewVictim:
    kind: str
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None
    address_line: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    language: str = Language.EN.value


@dataclass(frozen=True, slots=True)
class NewRegistration:
    person_id: int
    sentence_id: int | None
    victim_id: int | None
    victim: NewVictim | None
    relationship: str
    registered_on: date | None
    preferences: tuple[NewPreference, ...]


def _has_postal_address(victim: Any) -> bool:
    return all((victim.address_line, victim.city, victim.state, victim.postal_code))


def _preferences(prefs: tuple[NewPreference, ...], victim: Any) -> list[tuple[str, str | None]]:
    """Validated (channel, destination) pairs; at least one of them must reach the registrant."""
    if not prefs:
        raise InvalidInput("preferences", "must include at least one usable notification preference")
    if len(prefs) > 8:
        raise InvalidInput("preferences", "must be at most 8")
    cleaned: list[tuple[str, str | None]] = []
    for i, pref in enumerate(prefs):
        field = f"preferences[{i}].destination"
        destination = v.optional_text(field, pref.destination, max_length=254)
        if pref.channel == Channel.EMAIL:
            if destination is None:
                raise InvalidInput(field, "is required for EMAIL")
            check_email(field, destination)
        elif pref.channel in (Channel.SMS, Channel.PHONE):
            if destination is None:
                raise InvalidInput(field, f"is required for {pref.channel.upper()}")
            check_phone(field, destination)
        elif pref.channel == Channel.LETTER:
            if destination is not None:
                raise InvalidInput(field, "must be empty for LETTER (letters go to the registrant's address)")
            if not _has_postal_address(victim):
                raise InvalidInput(
                    f"preferences[{i}].channel", "LETTER needs the registrant's full postal address"
                )
        cleaned.append((pref.channel, destination))
    return cleaned


def _language(code: str) -> str:
    """An ISO 639-1 code of a language the notices are written in."""
    cleaned = code.strip().lower()
    if cleaned not in {lang.value for lang in Language}:
        supported = ", ".join(lang.value for lang in Language)
        raise InvalidInput("victim.language", f"must be one of {supported} (an ISO 639-1 code)")
    return cleaned


def _new_victim(new: NewVictim) -> Victim:
    email = v.optional_text("victim.email", new.email, max_length=254)
    phone = v.optional_text("victim.phone", new.phone, max_length=20)
    state = v.optional_text("victim.state", new.state, max_length=2)
    if state is not None and not (len(state) == 2 and state.isalpha()):
        raise InvalidInput("victim.state", "must be a two-letter state code")
    return Victim(
        kind=new.kind,
        first_name=v.text("victim.firstName", new.first_name, max_length=60),
        last_name=v.text("victim.lastName", new.last_name, max_length=60),
        email=None if email is None else check_email("victim.email", email),
        phone=None if phone is None else check_phone("victim.phone", phone),
        address_line=v.optional_text("victim.addressLine", new.address_line, max_length=200),
        city=v.optional_text("victim.city", new.city, max_length=80),
        state=None if state is None else state.upper(),
        postal_code=v.optional_text("victim.postalCode", new.postal_code, max_length=10),
        language=_language(new.language),
    )


async def register_victim(db: RequestDb, principal: Principal, new: NewRegistration, today: date) -> int:
    relationship = v.text("relationship", new.relationship, max_length=40)
    registered_on = v.not_future("registeredOn", new.registered_on or today, today)
    if (new.victim_id is None) == (new.victim is None):
        raise InvalidInput("victimId", "give either victimId (a registrant on file) or victim (a new one)")
    person = await db.scalar(
        select(Person.id).where(row_scope(principal, Person), Person.id == new.person_id)
    )
    if person is None:
        raise NotFound("Person", "personId")
    if new.sentence_id is not None:
        sentence = await db.scalar(
            select(Sentence.id).where(Sentence.id == new.sentence_id, Sentence.person_id == new.person_id)
        )
        if sentence is None:
            raise NotFound("Sentence of that person", "sentenceId")
    victim: Any
    if new.victim_id is not None:
        found = await db.rows(
            select(*Victim.__table__.columns).where(row_scope(principal, Victim), Victim.id == new.victim_id)
        )
        if not found:
            raise NotFound("Victim", "victimId")
        victim = found[0]
        duplicate = await db.scalar(
            select(VictimRegistration.id).where(
                row_scope(principal, VictimRegistration),
                VictimRegistration.victim_id == victim.id,
                VictimRegistration.person_id == new.person_id,
                VictimRegistration.status == RegistrationStatus.ACTIVE,
            )
        )
        if duplicate is not None:
            # Also the answer to a concurrent registration that lost the race (the store's
            # uq_victim_registrations_one_active refuses its row; run_mutation runs the write again).
            raise Conflict("victimId", "is already actively registered to this person's case")
    else:
        assert new.victim is not None
        victim = _new_victim(new.victim)
    preferences = _preferences(new.preferences, victim)
    if isinstance(victim, Victim):
        db.add(victim)
        await db.flush()
    registration = VictimRegistration(
        victim_id=victim.id,
        person_id=new.person_id,
        sentence_id=new.sentence_id,
        relationship=relationship,
        status=RegistrationStatus.ACTIVE,
        registered_on=registered_on,
    )
    db.add(registration)
    await db.flush()
    for channel, destination in preferences:
        db.add(
            NotificationPreference(registration_id=registration.id, channel=channel, destination=destination)
        )
    await db.flush()
    return int(registration.id)


async def _registration(db: RequestDb, principal: Principal, registration_id: int) -> VictimRegistrationRow:
    row = await row_by_id(db, principal, VictimRegistration, VictimRegistrationRow, registration_id)
    if row is None:
        raise NotFound("VictimRegistration", "registrationId")
    return row


async def change_contact_preferences(
    db: RequestDb, principal: Principal, registration_id: int, version: int, prefs: tuple[NewPreference, ...]
) -> int:
    """Replace a registration's notification preferences with ``prefs``."""
    registration = await _registration(db, principal, registration_id)
    v.check_version("registration", registration.version, version)
    victim = (
        await db.rows(
            select(*Victim.__table__.columns).where(
                row_scope(principal, Victim), Victim.id == registration.victim_id
            )
        )
    )[0]
    preferences = _preferences(prefs, victim)
    await update_versioned(
        db, VictimRegistration, registration.id, version, entity="registration", field="registrationId"
    )
    await db.execute(
        delete(NotificationPreference).where(NotificationPreference.registration_id == registration.id)
    )
    for channel, destination in preferences:
        db.add(
            NotificationPreference(registration_id=registration.id, channel=channel, destination=destination)
        )
    await db.flush()
    return int(registration.id)


@dataclass(frozen=True, slots=True)
class NewImpactStatement:
    registration_id: int
    hearing_id: int | None
    submitted_on: date | None
    format: str
    summary: str


async def record_impact_statement(
    db: RequestDb, principal: Principal, new: NewImpactStatement, today: date
) -> int:
    summary = v.text("summary", new.summary, max_length=20_000)
    submitted_on = v.not_future("submittedOn", new.submitted_on or today, today)
    registration = await _registration(db, principal, new.registration_id)
    if registration.status != RegistrationStatus.ACTIVE:
        raise Conflict("registrationId", "is not active; reactivate the registration first")
    v.not_before("submittedOn", submitted_on, "the registration date", registration.registered_on)
    if new.hearing_id is not None:
        hearing = await db.scalar(
            select(ParoleHearing.id).where(
                ParoleHearing.id == new.hearing_id, ParoleHearing.person_id == registration.person_id
            )
        )
        if hearing is None:
            raise NotFound("Hearing of the registered case", "hearingId")
    statement = ImpactStatement(
        registration_id=registration.id,
        hearing_id=new.hearing_id,
        submitted_on=submitted_on,
        format=new.format,
        summary=summary,
    )
    db.add(statement)
    await db.flush()
    return statement.id


@dataclass(frozen=True, slots=True)
class PaymentRecorded:
    order_id: int
    payment_id: int
    #: True when the receipt was already recorded on the order: nothing was written this time.
    replayed: bool = False


async def _recorded_receipt(
    db: RequestDb, order_id: int, reference: str, amount: Decimal, paid_on: date | None
) -> int | None:
    """The payment already recorded on the order under this receipt reference, if the same one.

    A receipt reference names one payment of one order: sending it again (a retry without an
    idempotency key, a double submission) answers with that payment; the same reference with
    another amount or date is refused, since it cannot be the same payment.
    """
    rows = await db.rows(
        select(RestitutionPayment.id, RestitutionPayment.amount, RestitutionPayment.paid_on).where(
            RestitutionPayment.order_id == order_id, RestitutionPayment.reference == reference
        )
    )
    if not rows:
        return None
    first = rows[0]
    if Decimal(first.amount) != amount or (paid_on is not None and first.paid_on != paid_on):
        raise Conflict(
            "reference",
            f"{reference} is already recorded on this order as a payment of {Decimal(first.amount):.2f} "
            f"on {first.paid_on.isoformat()}; a receipt is recorded once",
        )
    return int(first.id)


async def record_restitution_payment(
    db: RequestDb,
    principal: Principal,
    order_id: int,
    amount: Decimal,
    paid_on: date | None,
    reference: str | None,
    today: date,
) -> PaymentRecorded:
    """Record a payment on an open order; the order is paid when nothing remains.

    The receipt reference is the payment's natural key within its order: the same receipt again
    is a replay that returns the payment on file.
    """
    amount = v.positive_amount("amount", amount)
    paid = v.not_future("paidOn", paid_on or today, today)
    ref = v.optional_text("reference", reference, max_length=40)
    # FOR UPDATE (PostgreSQL) keeps two concurrent payments from both fitting the same balance,
    # and makes a concurrent resend of one receipt wait for the first and find it.
    rows = await db.rows(
        restitution_orders_statement()
        .where(row_scope(principal, RestitutionOrder), RestitutionOrder.id == order_id)
        .with_for_update(of=RestitutionOrder)
    )
    if not rows:
        raise NotFound("RestitutionOrder", "orderId")
    order = rows[0]
    if ref is not None:
        on_file = await _recorded_receipt(db, order.id, ref, amount, paid_on)
        if on_file is not None:
            return PaymentRecorded(order.id, on_file, replayed=True)
    if order.status != RestitutionStatus.OPEN:
        raise Conflict("orderId", f"is {order.status}; payments go only to open orders")
    v.not_before("paidOn", paid, "the order date", order.ordered_on)
    balance = Decimal(order.amount) - Decimal(order.paid_amount)
    if amount > balance:
        raise InvalidInput("amount", f"must not exceed the remaining balance of the order ({balance:.2f})")
    payment = RestitutionPayment(order_id=order.id, paid_on=paid, amount=amount, reference=ref)
    db.add(payment)
    await db.flush()
    values: dict[str, Any] = {"version": order.version + 1}
    if amount == balance:
        values["status"] = RestitutionStatus.PAID
    await db.execute(update(RestitutionOrder).where(RestitutionOrder.id == order.id).values(**values))
    return PaymentRecorded(order.id, payment.id)


# --- notifications: staff's part of delivery ------------------------------------------------------------


class _AckState(NamedTuple):
    """What acknowledging a notification reads of it (``_notification``)."""

    id: int
    status: str
    requires_ack: bool
    acknowledged_at: datetime | None
    claimed_until: datetime | None


async def _notification(db: RequestDb, principal: Principal, pk: int) -> _AckState:
    rows = await db.rows_as(
        select(
            Notification.id,
            Notification.status,
            Notification.requires_ack,
            Notification.acknowledged_at,
            Notification.claimed_until,
        ).where(row_scope(principal, Notification), Notification.id == pk),
        _AckState,
    )
    if not rows:
        raise NotFound("notification")
    return rows[0]


async def _ledger(db: RequestDb, principal: Principal, kind: str, **detail: Any) -> None:
    # Under the victim services audience: the ledger seals these from every other reader.
    await db.uncounted(
        lambda: record_event(
            db.session,
            kind=kind,
            partner_id=principal.partner_id,
            client_id=principal.client_id,
            staff_subject=principal.subject,
            audience=principal.audience.value,
            detail=detail,
        ),
    )


async def retry_notification(db: RequestDb, principal: Principal, pk: int, now: datetime) -> int:
    """Send a failed notification again: it is pending at once, with a full round of attempts (its
    earlier attempts stay in its delivery history)."""
    row = await _notification(db, principal, pk)
    if row.status != NotificationStatus.FAILED:
        raise Conflict("id", f"is {row.status}; only a failed notification can be retried")
    n = Notification
    result: Any = await db.execute(
        update(n)
        .where(n.id == pk, n.status == NotificationStatus.FAILED, n.claimed_until.is_(None))
        .values(
            status=NotificationStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            send_started_at=None,
            version=n.version + 1,
        )
    )
    if result.rowcount != 1:
        raise Conflict("id", "changed while it was being retried; read it again")
    await _ledger(db, principal, "notification.retried", notification=pk)
    return pk


async def record_acknowledgement(
    db: RequestDb, principal: Principal, pk: int, taken_by: str, note: str | None, now: datetime
) -> int:
    """Record the registrant's acknowledgement taken by staff (on the phone), as the link or code would
    have: the notification is acknowledged and is not repeated. One already acknowledged stays as it
    was; a cancelled one cannot be acknowledged."""
    taken_by = v.text("takenBy", taken_by, max_length=120)
    note = v.optional_text("note", note, max_length=500)
    row = await _notification(db, principal, pk)
    if not row.requires_ack:
        raise Conflict("id", "needs no acknowledgement")
    if row.acknowledged_at is not None:
        return pk
    if row.status in (NotificationStatus.CANCELLED, NotificationStatus.PENDING, NotificationStatus.SENDING):
        raise Conflict("id", f"is {row.status}; only a delivered or failed notification can be acknowledged")
    n = Notification
    result: Any = await db.execute(
        update(n)
        .where(n.id == pk, n.acknowledged_at.is_(None), n.status == row.status)
        .values(
            status=NotificationStatus.ACKNOWLEDGED,
            acknowledged_at=now,
            next_attempt_at=None,
            version=n.version + 1,
        )
    )
    if result.rowcount != 1:
        raise Conflict("id", "changed while the acknowledgement was recorded; read it again")
    await _ledger(
        db,
        principal,
        "notification.acknowledged",
        notification=pk,
        channel="phone",
        taken_by=taken_by,
        note=note,
    )
    return pk
