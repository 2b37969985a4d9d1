"""Field declarations that carry their sensitivity class, so the policy table can be checked against them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import strawberry

from auth.classes import FieldClass

SENSITIVITY = "sensitivity"

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


def mutation(cls: FieldClass, description: str, **kwargs: Any) -> Callable[[F], F]:
    """Decorates a mutation resolver, tagged with the class of what it writes."""
    decorator: Callable[[F], F] = strawberry.mutation(
        description=description, metadata={SENSITIVITY: cls}, **kwargs
    )
    return decorator
