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

from resolvers.models.custody import CustodyEvent, ParoleHearing
from resolvers.models.people import Facility, Person
from resolvers.models.victims import (
    AttemptOutcome,
    DeliveryAttempt,
    Notification,
    NotificationPreference,
    NotificationStatus,
    RegistrationStatus,
    Victim,
    VictimRegistration,
)
from resolvers.session import RequestDb
from resolvers.victims_notifications import MAX_ERROR

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


@dataclass(frozen=True, slots=True)
class Recovered:
    #: Claims whose lease ran out before their worker began sending: nothing left the hub.
    unsent: list[int]
    #: Claims whose worker began sending and never recorded the outcome within lease + grace.
    unknown: list[int]

    def __len__(self) -> int:
        return len(self.unsent) + len(self.unknown)


async def recover_expired(db: RequestDb, now: datetime, max_attempts: int, grace: timedelta) -> Recovered:
    """Hand back notifications whose worker stopped or lost the store mid-delivery (lease expired).

    A claim that never began sending (``send_started_at`` unset) is handed back as soon as its lease
    runs out, and its attempt is not counted: nothing was sent. A claim that began sending may have
    been delivered and its worker may still be retrying the record of it, so it waits ``grace``
    longer; then its outcome is recorded as unknown and it is sent again (with the same idempotency
    key) unless it has used its attempts.
    """
    n = Notification
    unsent_result = await db.execute(
        update(n)
        .where(n.claimed_until.is_not(None), n.claimed_until < now, n.send_started_at.is_(None))
        .values(
            claimed_until=None,
            status=case((n.status == P.SENDING, P.PENDING), else_=n.status),
            attempts=case((n.attempts > 0, n.attempts - 1), else_=0),
            version=n.version + 1,
        )
        .returning(n.id)
    )
    unsent = sorted(r.id for r in unsent_result.all())
    exhausted = n.attempts >= max_attempts
    result = await db.execute(
        update(n)
        .where(
            or_(
                and_(n.claimed_until.is_not(None), n.claimed_until < now - grace),
                and_(n.status == P.SENDING, n.claimed_until.is_(None)),
            )
        )
        .values(
            claimed_until=None,
            send_started_at=None,
            status=case(
                (exhausted, P.FAILED),
                (n.status == P.SENDING, P.PENDING),
                else_=n.status,
            ),
            next_attempt_at=case((exhausted, None), else_=now),
            last_error=case(
                (exhausted, "gave up: the worker stopped mid-delivery on the last allowed attempt"),
                else_="the worker stopped mid-delivery; outcome unknown, sending again",
            ),
            version=n.version + 1,
        )
        .returning(n.id)
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
    return Recovered(unsent=unsent, unknown=ids)


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


async def start_sending(db: RequestDb, item: Claim, now: datetime, ack_digest: str | None) -> bool:
    """Mark the claim as sending (and store the hash of the code it will carry) before the message
    leaves; False if this worker has lost its lease. The caller commits before sending."""
    values: dict[str, Any] = {"send_started_at": now}
    if ack_digest is not None:
        values["ack_code_hash"] = ack_digest
    result: Any = await db.execute(
        update(Notification)
        .where(Notification.id == item.id, Notification.claimed_until == item.claimed_until)
        .values(**values)
    )
    return bool(result.rowcount == 1)


async def record(
    db: RequestDb,
    item: Claim,
    outcome: AttemptOutcome,
    detail: str,
    now: datetime,
    policy: RetryPolicy,
    *,
    retried: bool = False,
) -> bool:
    """Write the attempt and move the notification on; False if this worker had lost its lease.

    ``now`` is the attempt's time and stays the same when the caller retries after a store failure
    (``retried``): an attempt row with that time and outcome means the earlier try committed though
    its answer was lost, and nothing is written twice.

    A delivery recorded after the lease was lost still counts when no other worker has begun
    sending the notification since (handed back but not yet sent, or claimed and not yet stamped):
    it is marked delivered and that claim is withdrawn, so its worker does not send it again.
    """
    detail = detail[:MAX_ERROR]
    if retried:
        done = await db.scalar(
            select(DeliveryAttempt.id).where(
                DeliveryAttempt.notification_id == item.id,
                DeliveryAttempt.attempted_at == now,
                DeliveryAttempt.outcome == outcome,
                DeliveryAttempt.detail == detail,
            )
        )
        if done is not None:
            return True
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
    n = Notification
    result: Any = await db.execute(
        update(n)
        .where(n.id == item.id, n.claimed_until == item.claimed_until)
        .values(**values, claimed_until=None, send_started_at=None, version=n.version + 1)
    )
    if result.rowcount == 1:
        return True
    if outcome is not AttemptOutcome.DELIVERED:
        return False
    # Late, but the message did go out: keep anyone who has not started sending from sending again.
    not_resent = and_(n.id == item.id, n.send_started_at.is_(None), n.attempts >= item.attempts)
    if item.repeat:
        still = and_(n.status == P.DELIVERED, n.acknowledged_at.is_(None))
    else:
        still = n.status.in_((P.PENDING, P.SENDING, P.FAILED))
    late: Any = await db.execute(
        update(n).where(not_resent, still).values(**values, claimed_until=None, version=n.version + 1)
    )
    return bool(late.rowcount == 1)


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
    #: The registrant's language (ISO 639-1): the notice is written from its templates.
    language: str = "en"


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
            Victim.language,
        )
        .join(CustodyEvent, CustodyEvent.id == Notification.custody_event_id)
        .join(VictimRegistration, VictimRegistration.id == Notification.registration_id)
        .join(Victim, Victim.id == VictimRegistration.victim_id)
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
            language=r.language,
        )
        for r in rows
    }


async def preferred_channels(db: RequestDb) -> dict[str, int]:
    """How many active registrations prefer each channel (active preferences), in one statement."""
    p = NotificationPreference
    rows = await db.rows(
        select(p.channel, func.count(func.distinct(p.registration_id)).label("total"))
        .join(VictimRegistration, VictimRegistration.id == p.registration_id)
        .where(p.active.is_(True), VictimRegistration.status == RegistrationStatus.ACTIVE)
        .group_by(p.channel)
    )
    return {r.channel: int(r.total) for r in rows}


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


async def oldest_due_since(db: RequestDb, now: datetime) -> datetime | None:
    """Since when the longest-waiting notification due to go out now has been due (None: none due)."""
    n = Notification
    since = await db.scalar(select(func.min(func.coalesce(n.next_attempt_at, n.created_at))).where(_due(now)))
    return since if isinstance(since, datetime) else None
