"""Batch statements for DataLoaders: one statement per batch, row scope applied, rows aligned with the keys.

Every batch answers typed rows (``resolvers/rows.py``: ``PersonRow`` for ``Person``): the statement
selects ``*Model.__table__.c`` and each result row becomes ``PersonRow._make(row)``, so the Strawberry
types read attributes mypy checks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import Any

from sqlalchemy import Select, select

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers.errors import NotFound
from resolvers.keys import key_in
from resolvers.models.base import Base
from resolvers.session import R, RequestDb

#: (model, row class) pairs already checked to agree column for column.
_CHECKED: set[tuple[type[Base], object]] = set()


def table_select(model: type[Base], row: type[tuple[Any, ...]]) -> Select[Any]:
    """``SELECT`` every column of ``model``'s table, in table order: what ``row`` is built from.

    Checks once per pair that ``row``'s fields are the table's columns (a ``FacilityRow`` passed
    with ``Person`` would otherwise fill the wrong names, silently, when the counts happen to agree).
    """
    columns = model.__table__.c
    if (model, row) not in _CHECKED:
        fields = tuple(getattr(row, "_fields", ()))
        if fields != tuple(columns.keys()):
            raise TypeError(f"{row!r} is not a row of {model.__tablename__}: {fields} != {columns.keys()}")
        _CHECKED.add((model, row))
    return select(*columns)


def one_per_key(rows: Sequence[R], key: str, keys: Sequence[Hashable]) -> list[R | None]:
    """The row whose ``key`` column equals each key, or None when there is none you may see."""
    found = {getattr(row, key): row for row in rows}
    return [found.get(k) for k in keys]


def many_per_key(rows: Sequence[R], key: str, keys: Sequence[Hashable]) -> list[list[R]]:
    """The rows (in statement order) whose ``key`` column equals each key; an empty list for none."""
    groups: dict[Hashable, list[R]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, key)].append(row)
    return [groups.get(k, []) for k in keys]


async def rows_by_id(
    db: RequestDb, principal: Principal, model: type[Base], row: type[R], ids: Sequence[int]
) -> list[R | None]:
    """One statement: the rows of ``model`` with these ids that ``principal`` may see, aligned with ``ids``."""
    stmt = table_select(model, row).where(row_scope(principal, model), key_in(db, model.__table__.c.id, ids))
    return one_per_key(await db.rows_as(stmt, row), "id", ids)


async def rows_by_key(
    db: RequestDb,
    principal: Principal,
    model: type[Base],
    row: type[R],
    key: str,
    keys: Sequence[int],
    order_by: Sequence[str] = ("id",),
) -> list[list[R]]:
    """One statement: the rows of ``model`` whose ``key`` column is one of ``keys``, grouped per key
    in ``order_by`` order, within the principal's row scope."""
    c = model.__table__.c
    stmt = (
        table_select(model, row)
        .where(row_scope(principal, model), key_in(db, c[key], keys))
        .order_by(*(c[name] for name in order_by))
    )
    return many_per_key(await db.rows_as(stmt, row), key, keys)


async def row_by_id(
    db: RequestDb, principal: Principal, model: type[Base], row: type[R], pk: int, *, lock: bool = False
) -> R | None:
    """The row of ``model`` with id ``pk`` if ``principal`` may see it (a write's read; ``lock``: FOR
    UPDATE, on PostgreSQL)."""
    stmt = table_select(model, row).where(row_scope(principal, model), model.__table__.c.id == pk)
    if lock:
        stmt = stmt.with_for_update()
    found = await db.rows_as(stmt, row)
    return found[0] if found else None


async def existing_row(
    db: RequestDb,
    principal: Principal,
    model: type[Base],
    row: type[R],
    pk: int,
    what: str,
    field: str,
    *,
    lock: bool = False,
) -> R:
    """``row_by_id``, or ``NotFound(what, field)`` when there is no such row the principal may see
    (a write's read of the row it names)."""
    found = await row_by_id(db, principal, model, row, pk, lock=lock)
    if found is None:
        raise NotFound(what, field)
    return found
