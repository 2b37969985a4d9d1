"""Channel adapters of the victim notification worker: what leaves the hub, and how it went.

Each adapter takes one ``Outbound`` message and answers a ``Sent`` outcome; it never raises for a
delivery problem (a refused recipient, a server that is down, a timeout): those are outcomes that
victim services must be able to read. Adapters know nothing of the store or of authorization.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from resolvers.models.victims import AttemptOutcome


@dataclass(frozen=True, slots=True)
class Outbound:
    notification_id: int
    channel: str
    destination: str
    subject: str
    body: str
    #: Stable per notification: a receiver (or an operator) can tell a resend from a new message.
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class Sent:
    outcome: AttemptOutcome
    detail: str

    @classmethod
    def delivered(cls, detail: str) -> Sent:
        return cls(AttemptOutcome.DELIVERED, detail)

    @classmethod
    def retry(cls, detail: str) -> Sent:
        return cls(AttemptOutcome.TEMPORARY_FAILURE, detail)

    @classmethod
    def refused(cls, detail: str) -> Sent:
        return cls(AttemptOutcome.PERMANENT_FAILURE, detail)


class Sender(Protocol):
    @property
    def timeout_s(self) -> float:
        """The longest a send may take; the worker's lease must outlast it."""
        ...

    async def send(self, message: Outbound) -> Sent: ...


__all__ = ["Outbound", "Sender", "Sent"]
