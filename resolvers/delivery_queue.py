"""The notification queue as the delivery worker sees it: claim, recover, record.

A notification is claimed by setting ``claimed_until`` (a lease) in one committed statement, sent
with no transaction open, and recorded by an UPDATE fenced on that same ``claimed_until`` value: a
worker whose lease expired (and whose notification another worker took over) can no longer change
the row, though its attempt is still written down. On PostgreSQL the claim picks rows with
``FOR UPDATE SKIP LOCKED``, so concurrent workers take disjoint batches; SQLite has no row locks
(the clause is not rendered) and its single UPDATE ... RETURNING is atomic, which is safe for the
one worker per SQLite store that the README asks for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, cast, func, insert, literal, or_, select, update
from sqlalchemy.orm import aliased

from resolvers.models.people import CustodyEvent, Facility, ParoleHearing, Person
from resolvers.models.victims import (
    AttemptOutcome,
    DeliveryAttempt,
    Notification,
    NotificationStatus,
)
from resolvers.notifications import MAX_ERROR
from resolvers.session import RequestDb

P = NotificationStatus


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff: timedelta = timedelta(minutes=1)
    backoff_max: timedelta = timedelta(hours=6)
    #: How long an acknowledgement is awaited before a delivery is repeated.
    ack_repeat: timedelta = timedelta(hours=1)

    def retry_at(self, now: datetime, attempts: int) -> datetime:
        """Exponential backoff: base, 2x, 4x ... capped."""
        delay = self.backoff * (1 << min(max(attempts - 1, 0), 30))
        return now + min(delay, self.backoff_max)


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    channel: str
    destination: str | None
    attempts: int
    requires_ack: bool
    #: Whether the notification already went out once (a repeat awaiting acknowledgement).
    repeat: bool
    #: The lease, and the fencing token of every later write by this worker.
    claimed_until: datetime


def _due(now: datetime) -> ColumnElement[bool]:
    n = Notification
    return and_(
        n.claimed_until.is_(None),
        or_(
            and_(n.status == P.PENDING, or_(n.next_attempt_at.is_(None), n.next_attempt_at <= now)),
            and_(
                n.status == P.DELIVERED,
                n.requires_ack.is_(True),
                n.acknowledged_at.is_(None),
                n.next_attempt_at.is_not(None),
                n.next_attempt_at <= now,
            ),
        ),
    )


async def claim(db: RequestDb, now: datetime, lease: timedelta, batch: int, max_attempts: int) -> list[Claim]:
    """Take up to ``batch`` due notifications for ``lease``; the caller commits at once."""
    until = now + lease
    due = (
        select(Notification.id)
        .where(_due(now), Notification.attempts < max_attempts)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    chosen: Any = due
    if db.session.get_bind().dialect.name == "postgresql":
        # Lock the batch first, in its own statement: as a subquery of the UPDATE, PostgreSQL may
        # run a LIMIT ... SKIP LOCKED more than once and take more rows than asked for.
        chosen = list(await db.scalars(due))
        if not chosen:
            return []
    result = await db.execute(
        update(Notification)
        .where(Notification.id.in_(chosen), Notification.claimed_until.is_(None))
        .values(
            claimed_until=until,
            status=case((Notification.status == P.PENDING, P.SENDING), else_=Notification.status),
            attempts=Notification.attempts + 1,
            version=Notification.version + 1,
        )
        .returning(
            Notification.id,
            Notification.channel,
            Notification.destination,
            Notification.attempts,
            Notification.requires_ack,
            Notification.status,
        )
    )
    return sorted(
        (
            Claim(
                id=r.id,
                channel=r.channel,
                destination=r.destination,
                attempts=r.attempts,
                requires_ack=r.requires_ack,
                repeat=r.status == P.DELIVERED,
                claimed_until=until,
            )
            for r in result.all()
        ),
        key=lambda c: c.id,
    )


async def recover_expired(db: RequestDb, now: datetime, max_attempts: int) -> list[int]:
    """Hand back notifications whose worker stopped mid-delivery (its lease ran out).

    Whether that worker's message went out is unknown, so the attempt is recorded as such and the
    notification is sent again (with the same idempotency key) unless it has used its attempts.
    """
    exhausted = Notification.attempts >= max_attempts
    result = await db.execute(
        update(Notification)
        .where(
            or_(
                and_(Notification.claimed_until.is_not(None), Notification.claimed_until < now),
                and_(Notification.status == P.SENDING, Notification.claimed_until.is_(None)),
            )
        )
        .values(
            claimed_until=None,
            status=case(
                (exhausted, P.FAILED),
                (Notification.status == P.SENDING, P.PENDING),
                else_=Notification.status,
            ),
            next_attempt_at=case((exhausted, None), else_=now),
            last_error=case(
                (exhausted, "gave up: the worker stopped mid-delivery on the last allowed attempt"),
                else_="the worker stopped mid-delivery; outcome unknown, sending again",
            ),
            version=Notification.version + 1,
        )
        .returning(Notification.id)
    )
    ids = sorted(r.id for r in result.all())
    if ids:
        await db.execute(
            insert(DeliveryAttempt).values(
                [
                    {
                        "notification_id": i,
                        "attempted_at": now,
                        "outcome": AttemptOutcome.TEMPORARY_FAILURE,
                        "detail": "worker stopped mid-delivery (lease expired); outcome unknown",
                    }
                    for i in ids
                ]
            )
        )
    return ids


async def expire_exhausted(db: RequestDb, now: datetime, max_attempts: int) -> list[int]:
    """Notifications that used their attempts become failed: those delivered that often and never
    acknowledged (once the last wait for an acknowledgement is over), and any left pending."""
    n = Notification
    unacknowledged = and_(
        n.status == P.DELIVERED,
        n.requires_ack.is_(True),
        n.acknowledged_at.is_(None),
        n.next_attempt_at <= now,
    )
    attempts = cast(n.attempts, String)
    result = await db.execute(
        update(n)
        .where(
            n.claimed_until.is_(None),
            n.attempts >= max_attempts,
            or_(unacknowledged, n.status == P.PENDING),
        )
        .values(
            status=P.FAILED,
            next_attempt_at=None,
            last_error=case(
                (n.status == P.DELIVERED, literal("not acknowledged after ") + attempts + " deliveries"),
                else_=literal("gave up after ") + attempts + " attempts: " + func.coalesce(n.last_error, ""),
            ),
            version=n.version + 1,
        )
        .returning(n.id)
    )
    return sorted(r.id for r in result.all())


async def set_ack_code_hash(db: RequestDb, item: Claim, digest: str) -> bool:
    """Store the hash of the code this attempt will carry, before the message leaves."""
    result: Any = await db.execute(
        update(Notification)
        .where(Notification.id == item.id, Notification.claimed_until == item.claimed_until)
        .values(ack_code_hash=digest)
    )
    return bool(result.rowcount == 1)


async def record(
    db: RequestDb,
    item: Claim,
    outcome: AttemptOutcome,
    detail: str,
    now: datetime,
    policy: RetryPolicy,
) -> bool:
    """Write the attempt and move the notification on; False if this worker had lost its lease."""
    detail = detail[:MAX_ERROR]
    await db.execute(
        insert(DeliveryAttempt).values(
            notification_id=item.id, attempted_at=now, outcome=outcome, detail=detail
        )
    )
    values: dict[str, Any]
    if outcome is AttemptOutcome.DELIVERED:
        if item.requires_ack:
            values = {"status": P.DELIVERED, "next_attempt_at": now + policy.ack_repeat, "last_error": None}
        else:
            values = {"status": P.DELIVERED, "next_attempt_at": None, "last_error": None}
    elif outcome is AttemptOutcome.PERMANENT_FAILURE:
        values = {"status": P.FAILED, "next_attempt_at": None, "last_error": detail}
    elif item.attempts >= policy.max_attempts:
        values = {
            "status": P.FAILED,
            "next_attempt_at": None,
            "last_error": f"gave up after {item.attempts} attempts: {detail}"[:MAX_ERROR],
        }
    else:
        values = {
            # A repeat awaiting acknowledgement has gone out before: it stays delivered.
            "status": P.DELIVERED if item.repeat else P.PENDING,
            "next_attempt_at": policy.retry_at(now, item.attempts),
            "last_error": detail,
        }
    result: Any = await db.execute(
        update(Notification)
        .where(Notification.id == item.id, Notification.claimed_until == item.claimed_until)
        .values(**values, claimed_until=None, version=Notification.version + 1)
    )
    return bool(result.rowcount == 1)


# --- what a message says ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventFacts:
    notification_id: int
    kind: str
    occurred_at: datetime
    person_name: str
    doc_id: str
    facility: str | None
    to_facility: str | None
    hearing_at: datetime | None
    decision: str | None


async def event_facts(db: RequestDb, ids: Sequence[int]) -> dict[int, EventFacts]:
    """The custody event behind each notification, in one statement."""
    origin = aliased(Facility)
    target = aliased(Facility)
    rows = await db.rows(
        select(
            Notification.id,
            CustodyEvent.kind,
            CustodyEvent.occurred_at,
            Person.first_name,
            Person.last_name,
            Person.doc_id,
            origin.name.label("facility"),
            target.name.label("to_facility"),
            ParoleHearing.scheduled_for,
            ParoleHearing.decision,
        )
        .join(CustodyEvent, CustodyEvent.id == Notification.custody_event_id)
        .join(Person, Person.id == CustodyEvent.person_id)
        .outerjoin(origin, origin.id == CustodyEvent.facility_id)
        .outerjoin(target, target.id == CustodyEvent.to_facility_id)
        .outerjoin(ParoleHearing, ParoleHearing.id == CustodyEvent.hearing_id)
        .where(Notification.id.in_(ids))
    )
    return {
        r.id: EventFacts(
            notification_id=r.id,
            kind=r.kind,
            occurred_at=r.occurred_at,
            person_name=f"{r.first_name} {r.last_name}",
            doc_id=r.doc_id,
            facility=r.facility,
            to_facility=r.to_facility,
            hearing_at=r.scheduled_for,
            decision=r.decision,
        )
        for r in rows
    }


# --- the queue as the worker's metrics report it -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueState:
    #: Notifications by status (every status present in the store).
    by_status: dict[str, int]
    #: Delivered notifications that need an acknowledgement and have none yet.
    awaiting_acknowledgement: int
    #: Seconds the oldest due notification has waited since it became due (0: none is due).
    oldest_due_s: float


async def queue_state(db: RequestDb, now: datetime) -> QueueState:
    """The whole queue in three aggregate statements (no rows, no victims' details)."""
    n = Notification
    by_status = {
        row.status: int(row.total)
        for row in await db.rows(select(n.status, func.count().label("total")).group_by(n.status))
    }
    awaiting = await db.scalar(
        select(func.count()).where(
            n.status == P.DELIVERED, n.requires_ack.is_(True), n.acknowledged_at.is_(None)
        )
    )
    oldest = await db.scalar(
        select(func.min(func.coalesce(n.next_attempt_at, n.created_at))).where(_due(now))
    )
    if isinstance(oldest, datetime) and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=now.tzinfo)
    waited = (now - oldest).total_seconds() if isinstance(oldest, datetime) else 0.0
    return QueueState(by_status, int(awaiting or 0), max(waited, 0.0))
