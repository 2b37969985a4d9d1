"""Data access for victim services: registrants, registrations, notifications, statements, restitution.

Every statement carries the victims row scope, which only the victim services audience passes;
for any other caller these tables look empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers.batching import many_per_key, one_per_key, rows_by_id, rows_by_key
from resolvers.errors import InvalidInput
from resolvers.keys import key_in
from resolvers.models.custody import CustodyEvent, ParoleHearing
from resolvers.models.victims import (
    DeliveryAttempt,
    HearingParticipation,
    ImpactStatement,
    Notification,
    NotificationPreference,
    NotificationStatus,
    ProtectionCondition,
    RestitutionOrder,
    RestitutionPayment,
    Victim,
    VictimRegistration,
)
from resolvers.pagination import Page, paginate
from resolvers.rows import (
    DeliveryAttemptRow,
    NotificationPreferenceRow,
    ProtectionConditionRow,
    RestitutionPaymentRow,
    VictimRegistrationRow,
    VictimRow,
)
from resolvers.session import RequestDb

MAX_NAME_QUERY = 60


# --- statements: what each type reads, in one place --------------------------------------------------


class NotificationView(NamedTuple):
    """A notification as the lists show it, with the event it announces (``_notifications``)."""

    id: int
    registration_id: int
    channel: str
    destination: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    requires_ack: bool
    acknowledged_at: datetime | None
    last_error: str | None
    created_at: datetime
    event_kind: str
    event_occurred_at: datetime


def _notifications() -> Select[Any]:
    # The event a notification announces travels with it, so a list never costs a statement per row.
    # Internal delivery state (claim lease, acknowledgement code hash) is left out on purpose.
    n = Notification.__table__.c
    return select(
        n.id,
        n.registration_id,
        n.channel,
        n.destination,
        n.status,
        n.attempts,
        n.next_attempt_at,
        n.requires_ack,
        n.acknowledged_at,
        n.last_error,
        n.created_at,
        CustodyEvent.kind.label("event_kind"),
        CustodyEvent.occurred_at.label("event_occurred_at"),
    ).join(CustodyEvent, CustodyEvent.id == Notification.custody_event_id)


class ImpactStatementView(NamedTuple):
    """An impact statement (``impact_statements``, in table order) and its hearing's date, if any."""

    registration_id: int
    hearing_id: int | None
    submitted_on: date
    format: str
    summary: str
    id: int
    created_at: datetime
    hearing_scheduled_for: datetime | None


def _impact_statements() -> Select[Any]:
    return select(
        *ImpactStatement.__table__.columns, ParoleHearing.scheduled_for.label("hearing_scheduled_for")
    ).outerjoin(ParoleHearing, ParoleHearing.id == ImpactStatement.hearing_id)


class ParticipationView(NamedTuple):
    """A hearing participation (``hearing_participations``, in table order) and its hearing."""

    registration_id: int
    hearing_id: int
    mode: str
    id: int
    hearing_scheduled_for: datetime
    hearing_type: str
    hearing_status: str


def _participations() -> Select[Any]:
    return select(
        *HearingParticipation.__table__.columns,
        ParoleHearing.scheduled_for.label("hearing_scheduled_for"),
        ParoleHearing.hearing_type.label("hearing_type"),
        ParoleHearing.status.label("hearing_status"),
    ).join(ParoleHearing, ParoleHearing.id == HearingParticipation.hearing_id)


def paid_on_order() -> Any:
    """What has been paid on the enclosing restitution order (a correlated scalar subquery)."""
    return (
        select(func.coalesce(func.sum(RestitutionPayment.amount), 0))
        .where(RestitutionPayment.order_id == RestitutionOrder.id)
        .scalar_subquery()
    )


class RestitutionOrderView(NamedTuple):
    """A restitution order (``restitution_orders``, in table order) and what has been paid on it."""

    person_id: int
    sentence_id: int | None
    payee_victim_id: int | None
    ordered_on: date
    amount: Decimal
    status: str
    id: int
    created_at: datetime
    version: int
    paid_amount: Decimal


def restitution_orders_statement() -> Select[Any]:
    return select(*RestitutionOrder.__table__.columns, paid_on_order().label("paid_amount"))


# --- root lists -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VictimFilter:
    name: str | None = None
    person_id: int | None = None


