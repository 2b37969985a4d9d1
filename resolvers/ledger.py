"""Reads of the disclosure ledger for auditors (the admin audience): events and "who saw X".

The victim firewall holds here too. Whether victim services' requests touched a person is itself
victim information, so for every reader but victim services:

- a person filter (``auditEvents(personId:)``, ``whoSaw``) matches only unsealed disclosures
  (``AuditDisclosure.sealed``: those made in victim services' requests), through a partial index
  that holds no sealed row, so neither the answer, its count, its order nor its cost depends on them;
- an event's disclosures leave the sealed ones out, and disclosures of the ``victims`` class alone;
- victim services' events are shown only as "victim services made a request then" (``schema/ledger.py``
  blanks everything person-specific).

``hub audit export`` (the department's own file) keeps everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, String, cast, false, select

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers.batching import many_per_key
from resolvers.models.ledger import AuditDisclosure, AuditEvent
from resolvers.models.partners import Audience
from resolvers.pagination import Page, paginate
from resolvers.rows import AuditEventRow
from resolvers.session import RequestDb

#: How the store holds a disclosure of the victims class alone (classes are stored sorted, as JSON).
VICTIMS_ONLY = '["victims"]'


def sees_sealed(principal: Principal) -> bool:
    """Whether ``principal`` may see what victim services' requests disclosed."""
    return principal.audience is Audience.VICTIM_SERVICES


def _open(principal: Principal) -> list[ColumnElement[bool]]:
    """The disclosures ``principal`` may match: all for victim services; else neither sealed ones nor
    those of the victims class alone (the same predicate as the partial index, so it is used)."""
    if sees_sealed(principal):
        return []
    return [
        AuditDisclosure.sealed == false(),
        cast(AuditDisclosure.field_classes, String) != VICTIMS_ONLY,
    ]


EVENT_COLUMNS = (
    AuditEvent.id,
    AuditEvent.occurred_at,
    AuditEvent.kind,
    AuditEvent.request_id,
    AuditEvent.partner_id,
    AuditEvent.client_id,
    AuditEvent.staff_subject,
    AuditEvent.audience,
    AuditEvent.operation_name,
    AuditEvent.document_hash,
    AuditEvent.variables,
    AuditEvent.outcome,
    AuditEvent.authority,
    AuditEvent.detail,
    AuditEvent.prev_hash,
    AuditEvent.hash,
    AuditEvent.correlation_id,
    AuditEvent.source_address,
)


@dataclass(frozen=True, slots=True)
class EventFilter:
    partner_id: int | None = None
    client_id: str | None = None
    outcome: str | None = None
    kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    #: ("person", id): only events that disclosed this person.
    subject: tuple[str, int] | None = None


def _conditions(principal: Principal, f: EventFilter) -> list[ColumnElement[bool]]:
    conditions = [row_scope(principal, AuditEvent)]
    if f.partner_id is not None:
        conditions.append(AuditEvent.partner_id == f.partner_id)
    if f.client_id is not None:
        conditions.append(AuditEvent.client_id == f.client_id)
    if f.outcome is not None:
        conditions.append(AuditEvent.outcome == f.outcome)
    if f.kind is not None:
        conditions.append(AuditEvent.kind == f.kind)
    if f.since is not None:
        conditions.append(AuditEvent.occurred_at >= f.since)
    if f.until is not None:
        conditions.append(AuditEvent.occurred_at < f.until)
    if f.subject is not None:
        kind, pk = f.subject
        conditions.append(
            AuditEvent.id.in_(
                select(AuditDisclosure.event_id).where(
                    AuditDisclosure.subject_kind == kind,
                    AuditDisclosure.subject_id == pk,
                    *_open(principal),
                )
            )
        )
    return conditions


async def list_events(
    db: RequestDb, principal: Principal, f: EventFilter, first: int | None, after: str | None
) -> Page[AuditEventRow]:
    """Events in chain order (oldest first) matching ``f``."""
    stmt = select(*EVENT_COLUMNS).where(*_conditions(principal, f))
    return await paginate(db, stmt, [AuditEvent.__table__.c.id], row=AuditEventRow, first=first, after=after)


class DisclosureView(NamedTuple):
    """What one event disclosed about one record (``disclosures_by_event_id``)."""

    event_id: int
    subject_kind: str
    subject_id: int
    field_classes: list[str]


class SightingView(NamedTuple):
    """One disclosure of a record and the event it was part of (``who_saw``: the disclosure's id and
    classes, then the event's columns, ``id`` as ``event_id``)."""

    id: int
    field_classes: list[str]
    event_id: int
    occurred_at: datetime
    kind: str
    request_id: str | None
    partner_id: int | None
    client_id: str | None
    staff_subject: str | None
    audience: str | None
    operation_name: str | None
    document_hash: str | None
    variables: dict[str, Any] | None
    outcome: str
    authority: dict[str, Any] | None
    detail: dict[str, Any] | None
    prev_hash: str
    hash: str
    correlation_id: str | None
    source_address: str | None


async def disclosures_by_event_id(
    db: RequestDb, principal: Principal, keys: Sequence[int]
) -> list[list[DisclosureView]]:
    """Each event's disclosed records, one statement for the page."""
    if not keys:
        return []
    rows = await db.rows_as(
        select(
            AuditDisclosure.event_id,
            AuditDisclosure.subject_kind,
            AuditDisclosure.subject_id,
            AuditDisclosure.field_classes,
        )
        .join(AuditEvent, AuditEvent.id == AuditDisclosure.event_id)
        .where(row_scope(principal, AuditEvent), AuditDisclosure.event_id.in_(list(keys)), *_open(principal))
        .order_by(AuditDisclosure.event_id, AuditDisclosure.subject_kind, AuditDisclosure.subject_id),
        DisclosureView,
    )
    return many_per_key(rows, "event_id", keys)


async def who_saw(
    db: RequestDb,
    principal: Principal,
    subject: tuple[str, int],
    f: EventFilter,
    first: int | None,
    after: str | None,
) -> Page[SightingView]:
    """Every disclosure of one record, oldest first, with the event it was part of."""
    kind, pk = subject
    stmt = (
        select(
            AuditDisclosure.id,
            AuditDisclosure.field_classes,
            AuditEvent.id.label("event_id"),
            *EVENT_COLUMNS[1:],
        )
        .join(AuditEvent, AuditEvent.id == AuditDisclosure.event_id)
        .where(
            AuditDisclosure.subject_kind == kind,
            AuditDisclosure.subject_id == pk,
            *_open(principal),
            *_conditions(principal, f),
        )
    )
    return await paginate(
        db, stmt, [AuditDisclosure.__table__.c.id], row=SightingView, first=first, after=after
    )
