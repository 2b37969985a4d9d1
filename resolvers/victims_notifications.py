"""Victim notifications: created with the custody event they announce, acknowledged by the registrant.

``create_notifications`` runs inside the transaction that records a custody event, so an event and
its notifications exist together or not at all. It writes one notification per active registration
of the person and active preference; a preference that cannot reach anyone (an invalid address, a
letter without a postal address) and a registration without any preference are written too, as
``failed`` with the reason, so that victim services sees them instead of a silent gap.

Delivery (claiming, sending, retrying) is the worker's: see ``resolvers/victims_delivery_queue.py``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import insert, select, update

from resolvers.errors import InvalidInput
from resolvers.models.custody import CustodyEventKind
from resolvers.models.victims import (
    Channel,
    Notification,
    NotificationPreference,
    NotificationStatus,
    RegistrationStatus,
    Victim,
    VictimRegistration,
)
from resolvers.session import RequestDb
from resolvers.victims_writes import check_email, check_phone

#: Events registered victims are told about.
NOTIFIABLE_KINDS = frozenset(
    {
        CustodyEventKind.HEARING_SCHEDULED,
        CustodyEventKind.HEARING_DECIDED,
        CustodyEventKind.RELEASE,
        CustodyEventKind.ESCAPE,
        CustodyEventKind.RETURN,
        CustodyEventKind.TRANSFER,
        CustodyEventKind.DEATH,
    }
)

#: Channels on which the registrant must confirm having heard (a call can reach an answering
#: machine or the wrong person); they are repeated until acknowledged or the attempt limit.
ACKNOWLEDGED_CHANNELS = frozenset({Channel.PHONE})

#: Statuses in which a notification has not yet gone out at all.
NOT_YET_OUT = (NotificationStatus.PENDING, NotificationStatus.SENDING)

MAX_ERROR = 500


def postal_address(victim: Any) -> str | None:
    """The one-line postal address of a registrant, or None when any part is missing."""
    parts = (victim.address_line, victim.city, victim.state, victim.postal_code)
    if not all(parts):
        return None
    return f"{victim.address_line}, {victim.city}, {victim.state} {victim.postal_code}"


class _Recipient(NamedTuple):
    """An active registration, its victim's postal address and one active preference (None when it
    has none): what a notifiable event is sent to."""

    registration_id: int
    address_line: str | None
    city: str | None
    state: str | None
    postal_code: str | None
    preference_id: int | None
    channel: str | None
    destination: str | None


def _usable(channel: str, destination: str | None, victim: Any) -> tuple[str | None, str | None]:
    """(destination to send to, None) or (None, why the preference cannot be used)."""
    if channel == Channel.LETTER:
        address = postal_address(victim)
        if address is None:
            return None, "letter: the registrant has no complete postal address on file"
        return address, None
    if not destination:
        return None, f"{channel}: no destination on the preference"
    try:
        if channel == Channel.EMAIL:
            check_email("destination", destination)
        else:
            check_phone("destination", destination)
    except InvalidInput as exc:
        return None, f"{channel}: {destination!r} {exc.rule}"
    return destination, None


async def create_notifications(db: RequestDb, event_id: int, person_id: int, kind: str, now: datetime) -> int:
    """Write the notifications of custody event ``event_id``; returns how many were written.

    Called by ``record_custody_event`` in the caller's transaction; no row scope applies because
    nothing is disclosed: the rows are written for victim services, never read back here.
    """
    if kind not in NOTIFIABLE_KINDS:
        return 0
    v = Victim.__table__.c
    p = NotificationPreference.__table__.c
    rows = await db.rows_as(
        select(
            VictimRegistration.id.label("registration_id"),
            v.address_line,
            v.city,
            v.state,
            v.postal_code,
            p.id.label("preference_id"),
            p.channel,
            p.destination,
        )
        .join(Victim, Victim.id == VictimRegistration.victim_id)
        .outerjoin(
            NotificationPreference,
            (NotificationPreference.registration_id == VictimRegistration.id)
            & NotificationPreference.active.is_(True),
        )
        .where(
            VictimRegistration.person_id == person_id,
            VictimRegistration.status == RegistrationStatus.ACTIVE,
        )
        .order_by(VictimRegistration.id, NotificationPreference.id),
        _Recipient,
    )
    values: list[dict[str, Any]] = []
    # Every row names every column: one multi-row INSERT needs the same keys in each.
    base: dict[str, Any] = {
        "custody_event_id": event_id,
        "attempts": 0,
        "created_at": now,
        "version": 1,
        "next_attempt_at": None,
        "last_error": None,
    }
    by_registration: dict[int, list[_Recipient]] = {}
    for row in rows:
        by_registration.setdefault(row.registration_id, []).append(row)
    for registration_id, prefs in by_registration.items():
        usable = 0
        problems: list[tuple[_Recipient, str]] = []
        for pref in prefs:
            if pref.preference_id is None or pref.channel is None:  # no active preference
                continue
            destination, problem = _usable(pref.channel, pref.destination, pref)
            if problem is not None:
                problems.append((pref, problem))
                continue
            usable += 1
            values.append(
                base
                | {
                    "registration_id": registration_id,
                    "channel": pref.channel,
                    "destination": destination,
                    "status": NotificationStatus.PENDING,
                    "next_attempt_at": now,
                    "requires_ack": pref.channel in ACKNOWLEDGED_CHANNELS,
                }
            )
        for pref, problem in problems:
            # Each unusable preference is its own failed notification, so staff can see which
            # contact detail to fix even when another channel reached the registrant.
            prefix = "unusable preference" if usable else "no usable channel"
            values.append(
                base
                | {
                    "registration_id": registration_id,
                    "channel": pref.channel,
                    "destination": pref.destination,
                    "status": NotificationStatus.FAILED,
                    "requires_ack": pref.channel in ACKNOWLEDGED_CHANNELS,
                    "last_error": f"{prefix}: {problem}"[:MAX_ERROR],
                }
            )
        if not usable and not problems:
            values.append(
                base
                | {
                    "registration_id": registration_id,
                    # The column needs a channel; a letter is what staff would fall back to.
                    "channel": Channel.LETTER,
                    "destination": None,
                    "status": NotificationStatus.FAILED,
                    "requires_ack": False,
                    "last_error": "no usable channel: the registration has no active notification preference",
                }
            )
    if values:
        await db.execute(insert(Notification).values(values))
    return len(values)


# --- acknowledgement ---------------------------------------------------------------------------------


def code_hash(code: str) -> str:
    """What is stored of an acknowledgement code: its SHA-256 (the code carries 60+ random bits)."""
    return hashlib.sha256(code.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Acknowledged:
    notification_id: int
    acknowledged_at: datetime
    already: bool


class UnknownCode(Exception):
    """No notification awaits that code (mistyped, or a cancelled notification)."""


async def acknowledge(db: RequestDb, code: str, now: datetime) -> Acknowledged:
    """Record that the registrant confirmed notification ``<id>`` with code ``<id>.<secret>``.

    A second confirmation is answered as the first (links get clicked twice). A notification that
    failed for lack of acknowledgement still accepts a late one: it is what staff wanted to hear.
    """
    head, _, _ = code.strip().partition(".")
    if not head.isdigit() or len(code) > 100:
        raise UnknownCode
    rows = await db.rows(
        select(
            Notification.id, Notification.status, Notification.ack_code_hash, Notification.acknowledged_at
        ).where(Notification.id == int(head), Notification.requires_ack.is_(True))
    )
    if not rows or rows[0].ack_code_hash is None:
        raise UnknownCode
    row = rows[0]
    if not hmac.compare_digest(row.ack_code_hash, code_hash(code.strip())):
        raise UnknownCode
    if row.status == NotificationStatus.CANCELLED:
        raise UnknownCode
    if row.acknowledged_at is not None:
        return Acknowledged(row.id, row.acknowledged_at, already=True)
    await db.execute(
        update(Notification)
        .where(Notification.id == row.id)
        .values(
            status=NotificationStatus.ACKNOWLEDGED,
            acknowledged_at=now,
            next_attempt_at=None,
            version=Notification.version + 1,
        )
    )
    return Acknowledged(row.id, now, already=False)
