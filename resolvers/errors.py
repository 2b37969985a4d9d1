"""Errors that data access raises for a caller's mistake; the schema turns them into typed errors."""

from __future__ import annotations


class InvalidInput(Exception):
    """An argument breaks a rule: ``field`` names it, ``rule`` says what is wrong."""

    code = "BAD_USER_INPUT"

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class NotFound(Exception):
    """Nothing with that id that the caller may see (out of scope looks exactly like missing)."""

    code = "NOT_FOUND"

    def __init__(self, what: str, field: str = "id") -> None:
        super().__init__(f"{what} not found")
        self.what = what
        self.field = field


class Conflict(Exception):
    """The write no longer applies: a stale version, an invalid transition, a reused idempotency key."""

    code = "CONFLICT"

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule
