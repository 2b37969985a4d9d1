"""One ledger event per ``/graphql`` request: who asked, what, how it ended and what it disclosed.

The endpoint fills a ``RequestEntry`` as the request goes (principal, document hash, operation name,
redacted variables) and appends it once, with the outcome:

- ``served``: the operation ran (its disclosures are recorded, even with some field errors);
- ``denied``: no or a bad token, a refused client, a rate, size, depth or cost limit;
- ``invalid``: the request, the document or its variables are wrong (parse, validation, bad JSON);
- ``error``: the hub or its store failed.

A served request's event is written before its response leaves, in the operation's own transaction
for a mutation; if it cannot be written, nothing is served (``LedgerUnavailable``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from auth.audit import record_event
from auth.ledger import active_consents, subjects
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
class RequestLedger:
    """Writes request events; ``enabled=False`` (``HUB_LEDGER=off-for-benchmark``) writes nothing."""

    enabled: bool = True

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
        principal = entry.principal
        records = await subjects(session, disclosed) if disclosed else []
        authority_used: dict[str, Any] = dict(authority or {})
        if (
            principal is not None
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
        await record_event(
            session,
            kind=GRAPHQL,
            outcome=outcome,
            request_id=entry.request_id,
            partner_id=principal.partner_id if principal else None,
            client_id=principal.client_id if principal else None,
            staff_subject=principal.subject if principal else None,
            audience=principal.audience.value if principal else None,
            operation_name=entry.operation_name,
            document_hash=entry.document_hash,
            variables=entry.variables,
            authority=authority_used or None,
            detail=entry.detail or None,
            disclosures=records,
        )
        entry.written = True
