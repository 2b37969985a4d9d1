"""Objects from rows by rule: a type's ``from_row`` read off its field declarations.

A type that inherits ``FromRow`` is built from a row of its table (or any row with the same names)
without a hand-written constructor call: each field of the dataclass takes, by rule,

- ``pk`` the row's ``id``, and ``<name>_pk`` the row's ``<name>_id`` (the private keys resolvers
  follow);
- a field declared with ``source=Column("other")`` that column, any other field the column of its
  own name (the rule the compiled path follows too, ``schema/compiled/sources.py``);
- an enum field the enum member of the stored value (None stays None).

So a column added to the API is its migration, its model attribute and its one declaration. A type
whose construction is more than that (a key from one of two columns, an amount computed from two)
keeps a ``from_row`` of its own, which overrides this one.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from typing import Any, Self

from strawberry.types.base import StrawberryOptional
from strawberry.types.enum import StrawberryEnumDefinition

from schema.compiled.sources import Column
from schema.fields import SOURCE

#: (constructor argument, row attribute, conversion or None)
_Plan = list[tuple[str, str, Callable[[Any], Any] | None]]
_PLANS: dict[type[Any], _Plan] = {}


def column_of(name: str, source: object | None) -> str:
    """The row attribute a constructor argument named ``name`` reads."""
    if name == "pk":
        return "id"
    if name.endswith("_pk"):
        return name[: -len("_pk")] + "_id"
    if isinstance(source, Column):
        return source.name
    return name


def _enum(declared: Any) -> type[enum.Enum] | None:
    if isinstance(declared, StrawberryOptional):
        declared = declared.of_type
    if isinstance(declared, StrawberryEnumDefinition) and issubclass(declared.wrapped_cls, enum.Enum):
        return declared.wrapped_cls
    return None


def _member(enum_cls: type[enum.Enum]) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        return None if value is None else enum_cls(value)

    return convert


def plan_of(cls: type[Any]) -> _Plan:
    """How ``cls`` is built from a row (made once per type, on first use)."""
    plan = _PLANS.get(cls)
    if plan is not None:
        return plan
    declared = {f.python_name: f for f in cls.__strawberry_definition__.fields}
    plan = []
    for f in dataclasses.fields(cls):
        if not f.init:
            continue  # a resolver field, not a constructor argument
        strawberry_field = declared.get(f.name)
        source = (strawberry_field.metadata or {}).get(SOURCE) if strawberry_field is not None else None
        enum_cls = _enum(strawberry_field.type) if strawberry_field is not None else None
        plan.append((f.name, column_of(f.name, source), None if enum_cls is None else _member(enum_cls)))
    _PLANS[cls] = plan
    return plan


class FromRow:
    """Gives a Strawberry type ``from_row`` by rule (see the module's docstring)."""

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Self:
        """``cls`` from a typed row (``resolvers/rows.py``, or one declared beside its statement)."""
        values: dict[str, Any] = {}
        for name, column, convert in plan_of(cls):
            value = getattr(row, column)
            values[name] = value if convert is None else convert(value)
        return cls(**values)