async def list_victims(
    db: RequestDb, principal: Principal, f: VictimFilter, first: int | None, after: str | None
) -> Page[VictimRow]:
    conditions: list[ColumnElement[bool]] = [row_scope(principal, Victim)]
    if f.name is not None:
        name = f.name.strip()
        if not name or len(name) > MAX_NAME_QUERY:
            raise InvalidInput("name", f"must be 1 to {MAX_NAME_QUERY} characters")
        for part in name.replace(",", " ").split():
            like = part.lower().replace("%", r"\%").replace("_", r"\_") + "%"
            conditions.append(
                or_(
                    func.lower(Victim.last_name).like(like, escape="\\"),
                    func.lower(Victim.first_name).like(like, escape="\\"),
                )
            )
    if f.person_id is not None:
        conditions.append(
            Victim.id.in_(
                select(VictimRegistration.victim_id).where(
                    row_scope(principal, VictimRegistration), VictimRegistration.person_id == f.person_id
                )
            )
        )
    stmt = select(*Victim.__table__.columns).where(*conditions)
    c = Victim.__table__.c
    return await paginate(
        db, stmt, [c.last_name, c.first_name, c.id], row=VictimRow, first=first, after=after
    )


@dataclass(frozen=True, slots=True)
class RegistrationFilter:
    person_id: int | None = None
    victim_id: int | None = None
    status: str | None = None


async def list_registrations(
    db: RequestDb, principal: Principal, f: RegistrationFilter, first: int | None, after: str | None
) -> Page[VictimRegistrationRow]:
    conditions = [row_scope(principal, VictimRegistration)]
    if f.person_id is not None:
        conditions.append(VictimRegistration.person_id == f.person_id)
    if f.victim_id is not None:
        conditions.append(VictimRegistration.victim_id == f.victim_id)
    if f.status is not None:
        conditions.append(VictimRegistration.status == f.status)
    stmt = select(*VictimRegistration.__table__.columns).where(*conditions)
    return await paginate(
        db, stmt, [VictimRegistration.__table__.c.id], row=VictimRegistrationRow, first=first, after=after
    )


@dataclass(frozen=True, slots=True)
class NotificationFilter:
    statuses: tuple[str, ...] = ()
    unacknowledged: bool = False
    person_id: int | None = None
    registration_id: int | None = None


async def list_notifications(
    db: RequestDb, principal: Principal, f: NotificationFilter, first: int | None, after: str | None
) -> Page[NotificationView]:
    conditions = [row_scope(principal, Notification)]
    if f.statuses:
        conditions.append(Notification.status.in_(f.statuses))
    if f.unacknowledged:
        conditions += [
            Notification.requires_ack.is_(True),
            Notification.acknowledged_at.is_(None),
            Notification.status.not_in([NotificationStatus.CANCELLED, NotificationStatus.ACKNOWLEDGED]),
        ]
    if f.registration_id is not None:
        conditions.append(Notification.registration_id == f.registration_id)
    if f.person_id is not None:
        conditions.append(
            Notification.registration_id.in_(
                select(VictimRegistration.id).where(
                    row_scope(principal, VictimRegistration), VictimRegistration.person_id == f.person_id
                )
            )
        )
    stmt = _notifications().where(*conditions)
    return await paginate(
        db, stmt, [Notification.__table__.c.id], row=NotificationView, first=first, after=after
    )


async def list_impact_statements(
    db: RequestDb,
    principal: Principal,
    person_id: int | None,
    hearing_id: int | None,
    first: int | None,
    after: str | None,
) -> Page[ImpactStatementView]:
    conditions = [row_scope(principal, ImpactStatement)]
    if hearing_id is not None:
        conditions.append(ImpactStatement.hearing_id == hearing_id)
    if person_id is not None:
        conditions.append(
            ImpactStatement.registration_id.in_(
                select(VictimRegistration.id).where(
                    row_scope(principal, VictimRegistration), VictimRegistration.person_id == person_id
                )
            )
        )
    stmt = _impact_statements().where(*conditions)
    c = ImpactStatement.__table__.c
    return await paginate(db, stmt, [c.submitted_on, c.id], row=ImpactStatementView, first=first, after=after)


async def list_restitution_orders(
    db: RequestDb,
    principal: Principal,
    person_id: int | None,
    status: str | None,
    first: int | None,
    after: str | None,
) -> Page[RestitutionOrderView]:
    conditions = [row_scope(principal, RestitutionOrder)]
    if person_id is not None:
        conditions.append(RestitutionOrder.person_id == person_id)
    if status is not None:
        conditions.append(RestitutionOrder.status == status)
    stmt = restitution_orders_statement().where(*conditions)
    c = RestitutionOrder.__table__.c
    return await paginate(db, stmt, [c.ordered_on, c.id], row=RestitutionOrderView, first=first, after=after)


