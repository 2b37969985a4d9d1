"""Field declarations that carry their sensitivity class (and, for mutations, their callers): the
declarations ``auth/policy_fields.py`` is generated from (``hub schema --policy``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import strawberry

from auth.classes import FieldClass
from resolvers.models.partners import Audience

#: Field metadata key: the field's sensitivity class.
SENSITIVITY = "sensitivity"
#: Where the compiled path reads the field (``schema/compiled/sources.py``); absent: the column by rule.
SOURCE = "source"
#: Mutation metadata key: the audiences that may call it (a frozenset of ``Audience``).
AUDIENCES = "audiences"

F = TypeVar("F", bound=Callable[..., Any])


def _metadata(cls: FieldClass, source: object | None) -> dict[str, object]:
    return {SENSITIVITY: cls} if source is None else {SENSITIVITY: cls, SOURCE: source}


def classified(cls: FieldClass, description: str, *, source: object | None = None, **kwargs: Any) -> Any:
    """A Strawberry attribute field tagged with its sensitivity class (and, where it is not the
    column of the same name, where the compiled path reads it)."""
    return strawberry.field(description=description, metadata=_metadata(cls, source), **kwargs)


def resolves(
    cls: FieldClass, description: str, *, source: object | None = None, **kwargs: Any
) -> Callable[[F], F]:
    """Decorates a resolver as a Strawberry field tagged with its sensitivity class; ``source``
    declares how the compiled path computes the same value in SQL (none: the resolver path answers)."""
    decorator: Callable[[F], F] = strawberry.field(
        description=description, metadata=_metadata(cls, source), **kwargs
    )
    return decorator


def mutation(
    cls: FieldClass, description: str, *, audiences: Iterable[Audience], **kwargs: Any
) -> Callable[[F], F]:
    """Decorates a mutation resolver, tagged with the class of what it writes and the audiences that
    may call it (row scopes then limit a partner's writes to its own rows)."""
    decorator: Callable[[F], F] = strawberry.mutation(
        description=description, metadata={SENSITIVITY: cls, AUDIENCES: frozenset(audiences)}, **kwargs
    )
    return decorator
