"""The victims-first embargo's settings: how long partners wait after a release-type event.

Each app has its own (``create_app`` builds it from ``HUB_VICTIM_EMBARGO_MINUTES``); the GraphQL
endpoint hands it to every request's principal, and the row scopes read it there
(``auth/scopes.py``). Nothing module-level holds it, so two apps in one process keep their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class VictimEmbargo:
    """How long partners are kept waiting, and the clock the wait is counted on (tests move it)."""

    minutes: float = 60.0
    clock: Callable[[], datetime] = _utc_now

    def cutoff(self) -> datetime:
        """Events recorded after this are still embargoed; read when a statement runs."""
        return self.clock() - timedelta(minutes=self.minutes)


__all__ = ["VictimEmbargo"]
