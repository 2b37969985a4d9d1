"""Declarative base, naming conventions and column helpers shared by every domain's models."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: Money is exact: two decimal places, never floats.
Money = Numeric(14, 2, asdecimal=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        str: String(),
        datetime: UTCDateTime(),
        date: Date(),
        Decimal: Money,
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


class IdMixin:
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(server_default=text("CURRENT_TIMESTAMP"))


class VersionMixin:
    """Optimistic concurrency: updates carry the version they read."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1", default=1)


def one_of(
    column: str, values: type[enum.Enum] | list[str] | tuple[str, ...], name: str | None = None
) -> CheckConstraint:
    """A CHECK constraint that limits ``column`` to an enumeration's values."""
    members = [m.value for m in values] if isinstance(values, type) else list(values)
    quoted = ", ".join("'" + str(v).replace("'", "''") + "'" for v in members)
    return CheckConstraint(f"{column} IN ({quoted})", name=name or f"{column}_valid")


def non_negative(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} >= 0", name=f"{column}_non_negative")


def positive(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} > 0", name=f"{column}_positive")


def ordered(start: str, end: str) -> CheckConstraint:
    """``end`` is empty or not before ``start``."""
    return CheckConstraint(f"{end} IS NULL OR {end} >= {start}", name=f"{end}_after_{start}")


__all__ = [
    "Base",
    "IdMixin",
    "Money",
    "Text",
    "TimestampMixin",
    "VersionMixin",
    "non_negative",
    "one_of",
    "ordered",
    "positive",
]