# --- batch functions (one statement per batch; see schema/loaders.py) -----------------------------------


async def victims_by_id(db: RequestDb, principal: Principal, ids: Sequence[int]) -> list[VictimRow | None]:
    return await rows_by_id(db, principal, Victim, VictimRow, ids)


async def victim_registrations_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[VictimRegistrationRow | None]:
    return await rows_by_id(db, principal, VictimRegistration, VictimRegistrationRow, ids)


async def victim_registrations_by_victim_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[VictimRegistrationRow]]:
    return await rows_by_key(db, principal, VictimRegistration, VictimRegistrationRow, "victim_id", ids)


async def notification_preferences_by_registration_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[NotificationPreferenceRow]]:
    return await rows_by_key(
        db, principal, NotificationPreference, NotificationPreferenceRow, "registration_id", ids
    )


async def notifications_by_registration_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[NotificationView]]:
    stmt = (
        _notifications()
        .where(row_scope(principal, Notification), key_in(db, Notification.registration_id, ids))
        .order_by(Notification.id)
    )
    return many_per_key(await db.rows_as(stmt, NotificationView), "registration_id", ids)


async def delivery_attempts_by_notification_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[DeliveryAttemptRow]]:
    return await rows_by_key(
        db, principal, DeliveryAttempt, DeliveryAttemptRow, "notification_id", ids, ("attempted_at", "id")
    )


async def impact_statements_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[ImpactStatementView | None]:
    stmt = _impact_statements().where(
        row_scope(principal, ImpactStatement), key_in(db, ImpactStatement.id, ids)
    )
    return one_per_key(await db.rows_as(stmt, ImpactStatementView), "id", ids)


async def impact_statements_by_registration_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[ImpactStatementView]]:
    stmt = (
        _impact_statements()
        .where(row_scope(principal, ImpactStatement), key_in(db, ImpactStatement.registration_id, ids))
        .order_by(ImpactStatement.submitted_on, ImpactStatement.id)
    )
    return many_per_key(await db.rows_as(stmt, ImpactStatementView), "registration_id", ids)


async def hearing_participations_by_registration_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[ParticipationView]]:
    stmt = (
        _participations()
        .where(
            row_scope(principal, HearingParticipation), key_in(db, HearingParticipation.registration_id, ids)
        )
        .order_by(ParoleHearing.scheduled_for, HearingParticipation.id)
    )
    return many_per_key(await db.rows_as(stmt, ParticipationView), "registration_id", ids)


async def protection_conditions_by_registration_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[ProtectionConditionRow]]:
    return await rows_by_key(
        db,
        principal,
        ProtectionCondition,
        ProtectionConditionRow,
        "registration_id",
        ids,
        ("starts_on", "id"),
    )


async def restitution_orders_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[RestitutionOrderView | None]:
    stmt = restitution_orders_statement().where(
        row_scope(principal, RestitutionOrder), key_in(db, RestitutionOrder.id, ids)
    )
    return one_per_key(await db.rows_as(stmt, RestitutionOrderView), "id", ids)


async def restitution_orders_by_payee_victim_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[RestitutionOrderView]]:
    stmt = (
        restitution_orders_statement()
        .where(row_scope(principal, RestitutionOrder), key_in(db, RestitutionOrder.payee_victim_id, ids))
        .order_by(RestitutionOrder.ordered_on, RestitutionOrder.id)
    )
    return many_per_key(await db.rows_as(stmt, RestitutionOrderView), "payee_victim_id", ids)


async def restitution_payments_by_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[RestitutionPaymentRow | None]:
    return await rows_by_id(db, principal, RestitutionPayment, RestitutionPaymentRow, ids)


async def restitution_payments_by_order_id(
    db: RequestDb, principal: Principal, ids: Sequence[int]
) -> list[list[RestitutionPaymentRow]]:
    stmt = (
        select(*RestitutionPayment.__table__.columns)
        .where(
            and_(row_scope(principal, RestitutionPayment), key_in(db, RestitutionPayment.order_id, ids)),
        )
        .order_by(RestitutionPayment.paid_on, RestitutionPayment.id)
    )
    return many_per_key(await db.rows_as(stmt, RestitutionPaymentRow), "order_id", ids)


async def notification_by_id(db: RequestDb, principal: Principal, pk: int) -> NotificationView | None:
    """One notification as the lists show it (a mutation's payload)."""
    rows = await db.rows_as(
        _notifications().where(row_scope(principal, Notification), Notification.id == pk), NotificationView
    )
    return rows[0] if rows else None
