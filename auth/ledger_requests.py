"""One ledger event per ``/graphql`` request: who asked, what, how it ended and what it disclosed.

The endpoint fills a ``RequestEntry`` as the request goes (principal, document hash, operation name,
redacted variables) and appends it once, with the outcome:

- ``served``: the operation ran (its disclosures are recorded, even with some field errors);
- ``denied``: no or a bad token, a refused client, a rate, size, depth or cost limit;
- ``invalid``: the request, the document or its variables are wrong (parse, validation, bad JSON);
- ``error``: the hub or its store failed.

A served request's event is written before its response leaves, in the operation's own transaction
for a mutation; if it cannot be written, nothing is served (``LedgerUnavailable``). With an appender
(``HUB_LEDGER_BATCH_MS`` above 0) the events that need no transaction of their own, a query's and a
refused or failed request's, are committed in groups (auth/ledger_appender.py); the request still
waits for its event's commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import Disclosure, new_event, record_event
from auth.ledger import active_consents, subjects
from auth.ledger_appender import LedgerAppender
from auth.principal import Principal
from resolvers.models.partners import Audience

#: The event kind of a GraphQL request.
GRAPHQL = "graphql"

SERVED, DENIED, INVALID, ERROR = "served", "denied", "invalid", "error"

#: Error codes of refusals (limits and rights), recorded as ``denied``; other 4xx are ``invalid``.
DENIED_CODES = frozenset(
    {
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "RATE_LIMITED",
        "COST_EXCEEDED",
        "BODY_TOO_LARGE",
        "QUERY_TOO_LONG",
        "QUERY_TOO_DEEP",
        "TOO_MANY_TOKENS",
        "TOO_MANY_ALIASES",
        "TOO_MANY_DIRECTIVES",
    }
)


class LedgerUnavailable(Exception):
    """The request's event could not be written: its data must not be served."""


def outcome_of_status(status: int, code: str | None) -> str:
    """The outcome of a request answered without running its operation."""
    if status >= 500:
        return ERROR
    if status in (401, 403, 429) or code in DENIED_CODES:
        return DENIED
    return INVALID


@dataclass(slots=True)
class RequestEntry:
    request_id: str
    principal: Principal | None = None
    operation_name: str | None = None
    document_hash: str | None = None
    variables: dict[str, Any] | None = None
    #: Whether the event is in the ledger (or on its way in the operation's transaction).
    written: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventContent:
    """A request's event as ``record_event`` takes it, and the people and victims it disclosed."""

    fields: dict[str, Any]
    disclosures: list[Disclosure]


@dataclass(frozen=True, slots=True)
class RequestLedger:
    """Writes request events; ``enabled=False`` (``HUB_LEDGER=off-for-benchmark``) writes nothing."""

    enabled: bool = True
    #: Group commit of the events that need no transaction of their own; None: each is appended in a
    #: transaction of its own (``HUB_LEDGER_BATCH_MS=0``).
    appender: LedgerAppender | None = None

    @property
    def grouped(self) -> bool:
        return self.enabled and self.appender is not None

    async def content(
        self,
        session: AsyncSession | None,
        entry: RequestEntry,
        outcome: str,
        *,
        disclosed: Mapping[tuple[str, int], set[str]] | None = None,
        authority: Mapping[str, object] | None = None,
        today: date | None = None,
    ) -> EventContent:
        """What ``entry``'s event records: ``session`` reads who the disclosed rows are about and the
        consents a reentry partner read under (it may be None when nothing was disclosed)."""
        principal = entry.principal
        records = await subjects(session, disclosed) if disclosed and session is not None else []
        authority_used: dict[str, Any] = dict(authority or {})
        if (
            session is not None
            and principal is not None
            and principal.audience is Audience.REENTRY
            and principal.partner_id is not None
            and today is not None
            and "consents" not in authority_used
        ):
            # A reentry partner reads a person's consented categories under the consents it holds.
            people = [pk for kind, pk, _ in records if kind == "person"]
            consents = await active_consents(session, principal.partner_id, people, today)
            if consents:
                authority_used["consents"] = consents
        return EventContent(
            {
                "kind": GRAPHQL,
                "outcome": outcome,
                "request_id": entry.request_id,
                "partner_id": principal.partner_id if principal else None,
                "client_id": principal.client_id if principal else None,
                "staff_subject": principal.subject if principal else None,
                "audience": principal.audience.value if principal else None,
                "operation_name": entry.operation_name,
                "document_hash": entry.document_hash,
                "variables": entry.variables,
                "authority": authority_used or None,
                "detail": entry.detail or None,
            },
            records,
        )

    async def append(
        self,
        session: AsyncSession,
        entry: RequestEntry,
        outcome: str,
        *,
        disclosed: Mapping[tuple[str, int], set[str]] | None = None,
        authority: Mapping[str, object] | None = None,
        today: date | None = None,
    ) -> None:
        """Append ``entry``'s event in ``session``'s transaction (the caller commits)."""
        if not self.enabled:
            entry.written = True
            return
        content = await self.content(
            session, entry, outcome, disclosed=disclosed, authority=authority, today=today
        )
        await record_event(session, **content.fields, disclosures=content.disclosures)
        entry.written = True

    async def commit_grouped(self, content: EventContent, entry: RequestEntry) -> None:
        """Hand ``entry``'s event to the appender and return once it is committed (raise if not)."""
        if not self.enabled:
            entry.written = True
            return
        if self.appender is None:
            raise RuntimeError("commit_grouped needs an appender (HUB_LEDGER_BATCH_MS above 0)")
        ticket = self.appender.submit(new_event(**content.fields), content.disclosures)
        try:
            await self.appender.wait(ticket)
        except asyncio.CancelledError:
            # Out of time: an event already in a batch is on its way in; a withdrawn one is not.
            entry.written = not ticket.withdrawn
            raise
        entry.written = True
