"""Notifications of custody events to registered victims, and each delivery attempt.

Old notifications have settled (delivered, acknowledged, failed after retries, cancelled); the last
two weeks still have some pending or being sent, so the delivery worker has something to do.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from random import Random

from hub.synthetic.context import Seeding
from hub.synthetic.writer import Layout

NOTIFICATIONS = Layout(
    "notifications",
    (
        "id", "registration_id", "custody_event_id", "channel", "destination", "status", "attempts",
        "next_attempt_at", "claimed_until", "requires_ack", "ack_code_hash", "acknowledged_at", "last_error",
        "created_at", "version",
    ),
)  # fmt: skip
ATTEMPTS = Layout("delivery_attempts", ("id", "notification_id", "attempted_at", "outcome", "detail"))

NOTIFIED_KINDS = frozenset(
    ("admission", "transfer", "release", "escape", "return", "death", "hearing_scheduled", "hearing_decided")
)
#: Events a registrant must confirm having heard about.
ACKNOWLEDGED_KINDS = frozenset(("release", "escape", "hearing_scheduled"))
_ERRORS = {
    "email": ("mailbox unavailable", "message rejected as spam"),
    "sms": ("number not reachable", "carrier rejected the message"),
    "phone": ("no answer", "number not in service"),
    "letter": ("returned to sender", "address incomplete"),
}


def write_notifications(
    ctx: Seeding,
    rng: Random,
    registration_id: int,
    events: list[tuple[int, str, datetime]],
    registered_on: date,
    until: date,
    channel: str,
    destination: str | None,
) -> None:
    relevant = [e for e in events if e[1] in NOTIFIED_KINDS and registered_on <= e[2].date() <= until]
    for event_id, kind, when in relevant[-6:]:
        _notification(ctx, rng, registration_id, event_id, kind, when, channel, destination)


def _notification(
    ctx: Seeding,
    rng: Random,
    registration_id: int,
    event_id: int,
    kind: str,
    when: datetime,
    channel: str,
    destination: str | None,
) -> None:
    requires_ack = kind in ACKNOWLEDGED_KINDS
    recent = (ctx.as_of - when.date()).days <= 14
    roll = rng.random()
    if recent:
        status = (
            "pending"
            if roll < 0.35
            else "sending"
            if roll < 0.55
            else "delivered"
            if roll < 0.9
            else "failed"
        )
    else:
        status = (
            "delivered"
            if roll < 0.68
            else "failed"
            if roll < 0.8
            else "cancelled"
            if roll < 0.84
            else "delivered"
        )
        if status == "delivered" and requires_ack and rng.random() < 0.7:
            status = "acknowledged"
    notification_id = ctx.ids.take("notifications")
    moment = when + timedelta(minutes=rng.randint(1, 30))
    outcomes: list[tuple[str, str | None]] = []
    if status in ("delivered", "acknowledged"):
        if rng.random() < 0.2:
            outcomes.append(("temporary_failure", rng.choice(_ERRORS[channel])))
        outcomes.append(("delivered", None))
    elif status == "failed":
        error = rng.choice(_ERRORS[channel])
        outcomes += [("temporary_failure", error), ("temporary_failure", error), ("permanent_failure", error)]
    elif status == "sending" and rng.random() < 0.4:
        outcomes.append(("temporary_failure", rng.choice(_ERRORS[channel])))
    for outcome, detail in outcomes:
        ctx.batch.add(ATTEMPTS, (ctx.ids.take("delivery_attempts"), notification_id, moment, outcome, detail))
        moment += timedelta(minutes=rng.randint(5, 90))
    next_attempt = moment if status in ("pending", "sending") else None
    claimed = moment + timedelta(minutes=5) if status == "sending" else None
    ack_hash = f"{rng.getrandbits(256):064x}" if requires_ack else None
    acknowledged = moment + timedelta(hours=rng.randint(1, 72)) if status == "acknowledged" else None
    last_error = outcomes[-1][1] if outcomes and outcomes[-1][0] != "delivered" else None
    ctx.batch.add(
        NOTIFICATIONS,
        (
            notification_id, registration_id, event_id, channel, destination, status, len(outcomes),
            next_attempt, claimed, requires_ack, ack_hash, acknowledged, last_error, when, 1,
        ),
    )  # fmt: skip
