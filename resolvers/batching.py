"""Batch statements for DataLoaders: one statement per batch, row scope applied, rows aligned with the keys."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import Any

from sqlalchemy import Row, select

from auth.principal import Principal
from auth.scopes import row_scope
from resolvers.keys import key_in
from resolvers.models.base import Base
from resolvers.session import RequestDb


def one_per_key(rows: Sequence[Row[Any]], key: str, keys: Sequence[Hashable]) -> list[Row[Any] | None]:
    """The row whose ``key`` column equals each key, or None when there is none you may see."""
    found = {getattr(row, key): row for row in rows}
    return [found.get(k) for k in keys]


def many_per_key(rows: Sequence[Row[Any]], key: str, keys: Sequence[Hashable]) -> list[list[Row[Any]]]:
    """The rows (in statement order) whose ``key`` column equals each key; an empty list for none."""
    groups: dict[Hashable, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, key)].append(row)
    return [groups.get(k, []) for k in keys]


async def rows_by_id(
    db: RequestDb, principal: Principal, model: type[Base], ids: Sequence[int]
) -> list[Row[Any] | None]:
    """One statement: the rows of ``model`` with these ids that ``principal`` may see, aligned with ``ids``."""
    c = model.__table__.c
    stmt = select(*c).where(row_scope(principal, model), key_in(db, c.id, ids))
    return one_per_key(await db.rows(stmt), "id", ids)


async def rows_by_key(
    db: RequestDb,
    principal: Principal,
    model: type[Base],
    key: str,
    keys: Sequence[int],
    order_by: Sequence[str] = ("id",),
) -> list[list[Row[Any]]]:
    """One statement: the rows of ``model`` whose ``key`` column is one of ``keys``, grouped per key
    in ``order_by`` order, within the principal's row scope."""
    c = model.__table__.c
    stmt = (
        select(*c)
        .where(row_scope(principal, model), key_in(db, c[key], keys))
        .order_by(*(c[name] for name in order_by))
    )
    return many_per_key(await db.rows(stmt), key, keys)
