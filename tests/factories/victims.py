"""Small factories for victim services' records; every column can be overridden."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from resolvers.models.custody import CustodyEvent, ParoleHearing, Sentence
from resolvers.models.people import Person
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
from tests.factories.people import make_facility, make_person

_seq = itertools.count(1)


async def _add(session: AsyncSession, row: Any) -> Any:
    session.add(row)
    await session.flush()
    return row


async def make_victim(session: AsyncSession, **overrides: Any) -> Victim:
    n = next(_seq)
    values: dict[str, Any] = {
        "kind": "victim",
        "first_name": "Vera",
        "last_name": f"Victimson{n}",
        "email": f"vera{n}@example.org",
        "phone": "573-555-0100",
        "address_line": f"{n} Elm Street",
        "city": "Jefferson City",
        "state": "MO",
        "postal_code": "65101",
    }
    values.update(overrides)
    victim: Victim = await _add(session, Victim(**values))
    return victim


async def make_sentence(session: AsyncSession, person: Person, **overrides: Any) -> Sentence:
    values: dict[str, Any] = {
        "person_id": person.id,
        "cause_number": f"22CR-{next(_seq):05d}",
        "county": "Cole",
        "sentenced_on": date(2022, 3, 1),
        "sentence_type": "prison",
        "term_months": 84,
        "status": "active",
    }
    values.update(overrides)
    sentence: Sentence = await _add(session, Sentence(**values))
    return sentence


async def make_hearing(session: AsyncSession, person: Person, **overrides: Any) -> ParoleHearing:
    facility_id = overrides.pop("facility_id", None) or (await make_facility(session)).id
    values: dict[str, Any] = {
        "person_id": person.id,
        "facility_id": facility_id,
        "hearing_type": "initial",
        "scheduled_for": datetime(2026, 12, 15, 9, 0, tzinfo=UTC),
        "status": "scheduled",
    }
    values.update(overrides)
    hearing: ParoleHearing = await _add(session, ParoleHearing(**values))
    return hearing


async def make_registration(
    session: AsyncSession,
    *,
    victim: Victim | None = None,
    person: Person | None = None,
    preferences: tuple[tuple[str, str | None], ...] = (("email", "reg@example.org"),),
    **overrides: Any,
) -> VictimRegistration:
    if victim is None and "victim_id" not in overrides:
        victim = await make_victim(session)
    person = person or await make_person(session)
    values: dict[str, Any] = {
        "victim_id": victim.id if victim is not None else None,
        "person_id": person.id,
        "relationship": "victim",
        "status": "active",
        "registered_on": date(2023, 1, 10),
    }
    values.update(overrides)
    registration: VictimRegistration = await _add(session, VictimRegistration(**values))
    for channel, destination in preferences:
        session.add(
            NotificationPreference(registration_id=registration.id, channel=channel, destination=destination)
        )
    await session.flush()
    return registration


async def make_notification(
    session: AsyncSession,
    registration: VictimRegistration,
    *,
    event_kind: str = "hearing_scheduled",
    **overrides: Any,
) -> Notification:
    event = await _add(
        session,
        CustodyEvent(
            person_id=registration.person_id,
            kind=event_kind,
            occurred_at=datetime(2026, 11, 1, 12, tzinfo=UTC),
        ),
    )
    values: dict[str, Any] = {
        "registration_id": registration.id,
        "custody_event_id": event.id,
        "channel": "email",
        "destination": "reg@example.org",
        "status": "delivered",
        "attempts": 1,
        "requires_ack": False,
    }
    values.update(overrides)
    notification: Notification = await _add(session, Notification(**values))
    return notification


async def make_attempt(
    session: AsyncSession, notification: Notification, **overrides: Any
) -> DeliveryAttempt:
    values: dict[str, Any] = {
        "notification_id": notification.id,
        "attempted_at": datetime(2026, 11, 1, 12, 5, tzinfo=UTC),
        "outcome": "delivered",
        "detail": None,
    }
    values.update(overrides)
    attempt: DeliveryAttempt = await _add(session, DeliveryAttempt(**values))
    return attempt


async def make_impact_statement(
    session: AsyncSession, registration: VictimRegistration, **overrides: Any
) -> ImpactStatement:
    values: dict[str, Any] = {
        "registration_id": registration.id,
        "submitted_on": date(2024, 5, 1),
        "format": "written",
        "summary": "The harm done to our family.",
    }
    values.update(overrides)
    statement: ImpactStatement = await _add(session, ImpactStatement(**values))
    return statement


async def make_participation(
    session: AsyncSession, registration: VictimRegistration, hearing: ParoleHearing, mode: str = "video"
) -> HearingParticipation:
    participation: HearingParticipation = await _add(
        session, HearingParticipation(registration_id=registration.id, hearing_id=hearing.id, mode=mode)
    )
    return participation


async def make_protection_condition(
    session: AsyncSession, registration: VictimRegistration, **overrides: Any
) -> ProtectionCondition:
    values: dict[str, Any] = {
        "registration_id": registration.id,
        "condition": "No contact with the victim",
        "starts_on": date(2023, 1, 10),
    }
    values.update(overrides)
    condition: ProtectionCondition = await _add(session, ProtectionCondition(**values))
    return condition


async def make_restitution_order(
    session: AsyncSession, person: Person, *, payee: Victim | None = None, **overrides: Any
) -> RestitutionOrder:
    values: dict[str, Any] = {
        "person_id": person.id,
        "payee_victim_id": payee.id if payee else None,
        "ordered_on": date(2022, 3, 1),
        "amount": Decimal("1000.00"),
        "status": "open",
    }
    values.update(overrides)
    order: RestitutionOrder = await _add(session, RestitutionOrder(**values))
    return order


async def make_payment(
    session: AsyncSession, order: RestitutionOrder, **overrides: Any
) -> RestitutionPayment:
    values: dict[str, Any] = {"order_id": order.id, "paid_on": date(2023, 1, 1), "amount": Decimal("100.00")}
    values.update(overrides)
    payment: RestitutionPayment = await _add(session, RestitutionPayment(**values))
    return payment
