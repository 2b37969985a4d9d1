"""The ledger as a whole: who a response was about, checking the chain, exporting and purging it.

Writing one event is ``auth.audit.record_event``; this module holds what reads or trims the chain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import GENESIS, Disclosure, chain_hash, record_event
from resolvers.models.custody import CustodyEvent, ParoleHearing
from resolvers.models.ledger import AuditDisclosure, AuditEvent
from resolvers.models.reentry import Consent, Referral
from resolvers.models.victims import RestitutionOrder, RestitutionPayment, VictimRegistration

#: Retention: nothing younger than this may be purged.
RETENTION = timedelta(days=365)

#: Subject kinds a schema type may name when its row holds no person or victim id of its own: each is
#: turned into the people and victims it is about with one statement per kind, when the event is written.
INDIRECT: dict[str, tuple[Any, tuple[tuple[str, Any], ...], Any]] = {
    "registration": (
        VictimRegistration.id,
        (("person", VictimRegistration.person_id), ("victim", VictimRegistration.victim_id)),
        None,
    ),
    "referral": (Referral.id, (("person", Referral.person_id),), None),
    "hearing": (ParoleHearing.id, (("person", ParoleHearing.person_id),), None),
    "custody_event": (CustodyEvent.id, (("person", CustodyEvent.person_id),), None),
    "restitution_payment": (
        RestitutionPayment.id,
        (("person", RestitutionOrder.person_id), ("victim", RestitutionOrder.payee_victim_id)),
        RestitutionOrder.__table__.join(
            RestitutionPayment.__table__, RestitutionPayment.order_id == RestitutionOrder.id
        ),
    ),
}
DIRECT = ("person", "victim")


async def subjects(session: AsyncSession, disclosed: Mapping[tuple[str, int], set[str]]) -> list[Disclosure]:
    """The people and victims behind ``disclosed``, each with every field class shown about them."""
    merged: dict[tuple[str, int], set[str]] = {}
    indirect: dict[str, dict[int, set[str]]] = {}
    for (kind, pk), classes in disclosed.items():
        if kind in DIRECT:
            merged.setdefault((kind, pk), set()).update(classes)
        else:
            indirect.setdefault(kind, {}).setdefault(pk, set()).update(classes)
    for kind, by_pk in indirect.items():
        key, targets, joined = INDIRECT[kind]
        stmt = select(key, *(column for _, column in targets)).where(key.in_(list(by_pk)))
        if joined is not None:
            stmt = stmt.select_from(joined)
        for row in await session.execute(stmt):
            for (target, _), pk in zip(targets, row[1:], strict=True):
                if pk is not None:
                    merged.setdefault((target, pk), set()).update(by_pk[row[0]])
    return [(kind, pk, sorted(classes)) for (kind, pk), classes in sorted(merged.items())]


async def active_consents(
    session: AsyncSession, partner_id: int, person_ids: Iterable[int], today: date
) -> list[int]:
    """The consents a partner held, today, for the people it was shown: the authority it read under."""
    ids = sorted(set(person_ids))
    if not ids:
        return []
    rows = await session.scalars(
        select(Consent.id)
        .where(
            Consent.partner_id == partner_id,
            Consent.person_id.in_(ids),
            Consent.signed_on <= today,
            Consent.expires_on >= today,
            Consent.revoked_on.is_(None),
        )
        .order_by(Consent.id)
    )
    return list(rows)


# --- verify ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verification:
    events: int
    head: str
    #: (event id, what is wrong) of the first broken link; None when the chain holds.
    broken: tuple[int, str] | None = None


async def _disclosures_of(session: AsyncSession, ids: list[int]) -> dict[int, list[Disclosure]]:
    out: dict[int, list[Disclosure]] = {i: [] for i in ids}
    rows = await session.execute(
        select(
            AuditDisclosure.event_id,
            AuditDisclosure.subject_kind,
            AuditDisclosure.subject_id,
            AuditDisclosure.field_classes,
        ).where(AuditDisclosure.event_id.in_(ids))
    )
    for event_id, kind, pk, classes in rows:
        out[event_id].append((kind, pk, classes))
    return out


async def events_in_order(
    session: AsyncSession, *, since: datetime | None = None, until: datetime | None = None, batch: int = 500
) -> AsyncIterator[tuple[AuditEvent, list[Disclosure]]]:
    """Every event (with its disclosures) in chain order, fetched ``batch`` at a time."""
    last = 0
    while True:
        stmt = select(AuditEvent).where(AuditEvent.id > last)
        if since is not None:
            stmt = stmt.where(AuditEvent.occurred_at >= since)
        if until is not None:
            stmt = stmt.where(AuditEvent.occurred_at < until)
        events = list(await session.scalars(stmt.order_by(AuditEvent.id).limit(batch)))
        if not events:
            return
        disclosures = await _disclosures_of(session, [e.id for e in events])
        for event in events:
            yield event, disclosures[event.id]
        last = events[-1].id
        session.expunge_all()


async def purge_anchors(session: AsyncSession) -> dict[str, int]:
    """anchor hash -> the last event id each purge removed (purge events are themselves chained)."""
    anchors: dict[str, int] = {}
    for detail in await session.scalars(select(AuditEvent.detail).where(AuditEvent.kind == "ledger.purge")):
        if isinstance(detail, dict) and isinstance(detail.get("anchor_hash"), str):
            anchors[detail["anchor_hash"]] = int(detail.get("through_event_id", 0))
    return anchors


async def verify(session: AsyncSession) -> Verification:
    """Walk the chain from its first event; name the first link that does not hold."""
    previous: str | None = None
    count = 0
    async for event, disclosures in events_in_order(session):
        if previous is None:
            if event.prev_hash != GENESIS:
                anchors = await purge_anchors(session)
                through = anchors.get(event.prev_hash)
                if through is None or through >= event.id:
                    return Verification(
                        count,
                        GENESIS,
                        (event.id, "the first event follows neither the genesis nor a recorded purge"),
                    )
        elif event.prev_hash != previous:
            return Verification(
                count,
                previous,
                (
                    event.id,
                    "prev_hash is not the previous event's hash (an event before it was removed or changed)",
                ),
            )
        expected = chain_hash(event.prev_hash, event, disclosures)
        if expected != event.hash:
            return Verification(
                count,
                previous or GENESIS,
                (event.id, "its content or disclosures no longer match its hash (the event was changed)"),
            )
        previous = event.hash
        count += 1
    return Verification(count, previous or GENESIS)


async def verify_tail(session: AsyncSession, recent: int) -> Verification:
    """The newest ``recent`` events checked as ``verify`` checks them: each one's hash over its content
    and disclosures, and each link to the event before it within the tail. ``events`` counts those
    checked; ``head`` is the newest hash. Cheap at any ledger size, and no proof about older events
    (``verify`` walks them all)."""
    rows = list(await session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(recent)))
    rows.reverse()
    disclosures = await _disclosures_of(session, [e.id for e in rows])
    previous: str | None = None
    for count, event in enumerate(rows):
        if previous is not None and event.prev_hash != previous:
            return Verification(
                count,
                previous,
                (
                    event.id,
                    "prev_hash is not the previous event's hash (an event before it was removed or changed)",
                ),
            )
        if chain_hash(event.prev_hash, event, disclosures[event.id]) != event.hash:
            return Verification(
                count,
                previous or event.prev_hash,
                (event.id, "its content or disclosures no longer match its hash (the event was changed)"),
            )
        previous = event.hash
    return Verification(len(rows), previous or GENESIS)


# --- purge -------------------------------------------------------------------------------------------


class RetentionRefused(ValueError):
    """A purge would remove events younger than the retention period."""


@dataclass(frozen=True, slots=True)
class Purge:
    events: int
    through_event_id: int | None
    anchor_hash: str | None


def retention_cutoff(now: datetime) -> datetime:
    return now - RETENTION


async def purge(session: AsyncSession, before: datetime, *, now: datetime | None = None) -> Purge:
    """Remove every event older than ``before`` (a prefix of the chain) and record the purge.

    The purge event carries the hash of the last removed event, so ``verify`` starts from it. The
    store's triggers refuse, on their own, to delete anything younger than a year; on PostgreSQL the
    delete is allowed only inside a transaction that sets ``hub.ledger_purge`` (this function).
    """
    now = now or datetime.now(UTC)
    if before > retention_cutoff(now):
        raise RetentionRefused(
            f"--before {before.date().isoformat()} is within the {RETENTION.days}-day retention period; "
            f"the latest allowed is {retention_cutoff(now).date().isoformat()}"
        )
    # Appends wait while the prefix goes, so no event can slip in under the cut.
    from auth.audit import lock_ledger

    await lock_ledger(session)
    through = await session.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.occurred_at < before))
    if through is None:
        return Purge(0, None, None)
    anchor = await session.scalar(select(AuditEvent.hash).where(AuditEvent.id == through))
    count = await session.scalar(select(func.count()).where(AuditEvent.id <= through)) or 0
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL hub.ledger_purge = 'on'"))
    await session.execute(delete(AuditDisclosure).where(AuditDisclosure.event_id <= through))
    await session.execute(delete(AuditEvent).where(AuditEvent.id <= through))
    await record_event(
        session,
        kind="ledger.purge",
        detail={
            "before": before.isoformat(),
            "through_event_id": through,
            "anchor_hash": anchor,
            "events": count,
        },
    )
    return Purge(count, through, anchor)
