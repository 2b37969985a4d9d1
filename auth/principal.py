"""Who is calling: the result of authenticating a request, handed to every resolver."""

from __future__ import annotations

from dataclasses import dataclass, field

from auth.embargo import VictimEmbargo
from auth.refusals import Refusal
from resolvers.models.partners import PARTNER_AUDIENCES, Audience


@dataclass(frozen=True, slots=True)
class Principal:
    audience: Audience
    partner_id: int | None = None
    client_id: str | None = None
    #: A department staff member's subject from the identity provider.
    subject: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_id: str | None = None
    #: The partner client's row, its persisted-only flag and its own rate limits (None: the defaults),
    #: as the token check read them (behind its short cache). Staff have no client row.
    client_pk: int | None = None
    persisted_only: bool = False
    requests_per_minute: int | None = None
    cost_per_minute: int | None = None
    #: The victims-first embargo the row scopes apply to this caller: the app's own, which its
    #: endpoint sets on every request (row scopes see only the principal). Not part of who calls.
    embargo: VictimEmbargo = field(default_factory=VictimEmbargo, compare=False, repr=False)

    @property
    def is_partner(self) -> bool:
        return self.audience in PARTNER_AUDIENCES

    @property
    def key(self) -> str:
        """A stable name for idempotency keys and rate limits."""
        if self.client_id:
            return f"client:{self.client_id}"
        return f"staff:{self.subject or 'unknown'}"


class Unauthenticated(Refusal):
    """The request carries no valid credentials: answered 401 with ``WWW-Authenticate`` (RFC 6750)."""

    def __init__(
        self, error: str = "invalid_token", description: str = "a valid bearer token is required"
    ) -> None:
        # RFC 6750 section 3.1: a malformed request is 400, a missing or bad token 401.
        status = 400 if error == "invalid_request" else 401
        challenge = (
            'Bearer realm="hub"'
            if error == ""
            else f'Bearer realm="hub", error="{error}", error_description="{description}"'
        )
        super().__init__(
            status,
            "UNAUTHENTICATED" if status == 401 else "BAD_REQUEST",
            description,
            {"WWW-Authenticate": challenge},
        )
        #: RFC 6750's error code ("" for a request without credentials) and its description.
        self.error = error
        self.description = description
