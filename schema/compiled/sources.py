"""Where a field's value comes from, declared once on the field (``classified(..., source=...)``).

A field of a ``@table`` type without a declared source is, by rule, the model column of the same
name (``first_name`` -> ``people.first_name``). A resolver field is compiled only when it declares a
source; one without (a computation in Python) makes any selection that asks for it run on the
resolver path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, FromClause

if TYPE_CHECKING:
    from schema.compiled.compiler import Level

#: Builds a SQL expression from the current level (its aliased table, the request's bound values).
Build = Callable[["Level", FromClause], ColumnElement[Any]]

#: Strawberry type name -> the model class its rows come from (filled by ``@table``).
TABLES: dict[str, type[Any]] = {}


def table(model: type[Any]) -> Callable[[type[Any]], type[Any]]:
    """Declares the table a Strawberry type's rows come from (put it above ``@strawberry.type``)."""

    def register(cls: type[Any]) -> type[Any]:
        definition = getattr(cls, "__strawberry_definition__", None)
        name = definition.name if definition is not None else cls.__name__
        TABLES[name] = model
        return cls

    return register


@dataclass(frozen=True, slots=True)
class Column:
    """A column of the type's own table (when its name differs from the field's)."""

    name: str


@dataclass(frozen=True, slots=True)
class GlobalId:
    """An opaque global id of ``type_name`` built from ``column`` (default: the row's own id)."""

    type_name: str
    column: str = "id"


@dataclass(frozen=True, slots=True)
class Computed:
    """A scalar computed in SQL from the row (e.g. an age from a date of birth)."""

    build: Build


@dataclass(frozen=True, slots=True)
class One:
    """One row of ``target`` (a ``@table`` type) whose ``target_key`` column (its ``id``) equals
    ``key`` of this row, in scope."""

    target: str
    key: str | Build
    target_key: str = "id"


@dataclass(frozen=True, slots=True)
class Many:
    """Rows of ``target``'s table whose ``fk`` column is this row's id, in scope, in ``order``.

    With ``scalar``, the list holds that column of each row instead of objects (aliases, categories);
    ``target`` is then a model class rather than a type name.
    """

    target: str | type[Any]
    fk: str
    order: tuple[str, ...]
    scalar: str | None = None
    where: Callable[[FromClause], ColumnElement[bool]] | None = None


#: A connection's arguments other than ``first``/``after`` (as graphql-core coerced them) -> conditions
#: over the raw model table, read as the field's batch function reads them.
PageConditions = Callable[[Mapping[str, Any]], list[ColumnElement[bool]]]


def _no_conditions(_: Mapping[str, Any]) -> list[ColumnElement[bool]]:
    return []


@dataclass(frozen=True, slots=True)
class Paged:
    """A nested connection (``first``/``after``, ``nodes``, ``pageInfo``, ``totalCount``) of
    ``target``'s rows whose ``parent`` expression (over the raw model table: a column, or e.g. a
    person's facility-or-office) equals this row's id, in scope, in the keyset ``order`` of its
    resolver, with the field's other arguments read by ``conditions``."""

    target: str
    parent: Callable[[], ColumnElement[Any]]
    order: tuple[str, ...]
    conditions: PageConditions = _no_conditions


Source = Column | GlobalId | Computed | One | Many | Paged
