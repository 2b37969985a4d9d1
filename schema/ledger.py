"""The disclosure ledger for auditors (admin only): events, and every disclosure of one person.

The disclosure matrix keeps everything about victims, even whether a registration exists, to victim
services, and the admin audience is no exception. That victim services' requests touched a person is
such a fact (victim services looks people up because of their victims), so for every reader but victim
services (``resolvers/ledger.py``):

- a person filter never matches a disclosure made to victim services, nor one of the ``victims`` class
  alone; ``disclosures`` leave them out; ``fieldClasses`` never show ``victims``;
- a victim services event is shown as "who, when, how it ended": its request and correlation ids,
  operation name, document hash, variables, authority, detail and disclosures are null or empty.
  The hash still chains it; it commits to the hub-minted request id (122 random bits) that is not
  shown, so it cannot be used to test a guess of the content.

The ledger itself keeps all of it; ``hub audit export`` gives the department's auditors the whole
record.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON

from auth.audit import SEALED_AUDIENCE
from auth.classes import FieldClass
from resolvers import ledger as data
from resolvers.ledger import DisclosureView, SightingView
from resolvers.rows import AuditEventRow
from schema.context import Info
from schema.fields import classified, resolves
from schema.ids import from_global_id, to_global_id
from schema.pagination import Connection, connection

L = FieldClass.LEDGER


@strawberry.enum(
    description="How a request ended: served, denied (credentials, rights or limits), invalid "
    "(a malformed request or document) or error (the hub or its store failed)."
)
class AuditOutcome(enum.Enum):
    SERVED = "served"
    DENIED = "denied"
    INVALID = "invalid"
    ERROR = "error"


PageSize = Annotated[int | None, strawberry.argument(description="Rows per page, at most 100 (default 20).")]
After = Annotated[str | None, strawberry.argument(description="`pageInfo.endCursor` of the previous page.")]
Since = Annotated[datetime | None, strawberry.argument(description="Only events at or after this time.")]
Until = Annotated[datetime | None, strawberry.argument(description="Only events before this time.")]


#: The class that stays with victim services (see the module docstring).
_VICTIMS = "victims"


def _shown(classes: list[str]) -> list[str]:
    return [c for c in classes if c != _VICTIMS]


@strawberry.type(description="One person's record shown in a response, and which classes of its fields.")
class AuditDisclosure:
    subject_kind: str = classified(L, "person.")
    field_classes: list[str] = classified(
        L, "The sensitivity classes of the fields shown (see the disclosure matrix)."
    )
    subject_pk: strawberry.Private[int]

    @resolves(L, "Global id of the person.")
    def subject_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Person", self.subject_pk))

    @classmethod
    def from_row(cls, row: DisclosureView) -> AuditDisclosure:
        return cls(
            subject_kind=row.subject_kind, field_classes=_shown(row.field_classes), subject_pk=row.subject_id
        )


def _json(value: dict[str, Any] | None) -> JSON | None:
    return None if value is None else JSON(value)


@strawberry.type(
    description="One ledger event: a request, a token issued, a failed sign-in, a client or key change."
)
class AuditEvent:
    pk: strawberry.Private[int]
    partner_pk: strawberry.Private[int | None]
    disclosure_rows: strawberry.Private[list[DisclosureView]]
    occurred_at: datetime = classified(L, "When it happened (UTC, microseconds).")
    kind: str = classified(
        L, "graphql for a request; token.issued, auth.failed, client.*, key.* and ledger.purge."
    )
    request_id: str | None = classified(
        L, "The request id the hub minted and gave the caller (X-Request-Id of the response)."
    )
    correlation_id: str | None = classified(
        L, "The caller's own X-Request-Id, if it sent a valid one (printable, at most 128 characters)."
    )
    source_address: str | None = classified(
        L, "The caller's address, as seen behind the hub's trusted proxies (HUB_TRUSTED_PROXIES)."
    )
    client_id: str | None = classified(L, "The partner's client, for a partner's request.")
    staff_subject: str | None = classified(L, "The staff member (identity provider subject), for staff.")
    audience: str | None = classified(L, "The audience the caller acted as.")
    operation_name: str | None = classified(L, "The GraphQL operation's name.")
    document_hash: str | None = classified(L, "SHA-256 of the GraphQL document.")
    variables: JSON | None = classified(
        L, "The variables, with every value but ids, numbers, booleans and enums replaced by [redacted]."
    )
    outcome: str = classified(L, "served, denied, invalid or error.")
    authority: JSON | None = classified(
        L, "What the disclosure rested on beyond the audience: consents, a research agreement."
    )
    detail: JSON | None = classified(L, "Status, error codes and other facts of the event.")
    prev_hash: str = classified(L, "Hash of the event before it in the chain.")
    hash: str = classified(L, "SHA-256 over the previous hash and this event's content and disclosures.")

    @resolves(L, "Opaque global id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("AuditEvent", self.pk))

    @resolves(L, "Global id of the partner, for a partner's request.")
    def partner_id(self) -> strawberry.ID | None:
        return None if self.partner_pk is None else strawberry.ID(to_global_id("Partner", self.partner_pk))

    @resolves(L, "Every person record the response disclosed, with the field classes shown.")
    def disclosures(self) -> list[AuditDisclosure]:
        return [
            AuditDisclosure.from_row(r)
            for r in self.disclosure_rows
            if r.subject_kind == "person" and _shown(r.field_classes)
        ]

    @classmethod
    def from_row(
        cls,
        row: AuditEventRow | SightingView,
        disclosures: list[DisclosureView] | None = None,
        *,
        sees_sealed: bool,
    ) -> AuditEvent:
        # A victim services event, for anyone else: nothing that could say whom it was about.
        sealed = row.audience == SEALED_AUDIENCE and not sees_sealed
        return cls(
            pk=row.event_id if isinstance(row, SightingView) else row.id,
            partner_pk=row.partner_id,
            disclosure_rows=[] if sealed else (disclosures or []),
            occurred_at=row.occurred_at,
            kind=row.kind,
            request_id=None if sealed else row.request_id,
            correlation_id=None if sealed else row.correlation_id,
            source_address=row.source_address,
            client_id=row.client_id,
            staff_subject=row.staff_subject,
            audience=row.audience,
            operation_name=None if sealed else row.operation_name,
            document_hash=None if sealed else row.document_hash,
            variables=None if sealed else _json(row.variables),
            outcome=row.outcome,
            authority=None if sealed else _json(row.authority),
            detail=None if sealed else _json(row.detail),
            prev_hash=row.prev_hash,
            hash=row.hash,
        )


@strawberry.type(
    description="One time a record was shown: to whom, which classes of its fields, under what authority."
)
class RecordDisclosure:
    field_classes: list[str] = classified(L, "The sensitivity classes of the fields shown.")
    event: AuditEvent = classified(
        L, "The request that showed it: time, partner, client, authority, outcome."
    )


def _filter(
    partner_id: strawberry.ID | None,
    client_id: str | None,
    outcome: Any,
    since: datetime | None,
    until: datetime | None,
    kind: str | None = None,
    subject: tuple[str, int] | None = None,
) -> data.EventFilter:
    return data.EventFilter(
        partner_id=from_global_id("Partner", partner_id, "partnerId") if partner_id else None,
        client_id=client_id,
        outcome=outcome.value if outcome is not None else None,
        kind=kind,
        since=since,
        until=until,
        subject=subject,
    )


def _person(person_id: strawberry.ID | None) -> tuple[str, int] | None:
    return ("person", from_global_id("Person", person_id, "personId")) if person_id else None


@strawberry.type
class Query:
    @resolves(
        L,
        "Ledger events, oldest first: by partner, client, outcome, kind, period, or those that "
        "disclosed one person.",
    )
    async def audit_events(
        self,
        info: Info,
        first: PageSize = None,
        after: After = None,
        partner_id: strawberry.ID | None = None,
        client_id: str | None = None,
        outcome: AuditOutcome | None = None,
        kind: str | None = None,
        since: Since = None,
        until: Until = None,
        person_id: strawberry.ID | None = None,
    ) -> Connection[AuditEvent]:
        ctx = info.context
        f = _filter(partner_id, client_id, outcome, since, until, kind, _person(person_id))
        page = await data.list_events(ctx.db, ctx.principal, f, first, after)
        disclosures = await data.disclosures_by_event_id(ctx.db, ctx.principal, [r.id for r in page.rows])
        by_event = dict(zip([r.id for r in page.rows], disclosures, strict=True))
        sealed = data.sees_sealed(ctx.principal)
        return connection(page, lambda row: AuditEvent.from_row(row, by_event[row.id], sees_sealed=sealed))

    @resolves(
        L,
        "Who saw this person's record: every disclosure, oldest first, with the partner, "
        "client, fields, authority and time.",
    )
    async def who_saw(
        self,
        info: Info,
        person_id: strawberry.ID,
        first: PageSize = None,
        after: After = None,
        partner_id: strawberry.ID | None = None,
        client_id: str | None = None,
        since: Since = None,
        until: Until = None,
    ) -> Connection[RecordDisclosure]:
        subject = ("person", from_global_id("Person", person_id, "personId"))
        ctx = info.context
        f = _filter(partner_id, client_id, None, since, until)
        page = await data.who_saw(ctx.db, ctx.principal, subject, f, first, after)
        ids = [r.event_id for r in page.rows]
        by_event = dict(zip(ids, await data.disclosures_by_event_id(ctx.db, ctx.principal, ids), strict=True))
        sealed = data.sees_sealed(ctx.principal)
        return connection(
            page,
            lambda row: RecordDisclosure(
                field_classes=_shown(row.field_classes),
                event=AuditEvent.from_row(row, by_event[row.event_id], sees_sealed=sealed),
            ),
        )
