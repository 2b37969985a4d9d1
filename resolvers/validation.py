"""Input rules shared by every write: each failure names the field and the rule."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from resolvers.errors import InvalidInput


def text(field: str, value: str, *, max_length: int, required: bool = True) -> str:
    """A trimmed string within ``max_length`` characters (and not blank, when required)."""
    value = value.strip()
    if required and not value:
        raise InvalidInput(field, "must not be blank")
    if len(value) > max_length:
        raise InvalidInput(field, f"must be at most {max_length} characters (got {len(value)})")
    return value


def optional_text(field: str, value: str | None, *, max_length: int) -> str | None:
    if value is None:
        return None
    cleaned = text(field, value, max_length=max_length, required=False)
    return cleaned or None


def not_future(field: str, value: date, today: date) -> date:
    if value > today:
        raise InvalidInput(field, f"must not be in the future (got {value.isoformat()})")
    return value


def not_before(field: str, value: date | None, start_field: str, start: date | None) -> None:
    if value is not None and start is not None and value < start:
        raise InvalidInput(field, f"must not be before {start_field} ({start.isoformat()})")


def positive_amount(
    field: str, value: Decimal, *, max_value: Decimal = Decimal("999999999999.99")
) -> Decimal:
    if not value.is_finite():
        raise InvalidInput(field, "must be a number")
    if value <= 0:
        raise InvalidInput(field, f"must be more than zero (got {value})")
    if value > max_value:
        raise InvalidInput(field, f"must be at most {max_value}")
    if value != value.quantize(Decimal("0.01")):
        raise InvalidInput(field, "must have at most two decimal places")
    return value


def non_negative_amount(
    field: str, value: Decimal, *, max_value: Decimal = Decimal("999999999999.99")
) -> Decimal:
    if value == 0:
        return value
    return positive_amount(field, value, max_value=max_value)


def check_version(entity: str, current: int, given: int) -> None:
    """Optimistic concurrency: refuse an update based on a version that is no longer current."""
    from resolvers.errors import Conflict

    if given != current:
        raise Conflict(
            "version",
            f"stale: the {entity} is at version {current}, you sent {given}; read it again and retry",
        )
