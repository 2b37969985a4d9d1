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
#: Mutation metadata key: the audiences that may call it (a frozenset of ``Audience``).
AUDIENCES = "audiences"

F = TypeVar("F", bound=Callable[..., Any])


def classified(cls: FieldClass, description: str, **kwargs: Any) -> Any:
    """A Strawberry attribute field tagged with its sensitivity class."""
    return strawberry.field(description=description, metadata={SENSITIVITY: cls}, **kwargs)


def resolves(cls: FieldClass, description: str, **kwargs: Any) -> Callable[[F], F]:
    """Decorates a resolver as a Strawberry field tagged with its sensitivity class."""
    decorator: Callable[[F], F] = strawberry.field(
        description=description, metadata={SENSITIVITY: cls}, **kwargs
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
