"""Optimistic locking: the one conditional UPDATE every versioned write goes through.

A write reads its row (in the caller's row scope), checks the version the caller sent
(``validation.check_version``), then changes the row with ``update_versioned``: ``UPDATE ... WHERE
id = :id AND version = :read`` with the version bumped. A concurrent write that committed in between
makes the UPDATE match nothing; the helper then reads the row again to tell the two reasons apart: a
row that is gone answers ``NotFound`` (as a look-up of it would), a row at another version answers
the caller's stale-version ``Conflict``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import inspect, select, update

from resolvers.errors import Conflict, NotFound
from resolvers.models.base import Base
from resolvers.session import RequestDb

#: Builds the refusal for a row found at ``current`` when the write read ``expected``: given the
#: entity's name in words ("inquiry"), the current and the expected version.
StaleRule = Callable[[str, int, int], Conflict]


def changed(entity: str, current: int, expected: int) -> Conflict:
    """The usual refusal: STALE_VERSION on ``version``, without numbers."""
    return Conflict("version", f"stale: the {entity} changed since you read it; read it again and retry")


def at_version(entity: str, current: int, expected: int) -> Conflict:
    """STALE_VERSION on ``version``, saying which version the row is at (``check_version``'s words)."""
    return Conflict(
        "version",
        f"stale: the {entity} is at version {current}, you sent {expected}; read it again and retry",
    )


async def update_versioned(
    db: RequestDb,
    model: type[Base],
    pk: int,
    expected_version: int,
    values: Mapping[str, Any] | None = None,
    *,
    entity: str,
    field: str = "id",
    stale: StaleRule = changed,
) -> int:
    """Set ``values`` on ``model`` row ``pk`` if it is still at ``expected_version``; returns the new one.

    ``model`` is a table with an integer ``id`` and a ``version`` (``IdMixin``, ``VersionMixin``);
    ``entity`` names the row in a stale refusal, ``field`` the input field a ``NotFound`` names (the
    model's class name is its ``what``, as the callers' look-ups say it).
    """
    # The mapped attributes, not the table's columns: the ORM can then apply the UPDATE to objects
    # the session holds by evaluating its WHERE, instead of fetching the matched ids.
    attrs = inspect(model).attrs
    id_, version = attrs["id"].class_attribute, attrs["version"].class_attribute
    new_version = expected_version + 1
    result: Any = await db.execute(
        update(model)
        .where(id_ == pk, version == expected_version)
        .values(**(values or {}), version=new_version)
    )
    if int(result.rowcount) == 1:
        return new_version
    # No row scope here: the caller read the row in its scope a moment ago.
    current = await db.scalar(select(version).where(id_ == pk))
    if current is None:
        raise NotFound(model.__name__, field)
    raise stale(entity, int(current), expected_version)


__all__ = ["StaleRule", "at_version", "changed", "update_versioned"]
